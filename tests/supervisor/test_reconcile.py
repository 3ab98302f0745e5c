"""Reconciliation with broker truth after a reconnect or a stalled submission."""

from __future__ import annotations

import attrs
from factories import execution, plan, replace_ok
from harness import Harness

from supervisor import events as ev
from supervisor.policy import CoverageAction, OrphanAction, Policy
from supervisor.port import (
    Action,
    BrokerTruth,
    CancelOrder,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    ModifyOrder,
    OpenOrder,
    OrderType,
    PlaceOrder,
    Position,
)


def open_order(h: Harness, leg: str, qty: int | None = None, filled: int = 0) -> OpenOrder:
    cmd = h.placed(leg)
    return OpenOrder(order_ref=cmd.order_ref, order_id=h.order_ids.get(cmd.order_ref), symbol=cmd.symbol,
                     action=cmd.action, order_type=cmd.order_type, quantity=qty or cmd.quantity, filled=filled,
                     limit_price=cmd.limit_price, stop_price=cmd.stop_price, oca_group=cmd.oca_group)


def ladder(h: Harness, tps: tuple[float, ...] = (11.0, 12.0)) -> None:
    h.settle(h.submit(plan(tps=tps)))
    h.settle(h.feed(execution("entry", 100, 10.0, "x-entry")))


def test_a_disconnect_during_which_the_stop_fills_and_tp1_is_cancelled_closes_from_executions_alone() -> None:
    h = Harness()
    ladder(h, tps=(11.0,))
    h.feed(ConnectionLost(time=0.0))
    assert {leg.state for leg in h.sup.trade("T1").legs if leg.name != "entry"} == {"unknown"}
    # while we were away: the stop filled 100, its OCA sibling TP1 was cancelled
    h.clock.advance(60)
    h.feed(ConnectionRestored(time=0.0))
    stop_fill = execution("sl1", 100, 8.95, "x-stop")
    truth = BrokerTruth(open_orders=(), positions=(Position(symbol="ABC", quantity=0),),
                        executions=(execution("entry", 100, 10.0, "x-entry"), stop_fill))
    commands = h.sup.reconcile(truth)
    trade = h.sup.trade("T1")
    assert commands == []
    assert (trade.state, trade.position) == ("closed", 0)
    assert (trade.leg("sl1").state, trade.leg("sl1").filled_qty) == ("filled", 100)
    assert trade.leg("tp1").state == "cancelled"
    assert trade.realized_pnl == -105.0
    [done] = h.of_type(ev.ReconciliationCompleted)
    assert (done.missed_executions, done.vanished, done.position_mismatches) == (1, 1, 0)
    # a live duplicate of the stop's execution arriving after the reconnect changes nothing
    h.feed(stop_fill)
    assert h.sup.trade("T1").position == 0


def test_legs_still_working_at_the_broker_leave_unknown() -> None:
    h = Harness()
    ladder(h)
    h.feed(ConnectionLost(time=0.0), ConnectionRestored(time=0.0))
    truth = BrokerTruth(open_orders=tuple(open_order(h, leg) for leg in ("tp1", "sl1", "tp2", "sl2")),
                        positions=(Position(symbol="ABC", quantity=100),))
    assert h.sup.reconcile(truth) == []
    assert {leg.name: leg.state for leg in h.sup.trade("T1").legs} == {
        "entry": "filled", "tp1": "working", "sl1": "working", "tp2": "working", "sl2": "working"}
    assert h.of_type(ev.CoverageGap) == []


def test_a_stalled_intent_the_broker_never_saw_is_sent_again_under_the_same_ref() -> None:
    h = Harness()
    [entry] = h.submit(plan())
    h.tick(3.0)
    assert [s.stage for s in h.of_type(ev.SubmissionStalled)] == ["send"]
    again = h.sup.reconcile(BrokerTruth())
    assert again == [entry]
    assert isinstance(entry, PlaceOrder)


def test_a_stalled_intent_the_broker_has_is_acknowledged_from_its_truth() -> None:
    h = Harness()
    h.submit(plan())
    h.tick(3.0)
    entry = open_order(h, "entry")
    assert h.sup.reconcile(BrokerTruth(open_orders=(entry,))) == []
    assert h.sup.trade("T1").leg("entry").state == "working"
    assert [r.stage for r in h.of_type(ev.SubmissionResolved)] == ["send"]


def test_exits_the_journal_lacks_are_rederived_from_missed_executions_and_matched_not_resent() -> None:
    """A crash between the ladder's send and the journal flush: the broker has exits we lack."""
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0,))))  # the entry is working; its fill and the exits were lost
    tp1 = OpenOrder(order_ref="T1:tp1", order_id=77, symbol="ABC", action=Action.SELL,
                    order_type=OrderType.LIMIT, quantity=100, limit_price=11.0, oca_group="T1:oca1")
    sl1 = OpenOrder(order_ref="T1:sl1", order_id=78, symbol="ABC", action=Action.SELL,
                    order_type=OrderType.STOP, quantity=100, stop_price=9.0, oca_group="T1:oca1")
    foreign = OpenOrder(order_ref="manual-123", order_id=88, symbol="ABC", action=Action.BUY,
                        order_type=OrderType.LIMIT, quantity=5, limit_price=9.5)
    truth = BrokerTruth(open_orders=(tp1, sl1, foreign), positions=(Position(symbol="ABC", quantity=100),),
                        executions=(execution("entry", 100, 10.0, "x-entry"),))
    commands = h.sup.reconcile(truth)
    assert commands == []  # no second ladder: the adopted one covers the position
    trade = h.sup.trade("T1")
    assert (trade.position, trade.stop_coverage, trade.state) == (100, 100, "protected")
    assert dict(trade.pairs) == {"pair1": "armed"}
    # the missed fill re-derives the same ladder (same orderRefs), which the broker already holds
    assert (trade.leg("tp1").order_id, trade.leg("sl1").order_id) == (77, 78)
    assert h.of_type(ev.OrderAdopted) == []
    assert [f.order_ref for f in h.of_type(ev.ForeignOrderSeen)] == ["manual-123"]
    [done] = h.of_type(ev.ReconciliationCompleted)
    assert (done.adopted, done.foreign, done.missed_executions) == (0, 1, 1)


def test_our_order_that_replay_cannot_derive_is_adopted() -> None:
    h = Harness()
    ladder(h, tps=(11.0,))
    h.feed(execution("tp1", 40, 11.0))
    ours = OpenOrder(order_ref="T1:estop3", order_id=90, symbol="ABC", action=Action.SELL,
                     order_type=OrderType.STOP, quantity=60, stop_price=9.0)
    truth = BrokerTruth(open_orders=(open_order(h, "tp1", qty=100, filled=40), ours),
                        positions=(Position(symbol="ABC", quantity=60),))
    h.sup.reconcile(truth)
    assert [(a.leg, a.order_id) for a in h.of_type(ev.OrderAdopted)] == [("estop3", 90)]
    trade = h.sup.trade("T1")
    assert trade.leg("estop3").state == "working"
    assert trade.stop_coverage == 60  # the adopted stop; sl1 was not at the broker any more


def test_an_adopted_exit_beyond_the_position_is_shrunk() -> None:
    h = Harness()
    ladder(h, tps=(11.0,))
    extra = OpenOrder(order_ref="T1:estop7", order_id=77, symbol="ABC", action=Action.SELL,
                      order_type=OrderType.STOP, quantity=10, stop_price=9.0)
    truth = BrokerTruth(open_orders=(open_order(h, "tp1"), open_order(h, "sl1"), extra),
                        positions=(Position(symbol="ABC", quantity=100),))
    commands = h.sup.reconcile(truth)
    assert CancelOrder(order_ref="T1:estop7", order_id=77) in commands
    assert [v.invariant for v in h.of_type(ev.InvariantViolated)] == ["reduce_only"]


def test_orphans_gaps_and_position_mismatches_are_reported_at_once() -> None:
    h = Harness(Policy(orphan_exits=OrphanAction.CANCEL))
    ladder(h)
    h.feed(execution("sl1", 70, 9.0), execution("sl2", 30, 9.0))
    truth = BrokerTruth(open_orders=(open_order(h, "tp1"), open_order(h, "tp2")),
                        positions=(Position(symbol="ABC", quantity=-20),))
    commands = h.sup.reconcile(truth)
    assert sorted(o.leg for o in h.of_type(ev.OrphanExitDetected)) == ["tp1", "tp2"]
    assert sorted(c.order_ref for c in commands if isinstance(c, CancelOrder)) == ["T1:tp1", "T1:tp2"]
    [mismatch] = h.of_type(ev.PositionMismatch)
    assert (mismatch.broker_position, mismatch.executed_position) == (-20, 0)


def test_a_coverage_gap_found_by_reconciliation_is_repaired_without_waiting() -> None:
    h = Harness()
    ladder(h, tps=(11.0,))
    truth = BrokerTruth(open_orders=(), positions=(Position(symbol="ABC", quantity=100),))
    commands = h.sup.reconcile(truth)  # both exits are gone at the broker
    # the level gets its stop and its target back, in its own OCA group
    assert [(c.order_ref, c.quantity, c.oca_group) for c in commands if isinstance(c, PlaceOrder)] == [
        ("T1:sl1~2", 100, "T1:oca1"), ("T1:tp1~2", 100, "T1:oca1")]
    assert [(r.leg, r.replaces) for r in h.of_type(ev.LegRestored)] == [("sl1~2", "sl1"), ("tp1~2", "tp1")]


def test_a_coverage_gap_under_policy_warn_is_only_reported() -> None:
    h = Harness(Policy(coverage_gaps=CoverageAction.WARN))
    ladder(h, tps=(11.0,))
    commands = h.sup.reconcile(BrokerTruth(positions=(Position(symbol="ABC", quantity=100),)))
    assert [c for c in commands if isinstance(c, PlaceOrder)] == []
    [gap] = h.of_type(ev.CoverageGap)
    assert gap.uncovered == 100


def _at(event: ExecutionReported, time: float) -> ExecutionReported:
    return attrs.evolve(event, time=time)


def test_a_position_closed_by_hand_while_away_ends_the_trade_and_its_exits_without_a_new_order() -> None:
    h = Harness()
    ladder(h)
    entered = h.clock.now
    h.feed(ConnectionLost(time=h.clock.now))
    h.clock.advance(300)  # meanwhile the operator sold the 100 shares in TWS
    h.feed(ConnectionRestored(time=h.clock.now))
    working = [open_order(h, leg) for leg in ("tp1", "sl1", "tp2", "sl2")]
    commands = h.sup.reconcile(BrokerTruth(
        open_orders=tuple(working), positions=(Position(symbol="ABC", quantity=0),),
        executions=(_at(execution("entry", 100, 10.0, "x-entry"), entered),), time=h.clock.now))
    h.settle(commands)
    assert not [c for c in h.commands if isinstance(c, PlaceOrder) and c.order_ref.split(":")[1] not in
                ("entry", "tp1", "sl1", "tp2", "sl2")], "nothing new is placed against a flat broker"
    assert {c.order_ref for c in commands if isinstance(c, CancelOrder)} == {o.order_ref for o in working}
    [outside] = h.of_type(ev.PositionClosedOutside)
    assert (outside.shares, outside.broker_position, outside.executed) == (100, 0, 100)
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position) == ("closed", 0)


def test_an_entry_executed_while_the_truth_was_asked_is_not_taken_for_shares_closed_outside() -> None:
    """IB answers positions first, executions next: a fill in between is in one and not the other."""
    h = Harness()
    ladder(h)
    h.feed(ConnectionLost(time=h.clock.now))
    h.clock.advance(60)
    h.feed(ConnectionRestored(time=h.clock.now))
    working = [open_order(h, leg) for leg in ("tp1", "sl1", "tp2", "sl2")]
    commands = h.sup.reconcile(BrokerTruth(
        open_orders=tuple(working), positions=(Position(symbol="ABC", quantity=0),),
        executions=(_at(execution("entry", 100, 10.0, "x-entry"), h.clock.now - 1.0),), time=h.clock.now))
    assert not [c for c in commands if isinstance(c, CancelOrder)]
    assert not h.of_type(ev.PositionClosedOutside)
    assert h.sup.trade("T1").position == 100


def test_shares_counted_outside_are_recounted_at_the_next_reconciliation() -> None:
    h = Harness()
    ladder(h, tps=(11.0,))
    entered = h.clock.now
    entry = _at(execution("entry", 100, 10.0, "x-entry"), entered)
    h.clock.advance(60)
    shrink = h.sup.reconcile(BrokerTruth(
        open_orders=(open_order(h, "tp1"), open_order(h, "sl1")), positions=(Position(symbol="ABC", quantity=40),),
        executions=(entry,), time=h.clock.now))
    assert h.sup.trade("T1").position == 40
    assert {c.order_ref: c.quantity for c in shrink if isinstance(c, ModifyOrder)} == {"T1:tp1": 40, "T1:sl1": 40}
    h.settle(shrink)
    h.settle(h.feed(replace_ok("tp1"), replace_ok("sl1")))
    h.clock.advance(60)  # the position was a broker's glitch: it holds 100 again
    grow = h.sup.reconcile(BrokerTruth(
        open_orders=(open_order(h, "tp1", 40), open_order(h, "sl1", 40)),
        positions=(Position(symbol="ABC", quantity=100),), executions=(entry,), time=h.clock.now))
    # the level's own legs grow back to its shares (no emergency stop beside them)
    assert {c.order_ref: c.quantity for c in grow if isinstance(c, ModifyOrder)} == {"T1:tp1": 100, "T1:sl1": 100}
    assert not [c for c in grow if isinstance(c, PlaceOrder)]
    h.feed(replace_ok("tp1"), replace_ok("sl1"))
    assert [e.shares for e in h.of_type(ev.PositionClosedOutside)] == [60, 0]
    trade = h.sup.trade("T1")
    assert (trade.position, trade.stop_coverage) == (100, 100)


def test_nothing_new_goes_out_while_the_link_is_down_and_the_gap_is_repaired_at_the_reconnect() -> None:
    """An order handed out while the link is down comes back refused (504): it would spend a repair
    or an emergency stop for nothing. The reconciliation after the reconnect repairs at once."""
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.feed(ConnectionLost(time=h.clock.now))
    during = h.feed(execution("entry", 100, 10.0, "x-entry"))  # its report arrives before the line drops
    during += h.tick(30.0)  # grace long past
    assert not [c for c in during if isinstance(c, PlaceOrder)]
    h.feed(ConnectionRestored(time=h.clock.now))
    after = h.sup.reconcile(BrokerTruth(positions=(Position(symbol="ABC", quantity=100),),
                                        executions=(execution("entry", 100, 10.0, "x-entry"),), time=h.clock.now))
    stops = [c for c in after if isinstance(c, PlaceOrder) and c.order_type is OrderType.STOP]
    assert sum(c.quantity for c in stops) == 100
    assert not h.of_type(ev.ProtectionFailed)
