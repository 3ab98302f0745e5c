"""The FIX order-state change matrix cases that apply to IB, each driven through the supervisor.

Each case is the broker's side of the conversation after our request; the assertions are the
leg's state and quantities from executions only.
"""

from __future__ import annotations

from factories import (
    accepted,
    cancel_rejected,
    cancelled,
    execution,
    plan,
    replace_ok,
    replace_refused,
    sent,
)
from harness import Harness

from supervisor import events as ev
from supervisor.port import CancelOrder


def working_entry(h: Harness, qty: int = 100) -> None:
    h.ack(h.submit(plan(quantity=qty)))


def test_cancel_of_a_zero_filled_order() -> None:
    h = Harness()
    working_entry(h)
    assert h.sup.cancel("T1") == [CancelOrder(order_ref="T1:entry", order_id=1)]
    assert h.sup.trade("T1").leg("entry").state == "cancel_requested"
    h.feed(cancelled("entry"))
    trade = h.sup.trade("T1")
    assert (trade.leg("entry").state, trade.state, trade.position) == ("cancelled", "aborted", 0)
    assert [e.reason for e in h.of_type(ev.TradeAborted)] == ["entry ended cancelled"]


def test_cancel_of_a_partially_filled_order_with_fills_while_the_cancel_is_pending() -> None:
    h = Harness()
    working_entry(h)
    h.feed(execution("entry", 30, 10.0))
    h.sup.cancel("T1")
    h.feed(execution("entry", 20, 10.0, "late-1"))  # the exchange filled more before the cancel landed
    h.feed(cancelled("entry"))
    trade = h.sup.trade("T1")
    assert trade.leg("entry").state == "cancelled"
    assert trade.entry_filled == trade.position == 50
    assert [(f.exec_id, f.state) for f in h.of_type(ev.LateFill)] == [("late-1", "cancel_requested")]


def test_a_fill_that_beats_the_cancel() -> None:
    h = Harness()
    working_entry(h)
    h.sup.cancel("T1")
    h.feed(execution("entry", 100, 10.0))
    h.feed(cancel_rejected("entry"))  # IB 161: nothing left to cancel
    trade = h.sup.trade("T1")
    assert trade.leg("entry").state == "filled"
    assert trade.position == 100
    assert h.of_type(ev.InvalidTransition) == []


def test_cancel_of_an_unacknowledged_order() -> None:
    h = Harness()
    h.submit(plan())
    h.feed(sent("entry", 1))
    h.sup.cancel("T1")
    h.feed(cancelled("entry"))
    assert h.sup.trade("T1").leg("entry").state == "cancelled"


def test_cancel_of_an_intent_not_yet_written_follows_it_by_order_ref() -> None:
    h = Harness()
    h.submit(plan())
    assert h.sup.cancel("T1") == [CancelOrder(order_ref="T1:entry", order_id=None)]
    h.feed(sent("entry", 1), cancelled("entry"))
    assert h.sup.trade("T1").leg("entry").state == "cancelled"


def test_acknowledgement_crossing_the_cancel() -> None:
    h = Harness()
    h.submit(plan())
    h.feed(sent("entry", 1))
    h.sup.cancel("T1")
    h.feed(accepted("entry", 100, 1))  # the ack was already on its way
    assert h.sup.trade("T1").leg("entry").state == "cancel_requested"
    h.feed(cancelled("entry"))
    assert h.sup.trade("T1").leg("entry").state == "cancelled"
    assert h.of_type(ev.InvalidTransition) == []


def ladder(h: Harness) -> None:
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))


def test_replace_rejected_because_of_a_fill() -> None:
    h = Harness()
    ladder(h)
    h.feed(execution("tp1", 70, 11.0))  # milestone: SL2 is repriced to break-even
    assert h.sup.trade("T1").leg("sl2").state == "replace_requested"
    h.feed(execution("sl2", 30, 9.0))  # ...but the old stop fills first
    h.feed(replace_refused("sl2", code=104))
    trade = h.sup.trade("T1")
    assert trade.leg("sl2").state == "filled"
    assert trade.position == 0
    [failed] = h.of_type(ev.StopRepriceFailed)
    assert (failed.leg, failed.wanted_price, failed.kept_price) == ("sl2", 10.0, 9.0)


def test_replace_rejected_keeps_the_old_stop_working() -> None:
    h = Harness()
    ladder(h)
    h.feed(execution("tp1", 70, 11.0))
    h.feed(replace_refused("sl2"))
    trade = h.sup.trade("T1")
    assert (trade.leg("sl2").state, trade.leg("sl2").stop_price) == ("working", 9.0)
    assert trade.leg("sl2").replace_refusals == 1
    assert trade.stop_coverage == trade.position == 30


def test_replace_of_a_partially_filled_order() -> None:
    h = Harness()
    ladder(h)
    h.feed(execution("tp1", 70, 11.0))
    h.feed(execution("sl2", 10, 9.5))  # part of the stop filled while the reprice was in flight
    h.feed(replace_ok("sl2"))
    trade = h.sup.trade("T1")
    sl2 = trade.leg("sl2")
    assert (sl2.state, sl2.stop_price, sl2.filled_qty) == ("partially_filled", 10.0, 10)
    assert [(r.leg, r.old_price, r.new_price, r.milestone) for r in h.of_type(ev.StopRepriced)] == [
        ("sl2", 9.0, 10.0, 0)]


def test_unsolicited_cancel_of_a_partially_filled_order() -> None:
    h = Harness()
    ladder(h)
    h.feed(execution("sl2", 10, 9.0))
    h.feed(cancelled("sl2", reason="exchange cancelled"))  # nobody asked
    trade = h.sup.trade("T1")
    assert trade.leg("sl2").state == "cancelled"
    assert trade.position == 90
    # TP2 still works: a cancel beside a working sibling may be its OCA fill, still on its way
    assert h.tick(1.0) == []
    # past the grace period: a gap, and the level gets its stop back in its own OCA group
    cmds = h.tick(1.5)
    assert [(c.order_ref, c.quantity, c.oca_group) for c in cmds] == [("T1:sl2~2", 20, "T1:oca2")]
    [gap] = h.of_type(ev.CoverageGap)
    assert (gap.position, gap.stop_coverage, gap.uncovered) == (90, 70, 20)
