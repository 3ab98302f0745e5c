"""The guarded rows of the leg tables, fired on real legs (`Leg`, `StopLeg`, `EntryLeg`).

Each case names the guard it exercises; the test first checks that this guard is the first one
of its (state, event) that holds (so a case cannot pass through the wrong row), then fires the
event. A last test checks every guarded row of the tables has a case. Then the fill rules the
rows rely on: an overfill changes nothing, a late fill is applied and recorded, a correction
replaces its execution instead of adding to it.
"""

from __future__ import annotations

from typing import Any

import pytest
from statemachine import StateMachine

from machines import EntryLeg, Leg, OverfillError, StopLeg
from tables import Table
from tables.drive import ENTRY_SETUPS, drive_leg, fire, first_guard_that_holds
from tables.entry_leg import ENTRY_LEG
from tables.leg import LEG
from tables.stop_leg import STOP_LEG

LEGS: dict[str, tuple[type[StateMachine], Table]] = {
    "Leg": (Leg, LEG),
    "StopLeg": (StopLeg, STOP_LEG),
    "EntryLeg": (EntryLeg, ENTRY_LEG),
}


def F(exec_id: str, qty: int, price: float = 10.0) -> dict[str, Any]:
    return {"exec_id": exec_id, "qty": qty, "price": price}


NONE: dict[str, Any] = {}

# (setup, event, kwargs, guard that must decide, expected state, filled_qty after); qty is 10.
Case = tuple[str, str, dict[str, Any], str | None, str, int]
# Setups are in tests/tables/drive.py: "partially_filled" holds e1=4, "filled" holds e1=6 + e2=4.
CASES: list[Case] = [
    # no event sequence leaves an execution in a `sent` or `working` book: a restored one can
    ("sent, e1=4 seeded",       "fill",              F("e1", 4),         "is_duplicate", "sent",              4),
    ("sent",                    "fill",              F("e1", 10),        "completes",    "filled",            10),
    ("sent",                    "fill",              F("e1", 4),         None,           "partially_filled",  4),
    ("working, e1=4 seeded",    "fill",              F("e1", 4),         "is_duplicate", "working",           4),
    ("working",                 "fill",              F("e1", 10),        "completes",    "filled",            10),
    ("working",                 "fill",              F("e1", 4),         None,           "partially_filled",  4),
    ("partially_filled",        "fill",              F("e1", 9),         "is_duplicate", "partially_filled",  4),
    ("partially_filled",        "fill",              F("e2", 6),         "completes",    "filled",            10),
    ("partially_filled",        "fill",              F("e1.01", 10),     "completes",    "filled",            10),
    ("partially_filled",        "fill",              F("e2", 2),         None,           "partially_filled",  6),
    ("partially_filled",        "fill",              F("e1.01", 3),      None,           "partially_filled",  3),
    ("filled",                  "fill",              F("e2", 4),         "keeps_filled", "filled",            10),
    ("filled",                  "fill",              F("e2.01", 4, 9.5), "keeps_filled", "filled",            10),
    ("filled",                  "fill",              F("e2.01", 1),      None,           "partially_filled",  7),
    ("cancel_requested, e1=4",  "fill",              F("e1", 4),         "is_duplicate", "cancel_requested",  4),
    ("cancel_requested",        "fill",              F("e1", 10),        "completes",    "filled",            10),
    ("cancel_requested",        "fill",              F("e1", 4),         None,           "cancel_requested",  4),
    ("replace_requested, e1=4", "fill",              F("e1", 4),         "is_duplicate", "replace_requested", 4),
    ("replace_requested",       "fill",              F("e1", 10),        "completes",    "filled",            10),
    ("replace_requested",       "fill",              F("e1", 4),         None,           "replace_requested", 4),
    ("cancel_requested, e1=4",  "cancel_reject",     NONE,               "has_fills",    "partially_filled",  4),
    ("cancel_requested",        "cancel_reject",     NONE,               None,           "working",           0),
    ("replace_requested, e1=4", "replace_ack",       NONE,               "has_fills",    "partially_filled",  4),
    ("replace_requested",       "replace_ack",       NONE,               None,           "working",           0),
    ("replace_requested, e1=4", "replace_reject",    NONE,               "has_fills",    "partially_filled",  4),
    ("replace_requested",       "replace_reject",    NONE,               None,           "working",           0),
    ("unknown, e1=4",           "reconcile_working", NONE,               "has_fills",    "partially_filled",  4),
    ("unknown",                 "reconcile_working", NONE,               None,           "working",           0),
    ("unknown, e1=10",          "reconcile_gone",    NONE,               "is_complete",  "filled",            10),
    ("unknown, e1=4",           "reconcile_gone",    NONE,               None,           "cancelled",         4),
    ("unknown",                 "reconcile_gone",    NONE,               None,           "cancelled",         0),
]


def _case_id(case: Case) -> str:
    setup, event, kwargs, _, expected, _ = case
    return f"{setup}-{event}{'(' + kwargs['exec_id'] + ')' if kwargs else ''}->{expected}"


@pytest.mark.parametrize("name", sorted(LEGS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_guarded_row(name: str, case: Case) -> None:
    setup, event, kwargs, guard, expected, filled = case
    machine, table = LEGS[name]
    leg = drive_leg(machine, setup)
    assert first_guard_that_holds(leg, table, event, kwargs) == guard
    fire(leg, event, **kwargs)
    assert leg.current_state_value == expected
    assert leg.model.filled_qty == filled


@pytest.mark.parametrize("name", sorted(LEGS))
def test_every_guarded_row_has_a_case(name: str) -> None:
    _, table = LEGS[name]
    rows_per_pair: dict[tuple[str, str], int] = {}
    for state, event, _, _ in table:
        rows_per_pair[(state, event)] = rows_per_pair.get((state, event), 0) + 1
    guarded = {(s, e, g, t) for s, e, g, t in table if rows_per_pair[(s, e)] > 1}
    covered = {(ENTRY_SETUPS[setup][0], event, guard, expected) for setup, event, _, guard, expected, _ in CASES}
    assert guarded - covered == set()


# -- an execution that would overfill changes nothing -------------------------------------------
OVERFILLS: list[tuple[str, dict[str, Any]]] = [
    ("sent",                    F("e1", 11)),
    ("working",                 F("e1", 11)),
    ("partially_filled",        F("e2", 7)),
    ("partially_filled",        F("e1.01", 11)),  # a correction past the quantity
    ("filled",                  F("e3", 1)),
    ("filled",                  F("e1.01", 7)),  # 7 + 4 > 10
    ("cancel_requested, e1=4",  F("e2", 7)),
    ("cancelled, e1=4",         F("e2", 7)),
    ("replace_requested, e1=4", F("e2", 7)),
    ("unknown, e1=4",           F("e2", 7)),
    ("working",                 F("e1", 0)),  # not an execution at all
    ("working",                 F("e1", -3)),
    ("partially_filled",        F("e2", 1, price=0.0)),
]


@pytest.mark.parametrize("name", sorted(LEGS))
@pytest.mark.parametrize(("setup", "kwargs"), OVERFILLS)
def test_overfill_changes_nothing(name: str, setup: str, kwargs: dict[str, Any]) -> None:
    leg = drive_leg(LEGS[name][0], setup)
    model = leg.model
    before = (leg.current_state_value, model.filled_qty, model.avg_price, model.exec_ids, list(model.late_exec_ids))
    with pytest.raises(OverfillError):
        leg.fill(**kwargs)
    after = (leg.current_state_value, model.filled_qty, model.avg_price, model.exec_ids, list(model.late_exec_ids))
    assert after == before


# -- a fill after the cancel is applied, and recorded as late ----------------------------------
@pytest.mark.parametrize("setup", ["cancel_requested", "cancelled"])
def test_late_fill_is_applied_and_recorded(setup: str) -> None:
    leg = drive_leg(Leg, setup)
    leg.fill(**F("late1", 3))
    assert (leg.current_state_value, leg.model.filled_qty) == (setup, 3)
    leg.fill(**F("late1", 3))  # the same report again: neither counted nor recorded twice
    leg.fill(**F("late1.01", 2, 10.2))  # a correction of a late fill is late news too
    assert leg.current_state_value == setup
    assert leg.model.filled_qty == 2
    assert leg.model.late_exec_ids == ["late1", "late1.01"]


def test_duplicate_of_a_fill_before_the_cancel_is_not_late() -> None:
    leg = drive_leg(Leg, "cancelled, e1=4")
    leg.fill(**F("e1", 4))
    assert leg.model.late_exec_ids == []
    assert leg.model.filled_qty == 4


def test_fill_while_working_is_not_late() -> None:
    leg = drive_leg(Leg, "working")
    leg.fill(**F("e1", 4))
    assert leg.model.late_exec_ids == []


# -- a correction replaces the execution it corrects --------------------------------------------
@pytest.mark.parametrize(
    ("first", "correction"),
    [
        ("X", "X.01"),
        ("X.01", "X.02"),
        ("h.1.01.01", "h.1.01.02"),
        ("0000e215.5f3bcbd4.01.01", "0000e215.5f3bcbd4.01.02"),  # the shape of a real IB execId
    ],
)
def test_correction_replaces_instead_of_adding(first: str, correction: str) -> None:
    leg = drive_leg(Leg, "working")
    leg.fill(**F(first, 4, 10.0))
    leg.fill(**F(correction, 3, 11.0))
    assert leg.current_state_value == "partially_filled"
    assert leg.model.filled_qty == 3
    assert leg.model.avg_price == 11.0
    assert len(leg.model.book.fills) == 1
    leg.fill(**F(first, 4, 10.0))  # the older revision, re-sent on a reconnect: stale, ignored
    assert (leg.model.filled_qty, leg.model.avg_price) == (3, 11.0)
    leg.fill(**F("other", 7, 12.0))  # a different execution adds
    assert (leg.current_state_value, leg.model.filled_qty) == ("filled", 10)


# -- a resize never takes the order below what already filled ----------------------------------
@pytest.mark.parametrize("name", sorted(LEGS))
def test_resize_below_the_filled_quantity_is_refused(name: str) -> None:
    leg = drive_leg(LEGS[name][0], "partially_filled")  # e1=4 of 10
    with pytest.raises(ValueError, match="below the 4 already filled"):
        leg.request_replace(qty=3, stop_price=9.5)
    assert (leg.current_state_value, leg.model.order_qty) == ("partially_filled", 10)

    leg.request_replace(qty=5, stop_price=9.5)
    leg.fill(**F("e2", 3))  # lands while the modify is in flight: 7 filled, the modify says 5
    with pytest.raises(ValueError, match="below the 7 filled"):
        leg.replace_ack()
    assert (leg.current_state_value, leg.model.order_qty, leg.model.filled_qty) == ("replace_requested", 10, 7)
    leg.replace_reject(reason="IB refused the resize")
    assert (leg.current_state_value, leg.model.order_qty) == ("partially_filled", 10)
