"""The guarded rows of the `OcaPair` table, fired on the shared pair machine whose legs were driven,
with events, to the situation the guard reads; and the intents each fired row records.

Each case starts from a named pair setup (`tables.drive.PAIR_SETUPS`) plus steps of its own, names
the guard that must decide (checked to be the first alternative that holds before the event
fires), the state the pair must end in, and the intents recorded, which must also be the ones the
hand-written `OCA_PAIR_INTENTS` gives that row. Where a guard has two conjuncts, cases cover each
one failing alone. Cases through a disputed row (`OCA_PAIR_UNDECLARED`) are expected failures.
A last test checks every guarded row has a case.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines import OcaPair
from supervisor.clock import ManualClock
from supervisor.core import Supervisor
from supervisor.plan import Side, TradePlan
from supervisor.policy import MismatchAction, Policy
from supervisor.port import (
    Action,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderSent,
    PlaceOrder,
)
from tables import NOT_ALLOWED
from tables.drive import Step, cancelled, drive_pair, ev, fill, fire, first_guard_that_holds, live, put
from tables.oca_pair import OCA_PAIR, OCA_PAIR_DISPUTED, OCA_PAIR_INTENTS, OCA_PAIR_UNDECLARED

NO_REPAIR = put("pair", repairs_left=0)
SL_GONE = ev("sl", "confirm_cancel")  # an unsolicited cancel (or IB's OCA cancel after a fill)
TP_GONE = ev("tp", "confirm_cancel")

# (setup, steps, event, guard that must decide, expected state)
Case = tuple[str, list[Step], str, str | None, str]
CASES: list[Case] = [
    ("pending", [put("pair", allocated=4)], "allocate", "has_shares", "armed"),
    ("pending", [], "allocate", None, "pending"),

    ("armed", [fill("tp", "t1", 10)], "leg_changed", "tp_took_all", "closed_by_tp"),
    ("armed", [fill("sl", "s1", 10)], "leg_changed", "sl_took_all", "closed_by_sl"),
    ("armed", [fill("tp", "t1", 4), fill("sl", "s1", 6)], "leg_changed", "all_exited", "closed_mixed"),
    ("armed", [ev("sl", "reject")], "leg_changed", "lost_for_sure and can_repair", "armed"),
    ("armed", [ev("tp", "reject")], "leg_changed", "lost_for_sure and can_repair", "armed"),
    ("armed", [TP_GONE, SL_GONE], "leg_changed", "lost_for_sure and can_repair", "armed"),
    # a target that never went (its placement was blocked) is lost for sure
    ("pending", [put("pair", allocated=10), ev("pair", "allocate"), *live("sl")],
        "leg_changed", "lost_for_sure and can_repair", "armed"),
    ("armed", [SL_GONE], "leg_changed", "leg_lost and can_repair", "armed"),
    ("armed", [TP_GONE], "leg_changed", "leg_lost and can_repair", "armed"),
    ("armed", [NO_REPAIR, ev("sl", "reject")], "leg_changed", "uncovered", "exposed"),
    ("armed", [NO_REPAIR, SL_GONE], "leg_changed", "uncovered", "exposed"),
    # a bracket's level cancelled before its entry filled: it never held a share
    ("pending", [ev("pair", "attach"), *live("tp"), *live("sl"), *cancelled("tp"), *cancelled("sl")],
        "leg_changed", "ended_empty", "cancelled"),
    ("armed", [fill("tp", "t1", 4)], "leg_changed", "exits_started", "reducing"),
    ("armed", [], "leg_changed", None, "armed"),
    ("armed", [NO_REPAIR, ev("tp", "reject")], "leg_changed", None, "armed"),
    ("armed", [NO_REPAIR, TP_GONE], "leg_changed", None, "armed"),

    ("reducing", [fill("tp", "t2", 6)], "leg_changed", "tp_took_all", "closed_by_tp"),
    ("armed", [fill("sl", "s1", 4), ev("pair", "leg_changed"), fill("sl", "s2", 6)],
        "leg_changed", "sl_took_all", "closed_by_sl"),
    ("reducing", [fill("sl", "s1", 6)], "leg_changed", "all_exited", "closed_mixed"),
    ("reducing", [ev("sl", "reject")], "leg_changed", "lost_for_sure and can_repair", "reducing"),
    ("reducing", [SL_GONE], "leg_changed", "leg_lost and can_repair", "reducing"),
    ("reducing", [NO_REPAIR, SL_GONE], "leg_changed", "uncovered", "exposed"),
    ("reducing", [NO_REPAIR, ev("sl", "reject")], "leg_changed", "uncovered", "exposed"),
    ("reducing", [], "leg_changed", None, "reducing"),
    ("reducing", [NO_REPAIR, ev("tp", "reject")], "leg_changed", None, "reducing"),

    ("replacing", [fill("tp", "t1", 10), *cancelled("sl")], "leg_changed", "both_done and tp_took_all", "closed_by_tp"),
    ("replacing", [fill("sl", "s1", 10), *cancelled("tp")], "leg_changed", "both_done and sl_took_all", "closed_by_sl"),
    ("replacing", [fill("tp", "t1", 4), fill("sl", "s1", 6), *cancelled("tp"), *cancelled("sl")],
        "leg_changed", "both_done and all_exited", "closed_mixed"),
    ("replacing", [*cancelled("tp"), *cancelled("sl")], "leg_changed", "both_done", "replaced"),
    ("replacing", [fill("tp", "t1", 4), *cancelled("tp"), *cancelled("sl")],
        "leg_changed", "both_done", "replaced"),
    ("replacing", [*cancelled("tp")], "leg_changed", None, "replacing"),
    # the level is empty but a leg still works (its cancel is on its way): wait for it
    ("replacing", [fill("tp", "t1", 10)], "leg_changed", None, "replacing"),
    ("replacing", [ev("tp", "request_cancel"), ev("tp", "cancel_reject")],
        "leg_changed", None, "replacing"),

    ("exposed", [fill("tp", "t1", 10)], "leg_changed", "tp_took_all", "closed_by_tp"),
    ("exposed", [fill("sl", "s1", 10)], "leg_changed", "sl_took_all", "closed_by_sl"),
    ("exposed", [fill("tp", "t1", 4), fill("sl", "s1", 6)], "leg_changed", "all_exited", "closed_mixed"),
    ("exposed", [put("pair", allocated=0), *cancelled("tp")], "leg_changed", "ended_empty", "cancelled"),
    ("exposed", [], "leg_changed", None, "exposed"),
    ("exposed", [*cancelled("tp")], "leg_changed", None, "exposed"),

    ("armed", [SL_GONE], "repair", "leg_lost and can_repair", "armed"),
    ("armed", [TP_GONE], "repair", "leg_lost and can_repair", "armed"),
    ("armed", [NO_REPAIR, SL_GONE], "repair", "uncovered", "exposed"),
    ("armed", [], "repair", None, "armed"),
    ("armed", [NO_REPAIR, TP_GONE], "repair", None, "armed"),
    ("armed", [fill("tp", "t1", 10)], "repair", None, "armed"), # nothing left
    ("reducing", [SL_GONE], "repair", "leg_lost and can_repair", "reducing"),
    ("reducing", [NO_REPAIR, SL_GONE], "repair", "uncovered", "exposed"),
    ("reducing", [], "repair", None, "reducing"),
    ("reducing", [NO_REPAIR, TP_GONE], "repair", None, "reducing"),
]


def _start(case: Case) -> str:
    """The pair's state when the case's event fires (its steps may move it from the setup's)."""
    setup, steps, *_ = case
    return str(drive_pair(setup, steps)["pair"].state)


def _params() -> list[Any]:
    params = []
    for case in CASES:
        setup, steps, event, guard, expected = case
        start = _start(case)
        # a case through a row the table wants and the machine does not declare: expected to fail
        disputed = (start, event, guard, expected) in OCA_PAIR_UNDECLARED
        marks = [pytest.mark.xfail(strict=True, reason=OCA_PAIR_DISPUTED[(start, event)][:90])] if disputed else []
        params.append(pytest.param(case, id=f"{setup}+{len(steps)}-{event}-{guard}->{expected}", marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_pair_guarded_row(case: Case) -> None:
    setup, steps, event, guard, expected = case
    pair = drive_pair(setup, steps)["pair"]
    start = pair.state
    assert first_guard_that_holds(OcaPair, pair, OCA_PAIR, event, {}) == guard
    recorded = fire(OcaPair, pair, event)
    assert pair.state == expected
    assert tuple(recorded) == OCA_PAIR_INTENTS.get((start, event, guard), ())


def test_every_guarded_row_has_a_case() -> None:
    guarded_pairs = {(s, e) for s, e, g, _ in OCA_PAIR if g is not None}
    guarded = {row for row in OCA_PAIR if (row[0], row[1]) in guarded_pairs}
    covered = {(_start(case), case[2], case[3], case[4]) for case in CASES}
    assert guarded - covered == set()


# -- what the intents carry, and what the guards read -------------------------------------------
def test_intents_name_the_pair_they_are_for() -> None:
    pair = drive_pair("pending", [put("pair", allocated=10)])["pair"]
    sm = OcaPair()
    sm.model.target = pair
    sm.allocate()
    assert sm.intents.drain() == [("place_both", pair)]
    assert sm.intents.drain() == []


def test_attach_is_only_for_a_level_that_has_not_begun() -> None:
    for setup in ("armed", "reducing", "exposed", "replacing"):
        pair = drive_pair(setup)["pair"]
        with pytest.raises(TransitionNotAllowed):
            fire(OcaPair, pair, "attach")
        assert pair.state == setup
    assert NOT_ALLOWED in {target for state, event, _, target in OCA_PAIR if event == "attach" and state != "pending"}


# -- what the disputed row costs, on a whole supervisor --------------------------------------------
def _milestone_moves_after_tp1_takes_its_level(policy: Policy, tp1_sized_by_broker: int) -> list[ModifyOrder]:
    """A 60/20/20 ladder; the broker acknowledges tp1 at `tp1_sized_by_broker`; then tp1 executes
    its whole level, IB cancels sl1 through the OCA group and tp1's own cancel (if one was asked)
    lands after its fill. Returns the stop modifies that followed the fill."""
    sup = Supervisor(ManualClock(1_000.0), policy)
    ids = itertools.count(1)

    def handle(*events: Any) -> list[Any]:
        out: list[Any] = []
        for event in events:
            out += sup.handle(event) + sup.settle()
        return out

    def ack(commands: list[Any]) -> None:
        while placed := [c for c in commands if isinstance(c, PlaceOrder)]:
            commands = []
            for cmd in placed:
                oid = next(ids)
                qty = tp1_sized_by_broker if cmd.order_ref == "T1:tp1" else cmd.quantity
                commands += handle(OrderSent(order_ref=cmd.order_ref, order_id=oid, time=0.0),
                                   OrderAccepted(order_ref=cmd.order_ref, order_id=oid, quantity=qty))

    def execution(leg: str, qty: int, price: float, action: Action) -> ExecutionReported:
        return ExecutionReported(order_ref=f"T1:{leg}", order_id=None, exec_id=f"x-{leg}", action=action, qty=qty,
                                 price=price)

    ack(sup.submit(TradePlan(trade_id="T1", symbol="ABC", side=Side.LONG, quantity=100, entry_price=10.0,
                             take_profits=(11.0, 12.0, 13.0), stop_losses=(9.0,))) + sup.settle())
    ack(handle(execution("entry", 100, 10.0, Action.BUY)))
    after = handle(execution("tp1", 60, 11.0, Action.SELL),
                   OrderCancelled(order_ref="T1:sl1", order_id=None), OrderCancelled(order_ref="T1:tp1", order_id=None))
    return [c for c in after if isinstance(c, ModifyOrder)]


def test_a_target_that_takes_its_level_moves_the_later_stops() -> None:
    moves = _milestone_moves_after_tp1_takes_its_level(Policy(), tp1_sized_by_broker=60)
    assert [(m.order_ref, m.stop_price) for m in moves] == [("T1:sl2", 10.0), ("T1:sl3", 10.0)]


@pytest.mark.xfail(strict=True, reason=OCA_PAIR_DISPUTED[("replacing", "leg_changed")][:90])
def test_a_target_that_takes_its_level_while_its_pair_is_replaced_moves_the_later_stops() -> None:
    # the broker sized tp1 at 100 and the policy replaces the pair: both legs are being cancelled
    # when tp1's fill of the whole level comes. The level is over by its target, as above; the
    # pair closes `closed_mixed` instead and the stops stay where they were
    moves = _milestone_moves_after_tp1_takes_its_level(Policy(quantity_mismatch=MismatchAction.REPLACE),
                                                       tp1_sized_by_broker=100)
    assert [(m.order_ref, m.stop_price) for m in moves] == [("T1:sl2", 10.0), ("T1:sl3", 10.0)]
