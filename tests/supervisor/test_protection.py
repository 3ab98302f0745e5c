"""Protection while the entry fills, the ladder built from executions, milestones, repairs, and the
supervisor's own robustness (idempotent submit, unknown orders, refused transitions)."""

from __future__ import annotations

from factories import accepted, cancel_rejected, cancelled, execution, plan, rejected, replace_ok, sent, status
from harness import Harness

from supervisor import events as ev
from supervisor.plan import Side
from supervisor.policy import Policy
from supervisor.port import (
    Action,
    CancelOrder,
    ConnectionLost,
    ExecutionReported,
    ModifyOrder,
    PlaceOrder,
    ReplaceAccepted,
    ReplaceRejected,
)


def placed(cmds: list) -> list[tuple[str, int]]:
    return [(c.order_ref.split(":")[1], c.quantity) for c in cmds if isinstance(c, PlaceOrder)]


def test_a_fill_in_one_piece_places_the_whole_ladder_at_once() -> None:
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0, 12.0, 13.0))))
    cmds = h.feed(execution("entry", 100, 10.0))
    assert placed(cmds) == [("sl1", 60), ("tp1", 60), ("sl2", 30), ("tp2", 30), ("sl3", 10), ("tp3", 10)]
    assert {c.oca_group for c in cmds} == {"T1:oca1", "T1:oca2", "T1:oca3"}
    assert all(c.oca_type == 3 for c in cmds)
    assert [c.order_ref for c in cmds if c.order_type.value == "STP"] == ["T1:sl1", "T1:sl2", "T1:sl3"]


def test_shares_in_pieces_are_covered_level_by_level_as_they_arrive() -> None:
    """No protective stop to hand over: each level's stop and target cover its shares at once and
    grow while the entry fills it, so the last piece costs no extra round trip."""
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0, 12.0, 13.0))))
    cmds = h.feed(execution("entry", 50, 10.0))
    assert placed(cmds) == [("sl1", 50), ("tp1", 50)]
    h.ack(cmds)
    assert h.sup.trade("T1").stop_coverage == 50
    cmds = h.feed(execution("entry", 50, 10.0))  # the rest: level 1 grows, levels 2 and 3 go
    assert [(c.order_ref, c.quantity) for c in cmds if isinstance(c, ModifyOrder)] == [
        ("T1:sl1", 60), ("T1:tp1", 60)]
    assert placed(cmds) == [("sl2", 30), ("tp2", 30), ("sl3", 10), ("tp3", 10)]
    assert not any(isinstance(c, CancelOrder) for c in cmds)
    h.feed(replace_ok("sl1"), replace_ok("tp1"))
    h.ack(cmds)
    assert h.sup.trade("T1").stop_coverage == 100
    assert [r.quantity for r in h.of_type(ev.ExitResized)] == [60, 60]


def test_a_grow_that_landed_after_a_sibling_fill_it_had_not_seen_is_shrunk_to_the_position() -> None:
    """IB reduces an OCA member by its sibling's fill; a modify that lands after that fill sets
    the member's size outright, so the reduction is lost. The target's execution, timed no later
    than the stop's acknowledgement, is inside the stop's acknowledged size: the stop is shrunk to
    the position at once, instead of outliving it (the exit that opened a position)."""
    h = Harness()
    h.ack(h.submit(plan(quantity=100, tps=(11.0,))))
    h.ack(h.feed(execution("entry", 50, 10.0)))  # sl1/tp1 work 50
    h.clock.advance(1.0)
    grow = h.feed(execution("entry", 50, 10.0))
    assert [(c.order_ref, c.quantity) for c in grow if isinstance(c, ModifyOrder)] == [("T1:sl1", 100), ("T1:tp1", 100)]
    # at the broker: tp1 executes 30 (sl1 reduced to 20), THEN the grow lands: sl1 works 100
    fill_time = h.clock.now
    h.clock.advance(0.2)
    h.feed(ReplaceAccepted(order_ref="T1:sl1", order_id=None, quantity=100, time=h.clock.now),
           ReplaceAccepted(order_ref="T1:tp1", order_id=None, quantity=100, time=h.clock.now))
    h.clock.advance(0.1)
    out = h.feed(ExecutionReported(order_ref="T1:tp1", order_id=None, exec_id="t1-a", action=Action.SELL,
                                   qty=30, price=11.0, time=fill_time))
    assert [(c.order_ref, c.quantity) for c in out if isinstance(c, ModifyOrder)] == [("T1:sl1", 70)]
    [violated] = h.of_type(ev.InvariantViolated)
    assert violated.invariant == "reduce_only"


def test_a_sibling_fill_after_the_acknowledgement_is_the_brokers_own_reduction() -> None:
    """The same execution timed well after the stop's acknowledgement: IB reduced the stop
    itself, nothing to shrink."""
    h = Harness()
    h.ack(h.submit(plan(quantity=100, tps=(11.0,))))
    h.ack(h.feed(execution("entry", 50, 10.0)))
    h.clock.advance(1.0)
    h.feed(execution("entry", 50, 10.0))
    h.feed(ReplaceAccepted(order_ref="T1:sl1", order_id=None, quantity=100, time=h.clock.now),
           ReplaceAccepted(order_ref="T1:tp1", order_id=None, quantity=100, time=h.clock.now))
    h.clock.advance(5.0)
    out = h.feed(ExecutionReported(order_ref="T1:tp1", order_id=None, exec_id="t1-a", action=Action.SELL,
                                   qty=30, price=11.0, time=h.clock.now))
    assert not [c for c in out if isinstance(c, ModifyOrder)]
    assert h.sup.trade("T1").stop_coverage == 70


def test_an_entry_that_ends_partially_filled_keeps_what_each_level_got() -> None:
    h = Harness()
    h.ack(h.submit(plan(quantity=100, tps=(11.0, 12.0, 13.0))))
    h.ack(h.feed(execution("entry", 5, 10.0)))
    assert h.sup.cancel("T1") == [CancelOrder(order_ref="T1:entry", order_id=1)]
    h.feed(cancelled("entry"))
    trade = h.sup.trade("T1")
    assert [(leg.name, leg.state) for leg in trade.legs if leg.name[-1] in "23"] == [
        ("tp2", "dropped"), ("sl2", "dropped"), ("tp3", "dropped"), ("sl3", "dropped")]
    assert dict(trade.pairs) == {"pair1": "armed", "pair2": "cancelled", "pair3": "cancelled"}
    assert trade.stop_coverage == 5


def test_a_stop_that_executes_while_the_entry_works_cancels_the_entry() -> None:
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0, 12.0))))
    h.ack(h.feed(execution("entry", 40, 10.0)))
    cmds = h.feed(execution("sl1", 40, 9.0))
    assert CancelOrder(order_ref="T1:entry", order_id=1) in cmds
    h.feed(cancelled("entry"), cancelled("tp1"))
    assert h.sup.trade("T1").state == "closed"


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
    assert (trade.state, trade.position, trade.working_orders, trade.milestones) == ("closed", 0, (), "second")
    assert [r.milestone for r in h.of_type(ev.StopRepriced)] == [0, 0, 1]
    [closed] = h.of_type(ev.TradeClosed)
    assert closed.realized_pnl == 60 * 1.0 + 30 * 2.0 + 10 * 3.0


def test_a_refused_reprice_keeps_the_old_stop_and_moves_it_on_a_later_fact() -> None:
    h = Harness(Policy(retry_backoff=1.0))
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(execution("tp1", 70, 11.0), cancelled("sl1"))  # IB cancels sl1 through the OCA group
    refused = ReplaceRejected(order_ref="T1:sl2", order_id=None, code=104, reason="busy")
    assert h.feed(refused) == []  # no retry on the refusal itself
    [failed] = h.of_type(ev.StopRepriceFailed)
    assert (failed.kept_price, failed.wanted_price) == (9.0, 10.0)
    assert h.sup.trade("T1").leg("sl2").stop_price == 9.0
    assert h.tick(5.0) == []  # time alone is no new fact
    cmds = h.feed(status("sl2", "Submitted", 0, 30))  # a word about the order, after the back-off
    assert cmds == [ModifyOrder(order_ref="T1:sl2", order_id=4, stop_price=10.0)]


def test_a_short_ladder_exits_with_buys_and_stops_above() -> None:
    h = Harness()
    h.settle(h.submit(plan(side=Side.SHORT, tps=(9.0, 8.0), stop=11.0)))
    h.settle(h.feed(execution("entry", 100, 10.0, action=Action.SELL)))
    tp1, sl1 = h.placed("tp1"), h.placed("sl1")
    assert (tp1.action, tp1.limit_price, sl1.action, sl1.stop_price) == (Action.BUY, 9.0, Action.BUY, 11.0)
    h.feed(execution("tp1", 70, 9.0, action=Action.BUY))
    assert h.sup.trade("T1").position == 30


def test_a_rejected_stop_is_restored_at_once_in_its_own_oca_group() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    cmds = h.feed(rejected("sl1", code=201))
    [new] = [c for c in cmds if isinstance(c, PlaceOrder)]
    assert (new.order_ref, new.quantity, new.oca_group, new.stop_price) == ("T1:sl1~2", 100, "T1:oca1", 9.0)
    [restored] = h.of_type(ev.LegRestored)
    assert (restored.leg, restored.replaces) == ("sl1~2", "sl1")
    h.ack(cmds)
    assert h.sup.trade("T1").stop_coverage == 100
    h.tick(5.0)
    assert h.of_type(ev.CoverageGap) == []


def test_a_stop_cancelled_beside_a_working_target_waits_for_the_fill_that_explains_it() -> None:
    """IB cancels the stop through the OCA group when the target filled; the fill's report may
    come after the cancel. Within the grace period nothing is placed; the fill then closes the level."""
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    assert h.feed(cancelled("sl1")) == []
    assert h.tick(1.0) == []
    h.feed(execution("tp1", 100, 11.0))
    h.tick(5.0)
    assert h.sup.trade("T1").state == "closed"
    assert h.of_type(ev.LegRestored) == []
    assert h.of_type(ev.EmergencyStopPlaced) == []


def test_a_stop_cancelled_with_no_fill_behind_it_is_restored_after_the_grace_period() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(cancelled("sl1", reason="unsolicited"))
    cmds = h.tick(2.5)
    assert [(c.order_ref, c.quantity) for c in cmds] == [("T1:sl1~2", 100)]
    [gap] = h.of_type(ev.CoverageGap)
    assert gap.uncovered == 100
    h.ack(cmds)
    assert h.sup.trade("T1").state == "protected"


def test_when_no_repair_is_left_an_emergency_stop_joins_the_targets_oca_group() -> None:
    """The level's stop is gone and no repair is left: its target still works the shares, so the
    emergency stop goes beside it in the level's OCA group (one exit for one share), and the level
    can still close by its target."""
    h = Harness(Policy(max_pair_repairs=0))
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(rejected("sl1"))
    assert h.sup.trade("T1").pairs == (("pair1", "exposed"),)
    cmds = h.tick(2.5)
    assert [(c.order_ref, c.quantity, c.oca_group, c.oca_type) for c in cmds if isinstance(c, PlaceOrder)] == [
        ("T1:estop1", 100, "T1:oca1", 3)]
    assert not [c for c in cmds if isinstance(c, CancelOrder)]  # the target stays
    h.ack(cmds)
    assert h.sup.trade("T1").stop_coverage == 100
    assert h.feed(execution("tp1", 100, 11.0)) == [CancelOrder(order_ref="T1:estop1", order_id=4)]
    h.feed(cancelled("estop1"))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.pairs, trade.position) == ("closed", (("pair1", "closed_by_tp"),), 0)


def test_emergency_stops_are_bounded_and_then_protection_failed_is_said() -> None:
    h = Harness(Policy(max_pair_repairs=0, max_emergency_stops=2))
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(rejected("sl1"))
    h.tick(2.5)
    assert [c.order_ref for c in h.feed(rejected("estop1")) if isinstance(c, PlaceOrder)] == ["T1:estop2"]
    assert h.feed(rejected("estop2")) == []
    [failed] = h.of_type(ev.ProtectionFailed)
    assert (failed.position, failed.stop_coverage) == (100, 0)
    assert len(h.of_type(ev.EmergencyStopPlaced)) == 2


def test_a_late_fill_on_an_exit_shrinks_the_exits_that_now_exceed_the_position() -> None:
    """An exposed level's target was cancelled too, and an emergency stop took its shares; then the
    target's fill that beat the cancel is reported: the stop now exceeds the position and shrinks."""
    h = Harness(Policy(max_pair_repairs=0))
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(rejected("sl1"))
    h.feed(cancelled("tp1"))
    cmds = h.tick(2.5)
    assert [(c.order_ref, c.quantity, c.oca_group) for c in cmds] == [("T1:estop1", 100, None)]
    h.ack(cmds)
    cmds = h.feed(execution("tp1", 20, 11.0))  # the cancel had lost the race
    assert h.sup.trade("T1").position == 80
    [violation] = [v for v in h.of_type(ev.InvariantViolated) if v.invariant == "reduce_only"]
    assert "by 20" in violation.detail
    assert cmds == [ModifyOrder(order_ref="T1:estop1", order_id=4, quantity=80)]
    assert h.feed(status("estop1", "Submitted", 0, 100)) == []  # shrinking already: nothing twice


def test_a_refused_cancel_is_counted_and_sent_again_only_after_a_new_fact() -> None:
    h = Harness(Policy(retry_backoff=0.0, max_cancel_retries=2))
    h.ack(h.submit(plan()))
    h.sup.cancel("T1")
    assert h.feed(cancel_rejected("entry")) == []
    assert h.tick(10.0) == []
    assert h.sup.trade("T1").leg("entry").cancel_refusals == 1
    [refused] = h.of_type(ev.CommandRefused)
    assert (refused.command, refused.code, refused.refusals) == ("cancel", 161, 1)
    assert h.sup.cancel("T1") == [CancelOrder(order_ref="T1:entry", order_id=1)]  # the caller's new fact
    h.feed(cancel_rejected("entry"))
    assert h.sup.cancel("T1") == []  # the limit
    [limit] = h.of_type(ev.RetryLimitReached)
    assert (limit.command, limit.refusals) == ("cancel", 2)


def test_submitting_the_same_trade_twice_returns_no_new_commands() -> None:
    h = Harness()
    assert len(h.submit(plan())) == 1
    assert h.submit(plan()) == []
    assert len(h.sup.trades()) == 1


def test_a_subscriber_reading_the_trade_while_the_trigger_settles_sends_the_entry_once() -> None:
    """A live table reads the trade from inside the supervisor's events: the trigger's entry,
    already handed out, is recorded, not handed out again."""
    h = Harness()
    h.sup.subscribe(lambda event: h.sup.trade("T1"))
    out = h.sup.arm(plan()) + h.sup.trigger("T1")
    out += h.sup.settle()
    assert [c.order_ref for c in out] == ["T1:entry"]
    assert not h.of_type(ev.InvariantViolated)
    assert h.sup.trade("T1").leg("entry").state == "pending"


def test_events_for_unknown_orders_are_reported_not_raised() -> None:
    h = Harness()
    assert h.feed(accepted("tp9", 10, trade_id="NOPE"), execution("x", 5, 10.0, trade_id="NOPE")) == []
    assert [(u.trade_id, u.leg, u.event_type) for u in h.of_type(ev.UnknownOrderEvent)] == [
        ("NOPE", "tp9", "OrderAccepted"), ("NOPE", "x", "ExecutionReported")]


def test_a_refused_transition_is_an_event_and_the_machine_keeps_its_state() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(sent("tp1"))  # nobody placed tp1: it is idle
    [invalid] = h.of_type(ev.InvalidTransition)
    assert (invalid.leg, invalid.state, invalid.event) == ("tp1", "idle", "transmit")
    assert h.sup.trade("T1").leg("tp1").state == "idle"


def test_executions_are_facts_an_overfill_is_counted_and_said() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(execution("entry", 80, 10.0))
    h.feed(execution("entry", 30, 10.0))
    assert h.sup.trade("T1").entry_filled == 110
    [overfill] = [v for v in h.of_type(ev.InvariantViolated) if v.invariant == "overfill"]
    assert "110 executed on an order of 100" in overfill.detail


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


def test_losing_the_connection_puts_live_legs_in_unknown_even_twice() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(ConnectionLost(time=0.0))
    h.feed(ConnectionLost(time=0.0))  # while already down
    assert h.sup.trade("T1").leg("entry").state == "unknown"
    assert h.of_type(ev.InvalidTransition) == []


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


def test_a_successor_pair_never_takes_the_name_of_a_restored_leg() -> None:
    """A level's restored stop is `sl1~2`; a pair the level gets later (shares that beat the
    entry's cancel) must not reuse that orderRef."""
    h = Harness()
    h.settle(h.submit(plan(quantity=10, tps=(11.0,))))
    h.settle(h.feed(execution("entry", 5, 10.0)))  # sl1/tp1 for 5
    h.feed(rejected("sl1"))  # the level's stop restored as sl1~2
    h.tick(5.0)
    h.settle([c for c in h.commands if c.order_ref == "T1:sl1~2"])
    h.sup.cancel("T1")
    h.feed(cancelled("entry"))
    h.feed(execution("tp1", 5, 11.0))  # the level is done
    h.feed(cancelled("sl1~2"))
    late = h.feed(execution("entry", 2, 10.0))  # a fill that beat the cancel
    refs = [c.order_ref for c in h.commands if isinstance(c, PlaceOrder)]
    assert len(refs) == len(set(refs)), refs
    assert {c.order_ref for c in late if isinstance(c, PlaceOrder)} == {"T1:sl1~3", "T1:tp1~3"}
