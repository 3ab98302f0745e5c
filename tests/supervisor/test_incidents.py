"""The incidents of ../shared/seeds/, each replayed against the supervisor.

Each test is the broker conversation that once lost money or misled an audit, and what the
supervisor must do with it now.
"""

from __future__ import annotations

from factories import accepted, cancelled, execution, plan, sent, status
from harness import Harness

from supervisor import events as ev
from supervisor.plan import ExitMode
from supervisor.policy import MismatchAction, Policy
from supervisor.port import CancelOrder, PlaceOrder


def enter_fully(h: Harness, qty: int = 100, price: float = 10.0, **plan_kw: object) -> None:
    h.settle(h.submit(plan(quantity=qty, **plan_kw)))
    h.settle(h.feed(execution("entry", qty, price)))


def test_seed_70_30_ladder_sized_100_100_by_the_broker_is_a_mismatch_and_replace_splits_it() -> None:
    """JDZG: TP children intended 70/30 showed 100/100 at the broker (attached children)."""
    h = Harness(Policy(quantity_mismatch=MismatchAction.REPLACE))
    cmds = h.submit(plan(tps=(11.0, 12.0), exit_mode=ExitMode.ATTACHED))
    assert [c.quantity for c in cmds if isinstance(c, PlaceOrder)] == [100, 70, 70, 30, 30]
    # the broker sizes every child to the parent
    after_ack = h.ack(cmds, qty={"tp1": 100, "sl1": 100, "tp2": 100, "sl2": 100})
    mismatches = h.of_type(ev.QuantityMismatch)
    assert {(m.leg, m.intended_qty, m.broker_qty) for m in mismatches} == {
        ("tp1", 70, 100), ("sl1", 70, 100), ("tp2", 30, 100), ("sl2", 30, 100)}
    # policy replace: every wrongly sized child is cancelled before the parent fills
    assert sorted(c.order_ref for c in after_ack if isinstance(c, CancelOrder)) == [
        "T1:sl1", "T1:sl2", "T1:tp1", "T1:tp2"]
    h.feed(*(cancelled(leg) for leg in ("tp1", "sl1", "tp2", "sl2")))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    trade = h.sup.trade("T1")
    working = {leg.name: leg.intended_qty for leg in trade.legs if leg.state == "working"}
    assert working == {"tp1~2": 70, "sl1~2": 70, "tp2~2": 30, "sl2~2": 30}
    # TP1 marketable at once now takes exactly its 70
    h.feed(execution("tp1~2", 70, 11.0))
    assert h.sup.trade("T1").position == 30


def test_seed_70_30_with_policy_warn_reports_and_keeps_the_orders() -> None:
    h = Harness()
    cmds = h.submit(plan(tps=(11.0, 12.0), exit_mode=ExitMode.ATTACHED))
    h.ack(cmds, qty={"tp1": 100})
    [mismatch] = h.of_type(ev.QuantityMismatch)
    assert (mismatch.leg, mismatch.intended_qty, mismatch.broker_qty, mismatch.policy) == ("tp1", 70, 100, "warn")
    assert h.cancels() == []


def test_seed_child_filled_status_with_zero_shares_counts_nothing_and_raises_a_mismatch() -> None:
    """ATCH: child status said Filled while filled_qty was 0."""
    h = Harness()
    enter_fully(h)
    before = h.sup.trade("T1")
    h.feed(status("tp1", "Filled", filled=60, remaining=0))
    after = h.sup.trade("T1")
    assert after.leg("tp1").filled_qty == 0
    assert after.leg("tp1").state == "working"
    assert after.position == before.position == 100
    # IB sends the status before the execution it describes: the claim gets the grace period
    h.tick(1.0)
    assert h.of_type(ev.StatusFillMismatch) == []
    h.tick(1.5)
    [mismatch] = h.of_type(ev.StatusFillMismatch)
    assert (mismatch.leg, mismatch.status_filled, mismatch.executed_qty) == ("tp1", 60, 0)


def test_status_running_ahead_of_executions_is_a_mismatch_only_after_the_grace_period() -> None:
    h = Harness()
    enter_fully(h)
    h.feed(execution("tp1", 20, 11.0), status("tp1", "Submitted", filled=40, remaining=20))
    h.tick(1.0)
    assert h.of_type(ev.StatusFillMismatch) == []
    h.tick(1.5)
    [mismatch] = h.of_type(ev.StatusFillMismatch)
    assert (mismatch.status_filled, mismatch.executed_qty) == (40, 20)
    assert h.sup.trade("T1").leg("tp1").filled_qty == 20


def test_status_that_executions_catch_up_with_is_no_mismatch() -> None:
    h = Harness()
    enter_fully(h)
    h.feed(status("tp1", "Submitted", filled=40, remaining=20))
    h.feed(execution("tp1", 40, 11.0))
    h.tick(5.0)
    assert h.of_type(ev.StatusFillMismatch) == []


def test_seed_an_exit_that_would_open_a_fresh_position_is_blocked() -> None:
    """ES postmortem: an 'exit' without reduce-only opened a new, unprotected position."""
    h = Harness()
    enter_fully(h, tps=(11.0,))
    # the stop filled the whole position; TP1 is still working until its OCA cancel arrives
    h.feed(execution("sl1", 100, 9.0))
    assert h.sup.trade("T1").position == 0
    # a coverage check now must not place anything: there is nothing to protect
    h.tick(10.0)
    assert h.of_type(ev.EmergencyStopPlaced) == []
    # and an exit that exceeds the position is refused at the source
    from supervisor.orders import emergency_leg

    trade = h.core._trades["T1"]
    assert not h.core.desk.place(trade, emergency_leg(trade, 9, 100))
    [blocked] = h.of_type(ev.ExitBlocked)
    assert (blocked.position, blocked.quantity) == (0, 100)


def test_seed_an_interrupted_send_is_reported_stalled_then_resolved() -> None:
    """A task cancelled mid-submission left an intent that never reached the socket."""
    h = Harness()
    cmds = h.submit(plan())
    assert [c.order_ref for c in cmds] == ["T1:entry"]
    h.tick(2.5)  # no OrderSent within the send deadline
    [stalled] = h.of_type(ev.SubmissionStalled)
    assert (stalled.leg, stalled.stage) == ("entry", "send")
    # the shell re-sends the same orderRef (idempotent) and the send now arrives
    h.feed(sent("entry", 7))
    [resolved] = h.of_type(ev.SubmissionResolved)
    assert (resolved.leg, resolved.stage) == ("entry", "send")
    h.tick(6.0)  # sent but never acknowledged
    assert [(s.leg, s.stage) for s in h.of_type(ev.SubmissionStalled)] == [("entry", "send"), ("entry", "ack")]
    h.feed(accepted("entry", 100, 7))
    assert [r.stage for r in h.of_type(ev.SubmissionResolved)] == ["send", "ack"]


def test_seed_tp1_marketable_at_once_takes_exactly_the_tp1_quantity() -> None:
    h = Harness()
    enter_fully(h, tps=(11.0, 12.0, 13.0))
    h.feed(execution("tp1", 60, 11.0))  # TP1 was marketable: filled the moment it arrived
    trade = h.sup.trade("T1")
    assert trade.position == 40
    assert trade.leg("tp1").filled_qty == 60
    assert {leg.name: leg.state for leg in trade.legs if leg.name in ("tp2", "tp3", "sl2", "sl3")} == {
        "tp2": "working", "tp3": "working", "sl2": "replace_requested", "sl3": "replace_requested"}
    assert trade.stop_coverage == 40


def test_seed_exits_left_working_after_the_position_reached_zero_are_orphans() -> None:
    h = Harness()
    enter_fully(h, tps=(11.0, 12.0))
    h.feed(execution("sl1", 70, 9.0), execution("sl2", 30, 9.0))  # the stops took everything
    assert h.sup.trade("T1").position == 0
    h.tick(1.0)
    assert h.of_type(ev.OrphanExitDetected) == []  # OCA cancels may still be on their way
    h.tick(1.5)
    assert sorted(o.leg for o in h.of_type(ev.OrphanExitDetected)) == ["tp1", "tp2"]
    assert sorted(h.cancels()) == ["tp1", "tp2"]  # policy cancel, the default


def test_orphans_are_only_reported_under_policy_warn() -> None:
    from supervisor.policy import OrphanAction

    h = Harness(Policy(orphan_exits=OrphanAction.WARN))
    enter_fully(h, tps=(11.0, 12.0))
    h.feed(execution("sl1", 70, 9.0), execution("sl2", 30, 9.0))
    h.tick(3.0)
    assert sorted(o.leg for o in h.of_type(ev.OrphanExitDetected)) == ["tp1", "tp2"]
    assert h.cancels() == []


def test_orphans_are_cancelled_under_policy_cancel() -> None:
    from supervisor.policy import OrphanAction

    h = Harness(Policy(orphan_exits=OrphanAction.CANCEL))
    enter_fully(h, tps=(11.0, 12.0))
    h.feed(execution("sl1", 70, 9.0), execution("sl2", 30, 9.0))
    h.tick(3.0)
    assert sorted(h.cancels()) == ["tp1", "tp2"]
