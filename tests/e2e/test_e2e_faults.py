"""Every fault the simulated exchange can inject, end to end through runner and supervisor:
the supervisor notices it, reacts as DESIGN.md says, and the books still balance."""

from __future__ import annotations

from e2e_helpers import assert_books_balance, fills_by_leg, ladder, named

from broker.sim import FAULT_HELP, FaultName, SimConfig
from broker.sim_session import default_plan
from strategies.breakout import Trigger
from strategies.health import StaleBarIgnored
from supervisor.events import (
    CoverageGap,
    DuplicateExecutionIgnored,
    EmergencyStopPlaced,
    ExecutionCorrected,
    InvalidTransition,
    LateFill,
    LegRejected,
    LegRestored,
    OrderIntended,
    QuantityMismatch,
    ReconciliationCompleted,
    StatusFillMismatch,
    SubmissionResolved,
    SubmissionStalled,
    TradeAborted,
)
from supervisor.plan import ExitMode
from supervisor.policy import Policy

LADDER_FILLS = {"entry": 100, "tp1": 40, "tp2": 30, "tp3": 30}
COVERED = {"duplicate-executions", "reorder", "status-without-fill", "parent-sized-children", "late-fill",
           "drop-ack", "reject", "disconnect", "correction", "stall"}


def test_every_fault_of_the_sim_has_an_end_to_end_test_here() -> None:
    assert {name.value for name in FAULT_HELP} == COVERED
    assert {name.value for name in FaultName} == COVERED


def test_duplicate_executions_are_ignored_and_never_double_counted() -> None:
    result = ladder(["duplicate-executions"])
    duplicates = named(result, DuplicateExecutionIgnored)
    assert {d.leg for d in duplicates} == {"entry", "tp1", "tp2", "tp3"}  # every execution came twice
    assert fills_by_leg(result) == LADDER_FILLS
    assert result.trade.entry_filled == result.trade.exit_filled == 100
    assert_books_balance(result)
    assert result.ok


def test_reorder_counts_every_fill_and_loses_no_shares() -> None:
    result = ladder(["reorder"])
    assert fills_by_leg(result) == LADDER_FILLS
    # an acknowledgement after the fill is an echo the filled leg takes without moving
    assert named(result, InvalidTransition) == []
    assert_books_balance(result)
    assert result.ok


def test_status_without_fill_is_a_mismatch_and_counts_no_fill() -> None:
    result = ladder(["status-without-fill"])
    mismatches = named(result, StatusFillMismatch)
    assert {m.leg for m in mismatches} >= {"entry", "tp1", "sl1"}
    assert all(m.executed_qty == 0 and m.status_filled > 0 for m in mismatches)
    # the first mismatch (the entry's, before its execution) moved nothing
    first = mismatches[0]
    assert (first.leg, first.status_filled, first.executed_qty) == ("entry", 100, 0)
    assert fills_by_leg(result) == LADDER_FILLS  # exactly what executed, nothing from the statuses
    assert_books_balance(result)
    assert result.ok


def attached_two_level_plan():  # type: ignore[no-untyped-def]
    return default_plan(take_profits=(101.2, 101.7), allocation=(70, 30), exit_mode=ExitMode.ATTACHED)


def test_parent_sized_children_are_a_quantity_mismatch() -> None:
    result = ladder(["parent-sized-children"], plan=attached_two_level_plan())
    mismatches = {(m.leg, m.intended_qty, m.broker_qty, m.policy) for m in named(result, QuantityMismatch)}
    assert mismatches == {("tp1", 70, 100, "warn"), ("sl1", 70, 100, "warn"),
                          ("tp2", 30, 100, "warn"), ("sl2", 30, 100, "warn")}
    assert_books_balance(result)


def test_parent_sized_children_replaced_by_independent_exits_work_70_30_and_end_flat() -> None:
    result = ladder(["parent-sized-children"], plan=attached_two_level_plan(),
                    policy=Policy(quantity_mismatch="replace"))
    assert {m.policy for m in named(result, QuantityMismatch)} == {"replace"}
    trade = result.trade
    assert {leg.name: leg.state for leg in trade.legs if leg.name in ("tp1", "sl1", "tp2", "sl2")} == dict.fromkeys(
        ("tp1", "sl1", "tp2", "sl2"), "cancelled")
    replacements = [leg for leg in trade.legs if "~" in leg.name]
    assert {leg.name: leg.intended_qty for leg in replacements if leg.role == "take_profit"} == {
        "tp1~2": 70, "tp2~2": 30}
    assert {leg.name: leg.filled_qty for leg in replacements if leg.filled_qty} == {"tp1~2": 70, "tp2~2": 30}
    assert_books_balance(result)
    assert result.ok


def test_a_late_fill_after_a_cancel_is_applied_and_the_position_stays_right() -> None:
    # the entry fills 30 at a time; the bot cancels it after the first piece, and the fault fills
    # the rest just before the cancel lands (the confirmation overtakes the execution report)
    result = ladder(["late-fill"], config=SimConfig(max_fill_qty=30), cancel_after_first_fill=True)
    late = named(result, LateFill)
    assert [(f.leg, f.qty, f.state) for f in late] == [("entry", 70, "cancelled")]
    trade = result.trade
    assert trade.entry_filled == 100
    # the late shares went to the levels at once, as if they had come in time: the first level
    # grew to its 40, the levels that had been dropped got pairs of their own
    assert named(result, EmergencyStopPlaced) == []
    assert named(result, CoverageGap) == []
    assert {leg.name: leg.filled_qty for leg in trade.legs if leg.role == "take_profit" and leg.filled_qty} == {
        "tp1": 40, "tp2~2": 30, "tp3~2": 30}
    assert trade.position == result.sim_position == 0
    assert result.ok
    assert_books_balance(result)


def test_a_dropped_acknowledgement_stalls_then_reconciliation_resolves_it() -> None:
    result = ladder(["drop-ack@2"])  # the second order: SL1's acknowledgement never arrives
    stalls = named(result, SubmissionStalled)
    assert [(s.leg, s.stage) for s in stalls] == [("sl1", "ack")]
    assert [(r.leg, r.stage) for r in named(result, SubmissionResolved)] == [("sl1", "ack")]
    assert len(named(result, ReconciliationCompleted)) == result.reconciliations == 1
    assert fills_by_leg(result) == LADDER_FILLS
    assert result.ok


def test_a_rejected_entry_aborts_the_trade_and_places_nothing_else() -> None:
    result = ladder(["reject:201"])
    assert [(r.leg, r.code) for r in named(result, LegRejected)] == [("entry", 201)]
    assert [a.trade_id for a in named(result, TradeAborted)] == ["breakout"]
    assert [i.leg for i in named(result, OrderIntended)] == ["entry"]
    assert result.trade.state == "aborted"
    assert result.trade.position == result.sim_position == 0
    assert {leg.state for leg in result.trade.legs if leg.name != "entry"} == {"dropped"}  # never sent
    assert result.ok  # nothing was bought: the day ends as it must


def test_a_rejected_stop_is_restored_at_once_in_its_own_oca_group() -> None:
    result = ladder(["reject:201@2"])  # orders: 1 entry, 2 sl1, 3 tp1
    assert [(r.leg, r.code) for r in named(result, LegRejected)] == [("sl1", 201)]
    [restored] = named(result, LegRestored)
    assert (restored.leg, restored.replaces, restored.quantity) == ("sl1~2", "sl1", 40)
    assert named(result, CoverageGap) == []  # the shares never waited for a stop
    trade = result.trade
    assert trade.leg("sl1~2").state == "cancelled"  # by TP1's fill, in the OCA group it joined
    assert trade.position == result.sim_position == 0
    assert result.ok
    assert_books_balance(result)


def test_a_rejected_target_is_restored_and_the_level_still_takes_its_profit() -> None:
    result = ladder(["reject:201@3"])  # orders: 1 entry, 2 sl1, 3 tp1
    assert [(r.leg, r.code) for r in named(result, LegRejected)] == [("tp1", 201)]
    assert (result.trade.leg("tp1~2").filled_qty, result.trade.leg("tp1~2").limit_price) == (40, 101.2)
    assert fills_by_leg(result)["tp1~2"] == 40
    assert result.ok
    assert_books_balance(result)


def test_fills_made_during_a_disconnect_are_applied_after_reconnect_and_reconcile() -> None:
    # 4630 s after 09:30 is 10:47:10: the line is down for 30 s, across TP1's fill at 10:47:30
    result = ladder(["disconnect:4630"])
    reconciled = named(result, ReconciliationCompleted)
    assert [r.missed_executions for r in reconciled] == [1]
    assert result.reconciliations == 1
    assert fills_by_leg(result) == LADDER_FILLS
    assert result.trade.leg("sl1").state == "cancelled"  # its OCA sibling filled while we were away
    assert_books_balance(result)
    assert result.ok


def test_a_corrected_execution_updates_the_price_and_keeps_the_quantity() -> None:
    result = ladder(["correction"])  # the first execution (the entry's) is corrected one tick up
    corrections = named(result, ExecutionCorrected)
    assert [(c.leg, c.exec_id.endswith(".01.02"), c.qty, c.price, c.filled_qty) for c in corrections] == [
        ("entry", True, 100, 100.67, 100)]
    entry = result.trade.leg("entry")
    assert (entry.filled_qty, entry.avg_price) == (100, 100.67)
    assert fills_by_leg(result) == LADDER_FILLS
    assert_books_balance(result)
    assert result.ok


def test_a_bar_stall_over_the_breakout_delays_the_signal_and_nothing_is_held_unknown() -> None:
    # 2700 s after 09:30 is 10:15: the stream goes quiet until 10:30, across the breakout at 10:19.
    # The stall is noticed after 3 bar widths, the bars asked for again (3 attempts, then given up);
    # when they come back at 10:30 every withheld bar is stale and none reaches the watcher, which
    # fires on the first fresh bar. The exchange kept trading: that bar is already above the
    # entry's 100.70 limit, which never fills: the trade ends aborted, and nothing is held.
    plain, stalled = ladder(), ladder(["stall:2700:900"])
    assert isinstance(plain.signal, Trigger)
    assert isinstance(stalled.signal, Trigger)
    assert (plain.signal.price, stalled.signal.price) == (100.61, 100.85)
    assert stalled.signal.time - plain.signal.time == 10 * 60  # the bar ending 10:30, not 10:20
    kinds = [type(event).__name__ for event in stalled.health]
    assert kinds[:6] == ["BarStreamStalled"] + ["BarStreamRecoveryStarted"] * 3 + [
        "BarStreamRecoveryFailed", "BarStreamRecovered"]
    stale = [event for event in stalled.health if isinstance(event, StaleBarIgnored)]
    assert len(stale) == kinds.count("StaleBarIgnored") == 14  # the bars ending 10:16 .. 10:29
    assert all(event.bar_end < stalled.signal.time for event in stale)
    assert named(stalled, TradeAborted)
    assert stalled.trade.state == "aborted"
    assert stalled.trade.entry_filled == stalled.sim_position == 0
    assert_books_balance(stalled)
