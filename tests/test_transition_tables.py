"""Transition tables are the contract (DESIGN.md): every machine's full (state x event) table is
written out by hand in `tests/tables/` and compared here with the machine's declaration, read from
the class alone (no instance). Any change to a machine is a visible change to its table. A
(state, event) pair whose declared rows are believed wrong is listed in its table module's
`DISPUTED` map and checked on its own, as an expected (strict) failure.

Then every row without a guard is fired on a real machine driven to its state with events
(`tables.drive`): the row's target, and the intents the table says it records, or
`TransitionNotAllowed` with nothing changed. For the four machines of a trade model (Trade, Ladder,
Cover, Milestones) every state is reached with events too; the only model fields written directly
are numbers the supervisor writes itself (a level's allocation, a pair's repairs left, whether the
plan attaches its exits), never a state. Guarded rows have their own tests next to the tables
(`tests/tables/test_*_rows.py`), one case per guard alternative.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed
from tables import (
    NOT_ALLOWED,
    Disputed,
    Intents,
    Row,
    Table,
    declared_rows,
    diff_table,
    event_ids,
    rows_of,
    without,
)
from tables.account import ACCOUNT
from tables.cover import COVER, COVER_INTENTS
from tables.drive import (
    ENTRY_SETUPS,
    LEG_SETUPS,
    STATE_FIELDS,
    drive_account,
    drive_leg,
    drive_pair,
    drive_trade,
    fire,
)
from tables.entry_leg import ENTRY_LEG
from tables.ladder import LADDER, LADDER_INTENTS
from tables.leg import LEG
from tables.milestones import MILESTONES, MILESTONES_INTENTS
from tables.oca_pair import OCA_PAIR, OCA_PAIR_DISPUTED, OCA_PAIR_INTENTS, OCA_PAIR_UNDECLARED
from tables.stop_leg import STOP_LEG
from tables.trade import TRADE, TRADE_DISPUTED, TRADE_INTENTS, TRADE_UNDECLARED

from machines import MACHINES, Account, Cover, EntryLeg, Ladder, Leg, Milestones, OcaPair, StopLeg, Trade

# name -> (machine, its table, the intents its rows record, the pairs whose declared rows are disputed)
TABLES: dict[str, tuple[type[StateMachine], Table, Intents, Disputed]] = {
    "Leg": (Leg, LEG, {}, {}),
    "StopLeg": (StopLeg, STOP_LEG, {}, {}),
    "EntryLeg": (EntryLeg, ENTRY_LEG, {}, {}),
    "OcaPair": (OcaPair, OCA_PAIR, OCA_PAIR_INTENTS, OCA_PAIR_DISPUTED),
    "Trade": (Trade, TRADE, TRADE_INTENTS, TRADE_DISPUTED),
    "Ladder": (Ladder, LADDER, LADDER_INTENTS, {}),
    "Cover": (Cover, COVER, COVER_INTENTS, {}),
    "Milestones": (Milestones, MILESTONES, MILESTONES_INTENTS, {}),
    "Account": (Account, ACCOUNT, {}, {}),
}
UNDECLARED = {"OcaPair": OCA_PAIR_UNDECLARED, "Trade": TRADE_UNDECLARED}
TRADE_LEVEL = {"Trade": "trade", "Ladder": "ladder", "Cover": "cover", "Milestones": "milestones"}


def test_every_machine_has_a_table() -> None:
    assert set(TABLES) == set(MACHINES)
    assert all(MACHINES[name] is machine for name, (machine, *_) in TABLES.items())


@pytest.mark.parametrize("name", list(TABLES))
def test_declaration_matches_the_hand_written_table(name: str) -> None:
    machine, table, _, disputed = TABLES[name]
    problems = diff_table(without(declared_rows(machine), disputed), without(table, disputed))
    assert not problems, f"{name} declaration and tests/tables differ:\n  " + "\n  ".join(problems)


def _disputed_cases() -> list[Any]:
    return [
        pytest.param(name, state, event, id=f"{name}:{state}-{event}",
                     marks=pytest.mark.xfail(strict=True, reason=f"disputed row: {reason[:90]}..."))
        for name, (_, _, _, disputed) in TABLES.items() for (state, event), reason in disputed.items()
    ]


@pytest.mark.parametrize(("name", "state", "event"), _disputed_cases())
def test_disputed_rows_as_the_table_wants_them(name: str, state: str, event: str) -> None:
    machine, table, _, _ = TABLES[name]
    problems = diff_table(rows_of(declared_rows(machine), state, event), rows_of(table, state, event))
    assert not problems, "\n  ".join(problems)


@pytest.mark.parametrize("name", list(TABLES))
def test_table_covers_every_state_and_event(name: str) -> None:
    machine, table, intents, disputed = TABLES[name]
    every_pair = set(itertools.product([s.id for s in machine.states], event_ids(machine)))
    assert {(state, event) for state, event, _, _ in table} == every_pair
    # a not-allowed pair is one row, never mixed with transitions
    rows_per_pair = Counter((state, event) for state, event, _, _ in table)
    for state, event, guard, target in table:
        if target == NOT_ALLOWED:
            assert guard is None
            assert rows_per_pair[(state, event)] == 1, (state, event)
    # every intent belongs to a row that moves or stays, every dispute to a pair of the table, every
    # row the table wants and the machine lacks to a disputed pair
    keys = {(state, event, guard) for state, event, guard, target in table if target != NOT_ALLOWED}
    assert set(intents) <= keys, set(intents) - keys
    assert set(disputed) <= every_pair
    undeclared = UNDECLARED.get(name, ())
    assert set(undeclared) <= set(table)
    assert {(state, event) for state, event, _, _ in undeclared} <= set(disputed)


def test_the_disputed_rows_are_the_ones_the_machines_lack() -> None:
    for name, undeclared in UNDECLARED.items():
        machine, table, _, disputed = TABLES[name]
        declared = declared_rows(machine)
        assert set(undeclared) == {row for row in rows_of_pairs(table, disputed) if row not in declared}, name


# -- the check bites ----------------------------------------------------------------------------
def _replace(table: Table, old: Row, new: Row) -> list[Row]:
    assert old in table
    return [new if row == old else row for row in table]


def test_diff_reports_a_wrong_target() -> None:
    wrong = _replace(LEG, ("working", "fill", "completes", "filled"),
                     ("working", "fill", "completes", "partially_filled"))
    problems = diff_table(declared_rows(Leg), wrong)
    assert problems == [
        "target differs: declared working --fill [completes]--> filled, table says partially_filled"
    ]


def test_diff_reports_a_missing_row() -> None:
    short = [row for row in LEG if row != ("cancelled", "fill", None, "cancelled")]
    assert diff_table(declared_rows(Leg), short) == ["missing from the table: cancelled --fill--> cancelled"]


def test_diff_reports_a_row_that_is_not_declared() -> None:
    extra = [*LADDER, ("complete", "start", "is_attached", "attached")]
    assert diff_table(declared_rows(Ladder), extra) == [
        "in the table but not declared: complete --start [is_attached]--> attached"
    ]


def test_diff_reports_an_allowed_event_the_table_forbids() -> None:
    wrong = _replace(TRADE, ("closed", "inventory", None, "protecting"), ("closed", "inventory", None, NOT_ALLOWED))
    assert diff_table(without(declared_rows(Trade), TRADE_DISPUTED), without(wrong, TRADE_DISPUTED)) == [
        f"target differs: declared closed --inventory--> protecting, table says {NOT_ALLOWED}"
    ]


def test_diff_reports_a_row_written_twice() -> None:
    twice = [*COVER, ("clear", "became_short", None, "short")]
    assert diff_table(declared_rows(Cover), twice) == ["row written twice in the table: clear --became_short--> short"]


def test_diff_reports_guards_in_the_wrong_order() -> None:
    # the first guard that holds wins: all_exited before tp_took_all would close every pair as mixed
    swapped = list(OCA_PAIR)
    i = swapped.index(("armed", "leg_changed", "tp_took_all", "closed_by_tp"))
    j = swapped.index(("armed", "leg_changed", "all_exited", "closed_mixed"))
    swapped[i], swapped[j] = swapped[j], swapped[i]
    problems = diff_table(without(declared_rows(OcaPair), OCA_PAIR_DISPUTED), without(swapped, OCA_PAIR_DISPUTED))
    assert len(problems) == 1
    assert problems[0].startswith("guards of armed --leg_changed--> are tried in the order")


def test_diff_reports_a_conjunct_lost_from_a_guard() -> None:
    wrong = _replace(OCA_PAIR, ("armed", "repair", "leg_lost and can_repair", "armed"),
                     ("armed", "repair", "leg_lost", "armed"))
    problems = diff_table(without(declared_rows(OcaPair), OCA_PAIR_DISPUTED), without(wrong, OCA_PAIR_DISPUTED))
    assert sorted(problems) == [
        "in the table but not declared: armed --repair [leg_lost]--> armed",
        "missing from the table: armed --repair [leg_lost and can_repair]--> armed",
    ]


# -- every unguarded row, fired on a real machine --------------------------------------------------
KWARGS: dict[str, dict[str, Any]] = {
    "fill": {"qty": 1, "notional": 10.0, "exec_id": "sweep-1"},
    "request_replace": {"stop_price": 9.5},  # a StopLeg reprice needs one; a Leg ignores it
    "reject": {"reason": "201 test"},
    "kill": {"reason": "operator"},
    "roll": {"day": "2025-12-15"},
}


def rows_of_pairs(table: Table, pairs: Disputed) -> list[Row]:
    return [row for row in table if (row[0], row[1]) in pairs]


def unguarded_rows(table: Table) -> list[Row]:
    rows_per_pair = Counter((state, event) for state, event, _, _ in table)
    return [row for row in table if row[2] is None and rows_per_pair[(row[0], row[1])] == 1]


def _sweep_cases() -> list[Any]:
    return [pytest.param(name, *row, id=f"{name}:{row[0]}-{row[1]}")
            for name, (_, table, _, _) in TABLES.items() for row in unguarded_rows(table)]


def _driven(name: str, state: str) -> Any:
    """The model of machine `name`, driven with events to the canonical setup of `state`."""
    machine = TABLES[name][0]
    if name in TRADE_LEVEL:
        return drive_trade(TRADE_LEVEL[name], state)["trade"]
    if name == "OcaPair":
        return drive_pair(state)["pair"]
    setups = ENTRY_SETUPS if machine is EntryLeg else LEG_SETUPS
    assert setups[state][0] == state
    return drive_leg(machine, state)


def _state(name: str, model: Any) -> str:
    field = STATE_FIELDS[TRADE_LEVEL[name]] if name in TRADE_LEVEL else "state"
    return str(getattr(model, field))


@pytest.mark.parametrize(("name", "state", "event", "guard", "target"), _sweep_cases())
def test_unguarded_row_on_a_real_machine(name: str, state: str, event: str, guard: None, target: str) -> None:
    machine, _, intents, _ = TABLES[name]
    if machine is Account:  # one machine per account, not a shared one over models
        account = drive_account(state)
        if target == NOT_ALLOWED:
            with pytest.raises(TransitionNotAllowed):
                account.send(event, **KWARGS.get(event, {}))
        else:
            account.send(event, **KWARGS.get(event, {}))
        assert account.current_state_value == (state if target == NOT_ALLOWED else target)
        return
    model = _driven(name, state)
    if target == NOT_ALLOWED:
        with pytest.raises(TransitionNotAllowed):
            fire(machine, model, event, **KWARGS.get(event, {}))
        assert _state(name, model) == state
    else:
        recorded = fire(machine, model, event, **KWARGS.get(event, {}))
        assert _state(name, model) == target
        assert tuple(recorded) == intents.get((state, event, None), ())
