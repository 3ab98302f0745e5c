"""Each behaviour round 1 was seen to break, as a test of the behaviour that replaced it.

The cases come from trying the first core as a new user would, with combined faults: a run that
never ended, refusals sent again forever, a broker left short, exits enlarged after an outage, a
real execution refused, legs sent that were never due, a crash on a second outage, a correction
lost, held children counted as protection, executions counted per leg, a status that raised a
mismatch before its execution could arrive, children left in cancel_requested by an expiry.
"""

from __future__ import annotations

from click.testing import CliRunner
from days import reversal
from e2e_helpers import named
from factories import accepted, cancel_rejected, cancelled, execution, plan, replace_refused, status
from harness import Harness

from broker.cli import main
from broker.sim import SimConfig
from broker.sim_session import DEFAULT_LEVEL, default_plan, run_breakout
from supervisor import events as ev
from supervisor.plan import ExitMode
from supervisor.policy import Policy
from supervisor.port import (
    BrokerTruth,
    CancelOrder,
    ConnectionLost,
    ConnectionRestored,
    ModifyOrder,
    OpenOrder,
    OrderType,
    PlaceOrder,
    Position,
)


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", "--quiet", *args])
    return result.exit_code, result.output


def test_an_attached_entry_rejected_at_once_ends_the_day_at_once() -> None:
    code, out = run_cli("--exit-mode", "attached", "--sim-fault", "reject:201@1")
    assert code == 3, out  # the broker refused the entry
    assert "OK: the broker refused the entry" in out
    assert "position: supervisor 0, broker 0" in out


def test_brokered_children_with_a_rejected_one_are_replaced_and_the_day_ends_flat() -> None:
    code, out = run_cli("--exit-mode", "attached", "--sim-fault", "parent-sized-children", "--sim-fault",
                        "reject:201@4", "--mismatch-policy", "replace")
    assert code == 0, out
    assert "OK: closed, flat, every leg final" in out


def test_refused_cancels_and_modifies_are_not_sent_again_on_a_timer() -> None:
    h = Harness(Policy(retry_backoff=0.0))
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(execution("tp1", 70, 11.0), cancelled("sl1"))  # a milestone: sl2 is repriced
    h.feed(replace_refused("sl2", code=104))
    h.sup.cancel("T1")  # nothing to cancel: the entry is filled
    sent_before = len(h.commands)
    for _ in range(50):
        h.tick(10.0)  # time alone never sends a command again
    assert len(h.commands) == sent_before
    h.feed(cancel_rejected("sl2"))  # a refusal of something never asked: counted nowhere
    assert [r.command for r in h.of_type(ev.CommandRefused)] == ["modify"]


def test_children_sized_to_the_parent_with_a_late_acknowledgement_leave_the_broker_flat() -> None:
    """The ladder stops out: the children the broker sized 100/100 were cut to 40/30/30 (one's
    acknowledgement never came: reconciliation found its size), so the stops sell 100, not 130."""
    result = run_breakout(default_plan(exit_mode=ExitMode.ATTACHED), DEFAULT_LEVEL, bars=reversal(),
                          faults=["parent-sized-children", "drop-ack@3"])
    assert result.sim_position == 0
    assert result.ok
    assert sum(leg.filled_qty for leg in result.trade.legs if leg.role == "stop") == 100


def test_after_an_outage_a_sibling_the_broker_reduced_is_not_enlarged_again() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0, "x-entry")))
    h.feed(ConnectionLost(time=0.0))
    h.feed(ConnectionRestored(time=0.0))
    # while we were away TP1 filled 30: the broker reduced SL1 to 70 through the OCA group
    sl1, tp1 = h.placed("sl1"), h.placed("tp1")
    truth = BrokerTruth(
        open_orders=(
            OpenOrder(order_ref=tp1.order_ref, order_id=h.order_ids[tp1.order_ref], symbol="ABC", action=tp1.action,
                      order_type=OrderType.LIMIT, quantity=100, filled=30, limit_price=11.0, oca_group="T1:oca1"),
            OpenOrder(order_ref=sl1.order_ref, order_id=h.order_ids[sl1.order_ref], symbol="ABC", action=sl1.action,
                      order_type=OrderType.STOP, quantity=70, filled=0, stop_price=9.0, oca_group="T1:oca1"),
        ),
        positions=(Position(symbol="ABC", quantity=70),),
        executions=(execution("entry", 100, 10.0, "x-entry"), execution("tp1", 30, 11.0, "x-tp1")),
    )
    commands = h.sup.reconcile(truth)
    assert not [c for c in commands if isinstance(c, ModifyOrder) and (c.quantity or 0) > 70]
    trade = h.sup.trade("T1")
    assert (trade.position, trade.stop_coverage) == (70, 70)


def test_a_real_execution_after_a_stale_acknowledgement_is_counted() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(accepted("entry", 10))  # an old openOrder echo, smaller than the order
    h.feed(execution("entry", 90, 10.0))
    h.feed(execution("entry", 10, 10.0))
    trade = h.sup.trade("T1")
    assert (trade.entry_filled, trade.leg("entry").state) == (100, "filled")
    assert named_h(h, ev.InvalidTransition) == []


def test_reconciliation_sends_nothing_that_was_not_due_and_nothing_twice() -> None:
    h = Harness()
    h.sup.arm(plan(exit_mode=ExitMode.ATTACHED))  # armed, never triggered: its children are idle
    for _ in range(2):  # two outages
        h.feed(ConnectionLost(time=0.0), ConnectionRestored(time=0.0))
        assert h.sup.reconcile(BrokerTruth()) == []
    h.sup.trigger("T1")
    h.tick(3.0)  # the intents never reached the broker: stalled at "send"
    first = h.sup.reconcile(BrokerTruth())
    assert sorted(c.order_ref for c in first if isinstance(c, PlaceOrder))[:1] == ["T1:entry"]
    h.tick(3.0)
    second = h.sup.reconcile(BrokerTruth())
    assert [c for c in second if isinstance(c, PlaceOrder)] == []  # sent again once, not twice


def test_a_reconnect_while_the_line_is_down_again_is_survived() -> None:
    code, out = run_cli("--sim-fault", "disconnect:1844", "--sim-fault", "disconnect:1860")
    assert code == 0, out
    assert "OK: closed, flat, every leg final" in out


def test_a_correction_lost_in_an_outage_is_fetched_after_it() -> None:
    # the entry's execution is corrected 30 s later, while the line is down (10:20:10-10:20:40)
    result = run_breakout(default_plan(), DEFAULT_LEVEL, faults=["correction@1", "disconnect:3010"],
                          config=SimConfig(correction_delay=30.0))
    [corrected] = named(result, ev.ExecutionCorrected)
    assert corrected.exec_id.endswith(".01.02")
    assert result.trade.entry_avg_price == corrected.price
    assert result.ok


def test_held_children_are_not_counted_as_protection() -> None:
    h = Harness()
    h.ack(h.submit(plan(tps=(11.0,), exit_mode=ExitMode.ATTACHED)))
    h.feed(execution("entry", 30, 10.0))  # the broker still holds the children: they protect nothing
    trade = h.sup.trade("T1")
    assert (trade.position, trade.stop_coverage, trade.ladder) == (30, 0, "detaching")
    assert sorted(h.cancels()) == ["sl1", "tp1"]  # held children cannot cover a part: detached exits will


def test_executions_are_counted_once_per_account_and_a_correction_may_come_first() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.feed(execution("entry", 60, 10.01, "0001.0002.01.02"))  # the correction, before its original
    h.feed(execution("entry", 60, 10.00, "0001.0002.01.01"))  # the original: stale
    h.feed(execution("entry", 40, 10.0, "0001.0003.01.01"))
    h.feed(execution("tp1", 40, 10.0, "0001.0003.01.01"))  # the same exec id on another order
    trade = h.sup.trade("T1")
    assert (trade.entry_filled, trade.exit_filled) == (100, 0)
    assert trade.entry_avg_price == (60 * 10.01 + 40 * 10.0) / 100
    assert len(named_h(h, ev.DuplicateExecutionIgnored)) == 2


def test_a_filled_status_before_its_execution_gets_the_grace_period() -> None:
    h = Harness()
    h.ack(h.submit(plan()))
    h.feed(status("entry", "Filled", 100, 0))  # IB's usual order: the status first
    assert named_h(h, ev.StatusFillMismatch) == []
    h.tick(1.0)
    h.feed(execution("entry", 100, 10.0))
    h.tick(5.0)
    assert named_h(h, ev.StatusFillMismatch) == []


def test_expiring_an_attached_trade_sends_nothing_and_leaves_no_leg_open() -> None:
    h = Harness()
    h.sup.arm(plan(exit_mode=ExitMode.ATTACHED))
    assert h.sup.expire("T1") == []
    trade = h.sup.trade("T1")
    assert trade.state == "aborted"
    assert {leg.name: leg.state for leg in trade.legs} == {
        "entry": "expired", "tp1": "dropped", "sl1": "dropped", "tp2": "dropped", "sl2": "dropped",
        "tp3": "dropped", "sl3": "dropped"}
    assert not [c for c in h.commands if isinstance(c, CancelOrder)]


def named_h(h: Harness, kind: type) -> list:  # type: ignore[type-arg]
    return h.of_type(kind)
