"""`order-supervisor reconcile`: a clean one-shot report on the simulated exchange rebuilt from the
journal, and orphans and foreign orders found on a prepared exchange, cancelled only when confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import QUICK, assert_clean_exit, invoke

from broker.audit import read_journal
from broker.cli import brokers
from broker.sim import load_bars
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day
from supervisor.clock import ManualClock
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import Side, TradePlan
from supervisor.port import Action, CancelOrder, ExecutionReported, OrderAccepted, OrderSent, OrderType, PlaceOrder

BARS = load_bars(bundled_day())


def test_a_run_stopped_mid_day_agrees_with_the_rebuilt_exchange(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *QUICK, "--journal", str(journal), "--until", "11:00"), 0)
    result = invoke("reconcile", "--journal", str(journal))
    assert_clean_exit(result, 0)
    assert "broker: 4 open orders, 1 positions, 2 executions; journal: 1 trades" in result.output
    assert "orphans=0" in result.output
    assert result.output.strip().splitlines()[-1] == "OK: the broker agrees with the journal"


def stop_filled_but_target_missed(path: Path) -> None:
    """A journal whose stop filled while its target's OCA cancel never arrived: tp1 looks working.
    (Order ids from 501: the prepared exchange numbers its own orders from 1.)"""
    clock = ManualClock(BARS[60].time)
    recorder = JournalRecorder.open(path, clock)
    recorder.arm(TradePlan(trade_id="t1", symbol="SIM", side=Side.LONG, quantity=100, entry_price=100.7,
                           take_profits=(101.2,), stop_losses=(99.95,)))
    recorder.trigger("t1")
    recorder.handle(OrderSent("t1:entry", 501, clock.now))
    recorder.handle(OrderAccepted("t1:entry", 501, 100, limit_price=100.7, time=clock.now))
    exits = recorder.handle(ExecutionReported("t1:entry", 501, "e1", Action.BUY, 100, 100.66, clock.now))
    for number, command in enumerate(c for c in exits if isinstance(c, PlaceOrder)):
        recorder.handle(OrderSent(command.order_ref, 502 + number, clock.now))
        recorder.handle(OrderAccepted(command.order_ref, 502 + number, command.quantity, command.limit_price,
                                      command.stop_price, clock.now))
    clock.advance(600)
    recorder.handle(ExecutionReported("t1:sl1", 503, "e2", Action.SELL, 100, 99.95, clock.now))
    recorder.close()


def prepared(monkeypatch: pytest.MonkeyPatch) -> SimExchange:
    """The exchange the command will query: it still works t1:tp1, and someone else's order."""
    exchange = SimExchange(BARS, symbols=("SIM",))
    for _ in range(4 * 70):
        exchange.step()
    exchange.execute(PlaceOrder("t1:tp1", "SIM", Action.SELL, OrderType.LIMIT, 100, limit_price=101.2))
    exchange.execute(PlaceOrder("manual:1", "SIM", Action.BUY, OrderType.LIMIT, 5, limit_price=90.0))
    exchange.poll()

    def connect(choice: brokers.BrokerChoice) -> brokers.SimConnection:
        return brokers.SimConnection(exchange, {"broker": "sim"}, fresh=False)

    monkeypatch.setattr(brokers, "connect", connect)
    return exchange


def test_orphans_and_foreign_orders_are_reported_and_nothing_is_sent(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "j.sqlite"
    stop_filled_but_target_missed(journal)
    exchange = prepared(monkeypatch)
    before = len(read_journal(journal))
    result = invoke("reconcile", "--journal", str(journal))
    assert_clean_exit(result, 4)
    assert "tp1    OrphanExitDetected" in result.output
    assert "ForeignOrderSeen" in result.output
    assert "manual:1" in result.output
    assert "FOUND: ForeignOrderSeen, OrphanExitDetected" in result.output
    assert len(read_journal(journal)) == before  # a report writes nothing
    assert {o.order_ref for o in exchange.query().open_orders} == {"t1:tp1", "manual:1"}


def test_cancel_orphans_asks_first_and_sends_only_the_orphans_cancel(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "j.sqlite"
    stop_filled_but_target_missed(journal)
    exchange = prepared(monkeypatch)
    declined = invoke("reconcile", "--journal", str(journal), "--cancel-orphans", input="n\n")
    assert_clean_exit(declined, 4)
    assert "cancel 1 orphan exits (t1:tp1)? [y/N]" in declined.output
    assert "nothing sent" in declined.output
    assert len(exchange.query().open_orders) == 2
    confirmed = invoke("reconcile", "--journal", str(journal), "--cancel-orphans", "--yes")
    assert "sent: cancel t1:tp1" in confirmed.output
    assert "cancelled: t1:tp1" in confirmed.output
    assert {o.order_ref for o in exchange.query().open_orders} == {"manual:1"}  # a foreign order is left alone
    sent = [r.value for r in read_journal(journal) if r.kind == "command"]
    assert [c.order_ref for c in sent if isinstance(c, CancelOrder)] == ["t1:tp1"]


def test_bad_input_and_an_unreachable_broker(tmp_path: Path) -> None:
    missing = invoke("reconcile", "--journal", str(tmp_path / "none.sqlite"))
    assert_clean_exit(missing, 2)
    assert "no such journal" in missing.output
    journal = tmp_path / "j.sqlite"
    stop_filled_but_target_missed(journal)
    ib = invoke("reconcile", "--journal", str(journal), "--broker", "ib")
    assert_clean_exit(ib, 3)
