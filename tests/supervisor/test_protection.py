"""Protection while the entry fills, the ladder built from executions, milestones, and the
supervisor's own robustness (idempotent submit, unknown orders, refused transitions)."""

from __future__ import annotations

from factories import accepted, cancel_rejected, cancelled, execution, plan, rejected, replace_ok, sent
from harness import Harness

from supervisor import events as ev
from supervisor.plan import Side
from supervisor.port import Action, CancelOrder, ConnectionLost, ModifyOrder, PlaceOrder


def test_a_protective_stop_covers_fills_while_the_entry_is_still_working_and_is_resized() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    cmds = h.feed(execution("entry", 30, 10.0))
    assert [(c.order_ref, c.quantity, c.stop_price) for c in cmds if isinstance(c, PlaceOrder)] == [
        ("T1:pstop1", 30, 9.0)]
    h.ack(cmds)
    cmds = h.feed(execution("entry", 20, 10.0))
    assert cmds == [ModifyOrder(order_ref="T1:pstop1", order_id=2, quantity=50)]
    h.feed(replace_ok("pstop1"))
    assert h.sup.trade("T1").stop_coverage == 50
    assert [r.quantity for r in h.of_type(ev.ProtectiveStopResized)] == [50]


def test_the_ladder_waits_for_the_protective_stop_cancel_then_splits_what_executed() -> None:
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0, 12.0, 13.0))))
    h.ack(h.feed(execution("entry", 30, 10.0)))
    cmds = h.feed(execution("entry", 70, 10.0))  # entry complete
    assert cmds == [CancelOrder(order_ref="T1:pstop1", order_id=2)]
    cmds = h.feed(cancelled("pstop1"))
    placed = [(c.order_ref, c.quantity) for c in cmds if isinstance(c, PlaceOrder)]
    assert placed == [("T1:tp1", 60), ("T1:sl1", 60), ("T1:tp2", 30), ("T1:sl2", 30), ("T1:tp3", 10), ("T1:sl3", 10)]
    assert {c.oca_group for c in cmds if isinstance(c, PlaceOrder)} == {"T1:oca1", "T1:oca2", "T1:oca3"}
    assert all(c.oca_type == 3 for c in cmds if isinstance(c, PlaceOrder))


def test_a_protective_stop_that_filled_during_the_handover_shrinks_the_ladder() -> None:
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0, 12.0))))
    h.ack(h.feed(execution("entry", 40, 10.0)))
    h.feed(execution("entry", 60, 10.0))
    # the stop fired before the cancel reached it: it is gone, so the ladder goes at once
    cmds = h.feed(execution("pstop1", 40, 9.0, action=Action.SELL))
    assert [(c.order_ref, c.quantity) for c in cmds if isinstance(c, PlaceOrder)] == [
        ("T1:tp1", 42), ("T1:sl1", 42), ("T1:tp2", 18), ("T1:sl2", 18)]
    assert h.sup.trade("T1").stop_coverage == 60


def test_an_entry_that_ends_partially_filled_splits_the_ladder_from_what_filled() -> None:
    h = Harness()
    h.ack(h.submit(plan(quantity=100, tps=(11.0, 12.0, 13.0))))
    h.ack(h.feed(execution("entry", 5, 10.0)))
    h.sup.cancel("T1")
    h.feed(cancelled("entry"))
    cmds = h.feed(cancelled("pstop1"))
    assert [(c.order_ref, c.quantity) for c in cmds if isinstance(c, PlaceOrder)] == [
        ("T1:tp1", 3), ("T1:sl1", 3), ("T1:tp2", 2), ("T1:sl2", 2)]
    [dropped] = h.of_type(ev.LadderLevelDropped)
    assert dropped.level == 3
    [placed] = h.of_type(ev.ExitsPlaced)
    assert (placed.quantities, placed.dropped_levels) == ((3, 2, 0), (3,))


def test_milestones_reprice_later_stops_and_the_trade_closes_with_its_pnl() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0, 12.0, 13.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    cmds = h.feed(execution("tp1", 60, 11.0))
    assert sorted((c.order_ref, c.stop_price) for c in cmds if isinstance(c, ModifyOrder)) == [
        ("T1:sl2", 10.0), ("T1:sl3", 10.0)]
    h.feed(replace_ok("sl2"), replace_ok("sl3"), cancelled("sl1"))
    cmds = h.feed(execution("tp2", 30, 12.0))
    assert [(c.order_ref, c.stop_price) for c in cmds if isinstance(c, ModifyOrder)] == [("T1:sl3", 11.0)]
    h.feed(replace_ok("sl3"), cancelled("sl2"), execution("tp3", 10, 13.0), cancelled("sl3"))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position, trade.working_orders) == ("closed", 0, ())
    [closed] = h.of_type(ev.TradeClosed)
    assert closed.realized_pnl == 60 * 1.0 + 30 * 2.0 + 10 * 3.0


def test_a_short_ladder_exits_with_buys_and_stops_above() -> None:
    h = Harness()
    h.settle(h.submit(plan(side=Side.SHORT, tps=(9.0, 8.0), stop=11.0)))
    h.settle(h.feed(execution("entry", 100, 10.0, action=Action.SELL)))
    tp1, sl1 = h.placed("tp1"), h.placed("sl1")
    assert (tp1.action, tp1.limit_price, sl1.action, sl1.stop_price) == (Action.BUY, 9.0, Action.BUY, 11.0)
    h.feed(execution("tp1", 70, 9.0, action=Action.BUY))
    assert h.sup.trade("T1").position == 30


def test_coverage_gap_after_the_grace_period_places_an_emergency_stop() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(rejected("sl1", code=201))
    h.tick(1.0)
    assert h.of_type(ev.CoverageGap) == []
    assert h.tick(1.5) == [CancelOrder(order_ref="T1:tp1", order_id=2)]  # the orphaned TP goes first
    assert h.sup.trade("T1").state == "unprotected"
    cmds = h.feed(cancelled("tp1"))
    assert [(c.order_ref, c.quantity, c.oca_group) for c in cmds] == [
        ("T1:estop1", 100, "T1:ocaE1"), ("T1:etp1", 100, "T1:ocaE1")]
    h.ack(cmds)
    assert h.sup.trade("T1").state == "protected"


def test_a_take_profit_that_filled_unseen_gets_no_stop_beside_it() -> None:
    """The stop was cancelled by its OCA sibling's fill, whose report is still on its way."""
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(cancelled("sl1"))
    assert h.tick(2.5) == [CancelOrder(order_ref="T1:tp1", order_id=2)]
    h.feed(cancel_rejected("tp1"))  # 161: it had already filled
    assert h.tick(5.0) == []  # no stop, no second cancel: the shares are probably gone
    h.feed(execution("tp1", 100, 11.0))
    assert h.sup.trade("T1").state == "closed"
    assert h.of_type(ev.EmergencyStopPlaced) == []


def test_a_late_fill_on_an_exit_shrinks_the_exits_that_now_exceed_the_position() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.ack(h.feed(execution("entry", 40, 10.0)))
    h.feed(execution("entry", 60, 10.0))
    h.settle(h.feed(cancelled("pstop1")))  # ladder 70/30 for 100 shares
    cmds = h.feed(execution("pstop1", 20, 9.0, action=Action.SELL))  # the cancel had lost the race
    assert h.sup.trade("T1").position == 80
    assert cmds == [ModifyOrder(order_ref="T1:tp2", order_id=5, quantity=10),
                    ModifyOrder(order_ref="T1:sl2", order_id=6, quantity=10)]
    [violation] = [v for v in h.of_type(ev.InvariantViolated) if v.invariant == "reduce_only"]
    assert "by 20" in violation.detail
    assert h.feed(execution("tp1", 1, 11.0)) == []  # already shrinking: nothing twice


def test_submitting_the_same_trade_twice_returns_no_new_commands() -> None:
    h = Harness()
    assert len(h.submit(plan())) == 1
    assert h.submit(plan()) == []
    assert len(h.sup.trades()) == 1


def test_events_for_unknown_orders_are_reported_not_raised() -> None:
    h = Harness()
    assert h.feed(accepted("tp9", 10, trade_id="NOPE"), execution("x", 5, 10.0, trade_id="NOPE")) == []
    assert [(u.trade_id, u.leg, u.event_type) for u in h.of_type(ev.UnknownOrderEvent)] == [
        ("NOPE", "tp9", "OrderAccepted"), ("NOPE", "x", "ExecutionReported")]


def test_a_refused_transition_is_an_event_and_the_machine_keeps_its_state() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(replace_ok("entry"))  # nobody asked for a replace
    [invalid] = h.of_type(ev.InvalidTransition)
    assert (invalid.leg, invalid.state, invalid.event) == ("entry", "working", "replace_ack")
    assert h.sup.trade("T1").leg("entry").state == "working"


def test_an_overfill_is_refused_and_changes_nothing() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(execution("entry", 80, 10.0))
    h.feed(execution("entry", 30, 10.0))
    assert h.sup.trade("T1").entry_filled == 80
    [invalid] = h.of_type(ev.InvalidTransition)
    assert "past the order quantity 100" in invalid.detail


def test_duplicates_are_ignored_and_late_fills_after_the_cancel_are_applied() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    first = execution("entry", 30, 10.0, "dup-1")
    h.feed(first, first)
    assert [d.exec_id for d in h.of_type(ev.DuplicateExecutionIgnored)] == ["dup-1"]
    h.sup.cancel("T1")
    h.feed(cancelled("entry"), execution("entry", 10, 10.0, "after-cancel"))
    trade = h.sup.trade("T1")
    assert trade.entry_filled == 40
    assert trade.leg("entry").late_exec_ids == ("after-cancel",)
    assert [(f.exec_id, f.state) for f in h.of_type(ev.LateFill)] == [("after-cancel", "cancelled")]


def test_an_execution_on_the_wrong_side_is_an_invariant_violation_not_a_fill() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(execution("entry", 10, 10.0, action=Action.SELL))
    assert h.sup.trade("T1").entry_filled == 0
    assert [v.invariant for v in h.of_type(ev.InvariantViolated)] == ["execution_side"]


def test_exit_fills_beyond_entry_fills_are_an_invariant_violation() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(execution("tp1", 70, 11.0), execution("sl1", 70, 9.0))  # the OCA failed at the broker
    assert h.sup.trade("T1").position == -40
    assert "exit_fills_exceed_entry" in [v.invariant for v in h.of_type(ev.InvariantViolated)]


def test_losing_the_connection_puts_live_legs_in_unknown() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(ConnectionLost(time=0.0))
    assert h.sup.trade("T1").leg("entry").state == "unknown"


def test_latency_stamps_follow_the_order_path() -> None:
    h = Harness()
    h.sup.arm(plan())
    h.clock.advance(0.001)
    h.sup.trigger("T1", source_time=999.0)
    h.clock.advance(0.002)
    h.feed(sent("entry", 1))
    h.clock.advance(0.010)
    h.feed(accepted("entry", 100, 1))
    stamps = dict(h.sup.trade("T1").latency)
    assert stamps["trigger"] == 999.0
    assert stamps["intent"] < stamps["ack"]


def test_commissions_are_attached_to_their_trade_whichever_arrives_first() -> None:
    from supervisor.port import CommissionReported

    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(CommissionReported(exec_id="c-2", commission=0.35))  # before its execution
    h.feed(execution("entry", 60, 10.0, "c-1"), CommissionReported(exec_id="c-1", commission=0.30))
    h.feed(execution("entry", 40, 10.0, "c-2"))
    assert h.sup.trade("T1").commissions == 0.65
