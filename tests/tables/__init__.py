"""The transition tables, written out by hand: the contract every machine declaration must match.

Each table is a tuple of rows `(state, event, guard, target)`, one row per (state, event) pair of
the machine; where a pair has guarded alternatives, one row per alternative in the order the
machine tries them, the unguarded fallback (guard `None`) last. A pair with no transition has a
single row whose target is `NOT_ALLOWED` (the event raises `TransitionNotAllowed` there).

A tuple of rows rather than a dict, so a row typed twice is reported instead of silently
overwriting the first one.

Beside its table, a machine that records intents has a hand-written `Intents` map: for each row
whose transition records intents, their names in order (a row not in the map records none). The
row tests fire every row and compare what the machine recorded with it.

A table may hold a row its machine does not declare because the row as declared is believed to be
wrong: the table says what the machine should do, and the machine's module says why it differs in
its `DISPUTED` map ((state, event) -> the reasoning), and lists the rows it wants that the machine
does not declare in its `UNDECLARED` tuple (the row tests whose case goes through one of them are
expected to fail: a static list, so no test outcome is decided by reading the declaration). The
comparison with the declaration leaves those (state, event) pairs out and checks each one in a test
of its own, expected to fail (strict: it must fail until the machine is fixed or the table is
corrected).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

NOT_ALLOWED = "<not allowed>"

Row = tuple[str, str, str | None, str]
Table = tuple[Row, ...]
RowKey = tuple[str, str, str | None]  # (state, event, guard): one row of a table
Intents = dict[RowKey, tuple[str, ...]]
Disputed = dict[tuple[str, str], str]  # (state, event) -> why the declared rows are believed wrong


def event_ids(machine: type[Any]) -> list[str]:
    """The events a machine class declares, in declaration order."""
    return [event.id for event in machine.events]


def rows_of(rows: list[Row] | Table, state: str, event: str) -> list[Row]:
    """The rows of one (state, event) pair, in order."""
    return [row for row in rows if (row[0], row[1]) == (state, event)]


def without(rows: list[Row] | Table, pairs: set[tuple[str, str]] | dict[tuple[str, str], str]) -> list[Row]:
    """The rows of every (state, event) pair but `pairs`."""
    return [row for row in rows if (row[0], row[1]) not in pairs]


def guard_of(transition: Any) -> str | None:
    """The guard of a declared transition as the table spells it: `name`, `!name`, `a and b`."""
    names = [str(c) for c in transition.cond]
    return " and ".join(names) if names else None


def declared_rows(machine: type[Any]) -> list[Row]:
    """Every (state, event, guard, target) of a machine class, read from its declaration only."""
    rows: list[Row] = []
    for state in machine.states:
        for event in machine.events:
            found = [t for t in state.transitions if event.id in str(t.event).split()]
            if not found:
                rows.append((state.id, event.id, None, NOT_ALLOWED))
            rows.extend((state.id, event.id, guard_of(t), t.target.id) for t in found)
    return rows


def declared_steps(machine: type[Any]) -> set[tuple[str, str, str]]:
    """Every (source, event, target) step the machine class declares, guards aside."""
    return {(s, e, target) for s, e, _, target in declared_rows(machine) if target != NOT_ALLOWED}


def _show(row: Row) -> str:
    state, event, guard, target = row
    when = f" [{guard}]" if guard else ""
    return f"{state} --{event}{when}--> {target}"


def diff_table(declared: list[Row] | Table, expected: list[Row] | Table) -> list[str]:
    """What differs between a declaration and a hand-written table, one line per difference."""
    problems: list[str] = []
    want: dict[tuple[str, str, str | None], str] = {}
    for state, event, guard, target in expected:
        key = (state, event, guard)
        if key in want:
            problems.append(f"row written twice in the table: {_show((state, event, guard, target))}")
        want.setdefault(key, target)
    have: dict[tuple[str, str, str | None], str] = {}
    for state, event, guard, target in declared:
        key = (state, event, guard)
        if key in have:
            problems.append(f"declared twice with the same guard: {_show((state, event, guard, target))}")
        have.setdefault(key, target)

    for key, target in have.items():
        if key not in want:
            problems.append(f"missing from the table: {_show((*key, target))}")
        elif want[key] != target:
            problems.append(f"target differs: declared {_show((*key, target))}, table says {want[key]}")
    problems.extend(f"in the table but not declared: {_show((*key, target))}" for key, target in want.items()
                    if key not in have)

    def guard_order(rows: list[Row] | Table) -> dict[tuple[str, str], list[str | None]]:
        order: dict[tuple[str, str], list[str | None]] = defaultdict(list)
        for state, event, guard, _ in rows:
            order[(state, event)].append(guard)
        return order

    declared_order, expected_order = guard_order(declared), guard_order(expected)
    for pair, guards in declared_order.items():
        listed = expected_order.get(pair, [])
        if sorted(map(str, guards)) == sorted(map(str, listed)) and guards != listed:
            problems.append(f"guards of {pair[0]} --{pair[1]}--> are tried in the order {guards}, "
                            f"the table lists {listed}")
    return problems
