"""Transition tables are the contract (DESIGN.md): every machine's full (state x event) table is
written out by hand in `tests/tables/` and compared here with the machine's declaration, read from
the class alone (no instance). Any change to a machine is a visible change to its table.

Then every row without a guard is fired on a real machine driven to its state with events: the
row's target, or `TransitionNotAllowed`. Guarded rows have their own tests next to the tables
(`tests/tables/test_*_rows.py`), one case per guard.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed
from tables import NOT_ALLOWED, Row, Table, declared_rows, diff_table
from tables.account import ACCOUNT
from tables.drive import drive_account, drive_leg, drive_pair, drive_trade, fire
from tables.entry_leg import ENTRY_LEG
from tables.leg import LEG
from tables.oca_pair import OCA_PAIR
from tables.stop_leg import STOP_LEG
from tables.trade import TRADE

from machines import MACHINES, Account, EntryLeg, Leg, OcaPair, StopLeg, Trade

TABLES: dict[str, tuple[type[StateMachine], Table]] = {
    "Leg": (Leg, LEG),
    "StopLeg": (StopLeg, STOP_LEG),
    "EntryLeg": (EntryLeg, ENTRY_LEG),
    "OcaPair": (OcaPair, OCA_PAIR),
    "Trade": (Trade, TRADE),
    "Account": (Account, ACCOUNT),
}


def test_every_machine_has_a_table() -> None:
    assert set(TABLES) == set(MACHINES)
    assert all(MACHINES[name] is cls for name, (cls, _) in TABLES.items())


@pytest.mark.parametrize("name", sorted(TABLES))
def test_declaration_matches_the_hand_written_table(name: str) -> None:
    machine, table = TABLES[name]
    problems = diff_table(declared_rows(machine), table)
    assert not problems, f"{name} declaration and tests/tables differ:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_covers_every_state_and_event(name: str) -> None:
    machine, table = TABLES[name]
    every_pair = set(itertools.product([s.id for s in machine.states], [e.id for e in machine.events]))
    assert {(state, event) for state, event, _, _ in table} == every_pair
    # a not-allowed pair is one row, never mixed with transitions
    rows_per_pair = Counter((state, event) for state, event, _, _ in table)
    for state, event, guard, target in table:
        if target == NOT_ALLOWED:
            assert guard is None
            assert rows_per_pair[(state, event)] == 1, (state, event)


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
    extra = [*OCA_PAIR, ("closed_by_tp", "leg_filled", "all_exited", "closed_mixed")]
    assert diff_table(declared_rows(OcaPair), extra) == [
        "in the table but not declared: closed_by_tp --leg_filled [all_exited]--> closed_mixed"
    ]


def test_diff_reports_an_allowed_event_the_table_forbids() -> None:
    wrong = _replace(TRADE, ("closed", "inventory", None, "protecting"), ("closed", "inventory", None, NOT_ALLOWED))
    assert diff_table(declared_rows(Trade), wrong) == [
        f"target differs: declared closed --inventory--> protecting, table says {NOT_ALLOWED}"
    ]


def test_diff_reports_a_row_written_twice() -> None:
    twice = [*TRADE, ("armed", "enter", None, "entering")]
    assert diff_table(declared_rows(Trade), twice) == ["row written twice in the table: armed --enter--> entering"]


def test_diff_reports_guards_in_the_wrong_order() -> None:
    # the first guard that holds wins: all_exited before tp_took_all would close every pair as mixed
    swapped = list(OCA_PAIR)
    i = swapped.index(("armed", "leg_filled", "tp_took_all", "closed_by_tp"))
    j = swapped.index(("armed", "leg_filled", "all_exited", "closed_mixed"))
    swapped[i], swapped[j] = swapped[j], swapped[i]
    problems = diff_table(declared_rows(OcaPair), swapped)
    assert len(problems) == 1
    assert problems[0].startswith("guards of armed --leg_filled--> are tried in the order")


# -- every unguarded row, fired on a real machine --------------------------------------------------
KWARGS: dict[str, dict[str, Any]] = {
    "fill": {"exec_id": "sweep-1", "qty": 1, "price": 10.0},
    "request_replace": {"stop_price": 9.5},  # a StopLeg reprice needs one; a Leg ignores it
    "reject": {"reason": "201 test"},
    "kill": {"reason": "operator"},
    "roll": {"day": "2025-12-15"},
}


def unguarded_rows(table: Table) -> list[Row]:
    rows_per_pair = Counter((state, event) for state, event, _, _ in table)
    return [row for row in table if row[2] is None and rows_per_pair[(row[0], row[1])] == 1]


def _sweep_cases() -> list[Any]:
    cases = []
    for name, (_, table) in TABLES.items():
        cases += [pytest.param(name, *row, id=f"{name}:{row[0]}-{row[1]}") for row in unguarded_rows(table)]
    return cases


@pytest.mark.parametrize(("name", "state", "event", "guard", "target"), _sweep_cases())
def test_unguarded_row_on_a_real_machine(name: str, state: str, event: str, guard: None, target: str) -> None:
    machine = TABLES[name][0]
    if name == "OcaPair":
        sm = drive_pair(state)["pair"]
    elif name == "Trade":
        sm = drive_trade(state)["trade"]
    elif name == "Account":
        sm = drive_account(state)["account"]
    else:
        sm = drive_leg(machine, state)
    if target == NOT_ALLOWED:
        with pytest.raises(TransitionNotAllowed):
            fire(sm, event, **KWARGS.get(event, {}))
        assert sm.current_state_value == state
    else:
        fire(sm, event, **KWARGS.get(event, {}))
        assert sm.current_state_value == target
