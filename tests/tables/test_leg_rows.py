"""The guarded rows of the leg tables, fired on real legs (`Leg`, `StopLeg`, `EntryLeg`), and what
each transition writes on the leg model.

Each case names the guard it exercises; the test first checks that this guard is the first of its
(state, event) alternatives that holds (so a case cannot pass through the wrong row), then fires
the event on the shared machine and checks the state and the executed quantity. A last test checks
every guarded row of the tables has a case. Then the actions: executions counted in every state
(late ones recorded), the broker's figures, refusals counted, a modify applied on its answer, and
the validators that refuse a resize below what executed.
"""

from __future__ import annotations

from typing import Any

import pytest
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed

from machines import TERMINAL_STATES, EntryLeg, Leg, LegModel, StopLeg
from tables import Table
from tables.drive import ENTRY_SETUPS, LEG_SETUPS, drive_leg, fire, first_guard_that_holds
from tables.entry_leg import ENTRY_LEG
from tables.leg import LEG
from tables.stop_leg import STOP_LEG

LEGS: dict[str, tuple[type[StateMachine], Table]] = {
    "Leg": (Leg, LEG),
    "StopLeg": (StopLeg, STOP_LEG),
    "EntryLeg": (EntryLeg, ENTRY_LEG),
}


def F(exec_id: str, qty: int, price: float = 10.0) -> dict[str, Any]:
    """An execution as the supervisor hands it to a leg: the change it makes (a correction's
    difference), its notional, and its id."""
    return {"qty": qty, "notional": qty * price, "exec_id": exec_id}


NONE: dict[str, Any] = {}

# (setup, event, kwargs, guard that must decide, expected state, executed quantity after); qty 10.
# Setups are in tests/tables/drive.py: "partially_filled" holds e1=4.
Case = tuple[str, str, dict[str, Any], str | None, str, int]
CASES: list[Case] = [
    ("pending",                    "fill",              F("e1", 10),   "completes",    "filled",            10),
    ("pending",                    "fill",              F("e1", 4),    None,           "partially_filled",  4),
    ("sent",                       "fill",              F("e1", 10),   "completes",    "filled",            10),
    ("sent",                       "fill",              F("e1", 4),    None,           "partially_filled",  4),
    ("working",                    "fill",              F("e1", 10),   "completes",    "filled",            10),
    ("working",                    "fill",              F("e1", 9),    None,           "partially_filled",  9),
    ("partially_filled",           "fill",              F("e2", 6),    "completes",    "filled",            10),
    ("partially_filled",           "fill",              F("e2", 7),    "completes",    "filled",            11),
    ("partially_filled",           "fill",              F("e2", 2),    None,           "partially_filled",  6),
    ("partially_filled",           "fill",              F("e1.01", 0, 10.5), None,     "partially_filled",  4),
    ("partially_filled",           "fill",              F("e1.01", -4), None,          "partially_filled",  0),
    # a price correction of an order the broker sized to what executed: now it is complete
    ("partially_filled, 4 of 4",   "fill",              F("e1.01", 0, 10.5), "completes", "filled",         4),
    ("cancel_requested",           "fill",              F("e1", 10),   "completes",    "filled",            10),
    ("cancel_requested",           "fill",              F("e1", 4),    None,           "cancel_requested",  4),
    ("replace_requested",          "fill",              F("e1", 10),   "completes",    "filled",            10),
    ("replace_requested",          "fill",              F("e1", 4),    None,           "replace_requested", 4),
    ("unknown",                    "fill",              F("e1", 10),   "completes",    "filled",            10),
    ("unknown",                    "fill",              F("e1", 4),    None,           "unknown",           4),
    ("cancel_requested, e1=4",     "cancel_reject",     NONE,          "has_fills",    "partially_filled",  4),
    ("cancel_requested",           "cancel_reject",     NONE,          None,           "working",           0),
    ("replace_requested, e1=4",    "replace_ack",       NONE,          "has_fills",    "partially_filled",  4),
    ("replace_requested",          "replace_ack",       NONE,          None,           "working",           0),
    ("replace_requested, e1=4",    "replace_reject",    NONE,          "has_fills",    "partially_filled",  4),
    ("replace_requested",          "replace_reject",    NONE,          None,           "working",           0),
    ("unknown, e1=4",              "accept",            NONE,          "has_fills",    "partially_filled",  4),
    ("unknown",                    "accept",            NONE,          None,           "working",           0),
    ("unknown, e1=4",              "reconcile_working", NONE,          "has_fills",    "partially_filled",  4),
    ("unknown",                    "reconcile_working", NONE,          None,           "working",           0),
    ("pending, restored 4 of 4",   "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("pending",                    "reconcile_gone",    NONE,          None,           "cancelled",         0),
    ("sent, restored 4 of 4",      "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("sent",                       "reconcile_gone",    NONE,          None,           "cancelled",         0),
    ("working, restored 4 of 4",   "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("working",                    "reconcile_gone",    NONE,          None,           "cancelled",         0),
    ("working, broker says 0",     "reconcile_gone",    NONE,          None,           "cancelled",         0),
    ("partially_filled, 4 of 4",   "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("partially_filled",           "reconcile_gone",    NONE,          None,           "cancelled",         4),
    ("cancel_requested, 4 of 4",   "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("cancel_requested, e1=4",     "reconcile_gone",    NONE,          None,           "cancelled",         4),
    ("replace_requested, 4 of 4",  "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("replace_requested, e1=4",    "reconcile_gone",    NONE,          None,           "cancelled",         4),
    ("unknown, 4 of 4",            "reconcile_gone",    NONE,          "is_complete",  "filled",            4),
    ("unknown, e1=4",              "reconcile_gone",    NONE,          None,           "cancelled",         4),
]


def _case_id(case: Case) -> str:
    setup, event, kwargs, _, expected, _ = case
    return f"{setup}-{event}{'(' + kwargs['exec_id'] + ')' if kwargs else ''}->{expected}"


@pytest.mark.parametrize("name", list(LEGS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_guarded_row(name: str, case: Case) -> None:
    setup, event, kwargs, guard, expected, filled = case
    machine, table = LEGS[name]
    model = drive_leg(machine, setup)
    assert first_guard_that_holds(machine, model, table, event, kwargs) == guard
    fire(machine, model, event, **kwargs)
    assert model.state == expected
    assert model.filled == filled


@pytest.mark.parametrize("name", list(LEGS))
def test_every_guarded_row_has_a_case(name: str) -> None:
    _, table = LEGS[name]
    guarded_pairs = {(s, e) for s, e, g, _ in table if g is not None}
    guarded = {row for row in table if (row[0], row[1]) in guarded_pairs}
    covered = {(ENTRY_SETUPS[setup][0], event, guard, expected) for setup, event, _, guard, expected, _ in CASES}
    assert guarded - covered == set()


# -- executions: counted in every state that takes them, late ones recorded --------------------
LATE = {"idle", "dropped", "cancel_requested", "cancelled", "rejected"}


def _every_state() -> list[Any]:
    params = []
    for name, (machine, _) in LEGS.items():
        setups = ENTRY_SETUPS if machine is EntryLeg else LEG_SETUPS
        params += [pytest.param(name, state, id=f"{name}:{state}") for state, (reached, _) in setups.items()
                   if state == reached]
    return params


@pytest.mark.parametrize(("name", "setup"), _every_state())
def test_an_execution_is_counted_in_every_state(name: str, setup: str) -> None:
    machine = LEGS[name][0]
    model = drive_leg(machine, setup)
    before, notional, late = model.filled, model.notional, list(model.late_exec_ids)
    fire(machine, model, "fill", **F("late1", 1, 11.0))
    assert model.filled == before + 1
    assert model.notional == pytest.approx(notional + 11.0)
    expected_late = [*late, "late1"] if setup in LATE else late
    assert model.late_exec_ids == expected_late


def test_a_correction_moves_the_figures_by_its_difference() -> None:
    model = drive_leg(Leg, "working")
    fire(Leg, model, "fill", **F("e1", 4, 10.0))
    fire(Leg, model, "fill", qty=-1, notional=3 * 11.0 - 4 * 10.0, exec_id="e1.01")  # 4 @ 10 became 3 @ 11
    assert (model.state, model.filled, model.avg_price) == ("partially_filled", 3, pytest.approx(11.0))
    assert model.remaining_qty == 7


# -- the broker's figures ----------------------------------------------------------------------
def test_the_first_acknowledgement_sizes_the_order_and_an_echo_does_not() -> None:
    model = drive_leg(Leg, "sent")
    fire(Leg, model, "accept", quantity=8, order_id=7, perm_id=70)
    assert (model.broker_qty, model.order_qty, model.order_id, model.perm_id) == (8, 8, 7, 70)
    fire(Leg, model, "accept", quantity=10)  # an older openOrder echo
    assert model.broker_qty == 8
    fire(Leg, model, "lose_contact")
    fire(Leg, model, "accept", quantity=6)  # after an outage, the broker's word counts again
    assert (model.state, model.broker_qty) == ("working", 6)


def test_the_quantity_never_reads_below_what_executed() -> None:
    model = drive_leg(Leg, "partially_filled")  # 4 executed
    fire(Leg, model, "lose_contact")
    fire(Leg, model, "accept", quantity=2)
    assert (model.order_qty, model.remaining_qty) == (4, 0)


def test_transmit_and_reject_record_the_order_id_and_the_reason() -> None:
    model = drive_leg(Leg, "pending")
    fire(Leg, model, "transmit", order_id=42)
    fire(Leg, model, "reject", reason="201 margin")
    assert (model.state, model.order_id, model.reject_reason) == ("rejected", 42, "201 margin")


# -- refusals are counted, wherever they land --------------------------------------------------
@pytest.mark.parametrize("setup", ["cancel_requested", "working", "cancelled", "filled"])
def test_a_refused_cancel_is_counted(setup: str) -> None:
    model = drive_leg(Leg, setup)
    fire(Leg, model, "cancel_reject")
    fire(Leg, model, "cancel_reject")
    assert model.cancel_refusals == 2


def test_a_modify_is_applied_on_its_acknowledgement() -> None:
    model = drive_leg(StopLeg, "partially_filled")  # 4 of 10
    fire(StopLeg, model, "request_replace", qty=6, stop_price=9.75)
    assert (model.pending_qty, model.pending_stop, model.stop_price) == (6, 9.75, 9.0)
    fire(StopLeg, model, "replace_ack")
    assert (model.state, model.intended_qty, model.broker_qty, model.stop_price) == ("partially_filled", 6, 6, 9.75)
    assert (model.pending_qty, model.pending_limit, model.pending_stop, model.replace_refusals) == (None, None, None, 0)


def test_an_acknowledgement_without_a_modify_of_ours_takes_the_broker_quantity() -> None:
    model = drive_leg(Leg, "working")
    fire(Leg, model, "replace_ack", quantity=7)  # a late answer; nothing pending
    assert (model.state, model.intended_qty, model.broker_qty) == ("working", 7, 7)


def test_a_refused_modify_keeps_the_order_and_counts() -> None:
    model = drive_leg(StopLeg, "working")
    fire(StopLeg, model, "request_replace", stop_price=9.75)
    fire(StopLeg, model, "replace_reject")
    assert (model.state, model.stop_price, model.pending_stop, model.replace_refusals) == ("working", 9.0, None, 1)
    fire(StopLeg, model, "replace_reject")  # a repeated refusal of nothing in flight is not counted again
    assert model.replace_refusals == 1


# -- validators: refused loudly, before any transition ---------------------------------------------
@pytest.mark.parametrize("name", list(LEGS))
def test_a_resize_below_what_executed_is_refused(name: str) -> None:
    machine = LEGS[name][0]
    model = drive_leg(machine, "partially_filled")  # 4 of 10
    with pytest.raises(ValueError, match="qty=3 is below the 4 already executed"):
        fire(machine, model, "request_replace", qty=3, stop_price=9.5)
    assert (model.state, model.pending_qty) == ("partially_filled", None)
    fire(machine, model, "request_replace", qty=4, stop_price=9.5)
    assert (model.state, model.pending_qty) == ("replace_requested", 4)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "needs a new stop_price or qty, got neither"),
    ({"stop_price": 0.0}, "stop_price must be a positive price, got 0.0"),
    ({"stop_price": -1.0, "qty": 5}, "stop_price must be a positive price, got -1.0"),
])
def test_a_stop_replace_needs_a_positive_stop_or_a_quantity(kwargs: dict[str, Any], message: str) -> None:
    model = drive_leg(StopLeg, "working")
    with pytest.raises(ValueError, match=message):
        fire(StopLeg, model, "request_replace", **kwargs)
    assert model.state == "working"
    fire(StopLeg, model, "request_replace", qty=5)  # a resize alone is a replace too
    assert model.state == "replace_requested"


def test_a_leg_model_refuses_a_quantity_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match=r"intended_qty must be positive, got 0 \(leg T1:tp1\)"):
        LegModel(leg="T1:tp1", intended_qty=0)


@pytest.mark.parametrize("name", list(LEGS))
def test_terminal_states_refuse_order_commands(name: str) -> None:
    machine = LEGS[name][0]
    for setup in ("filled", "cancelled", "rejected"):
        assert setup in TERMINAL_STATES
        model = drive_leg(machine, setup)
        for event, kwargs in (("request_cancel", NONE), ("request_replace", {"stop_price": 9.5})):
            with pytest.raises(TransitionNotAllowed):
                fire(machine, model, event, **kwargs)
            assert model.state == setup
