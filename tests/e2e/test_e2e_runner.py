"""The runner on the simulated exchange: pump delivers everything and executes every command,
reconciles after a reconnect and after a stalled submission, and `run()` loops under asyncio."""

from __future__ import annotations

import asyncio

from sim.sim_helpers import flat

from broker.sim import SimBroker, SimConfig
from supervisor.core import Supervisor
from supervisor.events import (
    LegFilled,
    ReconciliationCompleted,
    SubmissionStalled,
    SupervisorEvent,
    TradeClosed,
)
from supervisor.plan import EntryType, Side, TradePlan
from supervisor.port import BrokerEvent, BrokerTruth, Command
from supervisor.runner import Runner


def market_plan(trade_id: str = "t1") -> TradePlan:
    return TradePlan(trade_id=trade_id, symbol="SIM", side=Side.LONG, quantity=10, entry_price=100.0,
                     entry_type=EntryType.MARKET, take_profits=(100.5,), stop_losses=(99.0,))


def test_pump_hands_every_event_over_and_executes_every_command() -> None:
    sim = SimBroker(flat(5, 100.0) + flat(5, 100.6, start=flat(5)[-1].end))
    sup = Supervisor(sim.now)
    seen: list[SupervisorEvent] = []
    runner = Runner(sup, sim, on_event=seen.append)
    runner.execute(sup.submit(market_plan()))
    assert runner.pump() == 3  # OrderSent, OrderAccepted and its StatusObserved
    while sim.step():
        runner.pump()
    runner.pump()
    trade = sup.trade("t1")
    assert (trade.state, trade.position, sim.position()) == ("closed", 0, 0)
    assert [e.leg for e in seen if isinstance(e, LegFilled)] == ["entry", "tp1"]
    assert runner.pump() == 0  # nothing left


class CountingSupervisor:
    """A wrapper with the supervisor's method set (as the journal recorder is): counts reconciles."""

    def __init__(self, inner: Supervisor) -> None:
        self.inner = inner
        self.truths: list[BrokerTruth] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def reconcile(self, truth: BrokerTruth) -> list[Command]:
        self.truths.append(truth)
        return self.inner.reconcile(truth)

    def handle(self, event: BrokerEvent) -> list[Command]:
        return self.inner.handle(event)


def test_a_reconnect_is_followed_by_a_reconcile_with_the_broker_truth() -> None:
    sim = SimBroker(flat(20, 100.0), faults=["disconnect:120"], config=SimConfig(outage_seconds=60))
    sup = CountingSupervisor(Supervisor(sim.now))
    runner = Runner(sup, sim)  # type: ignore[arg-type]
    runner.execute(sup.inner.submit(market_plan()))
    while sim.step():
        runner.pump()
    assert len(sup.truths) == runner.reconciliations == 1
    assert sup.truths[0].time >= sim.bars[0].time + 180.0  # asked once the line was back (120 s + 60 s)
    assert [type(e) for e in sup.inner.drain_events() if isinstance(e, ReconciliationCompleted)] == [
        ReconciliationCompleted]


def test_a_stalled_submission_is_followed_by_a_reconcile() -> None:
    sim = SimBroker(flat(20, 100.0), faults=["drop-ack"])  # the entry's acknowledgement is lost
    sup = Supervisor(sim.now)
    events: list[SupervisorEvent] = []
    runner = Runner(sup, sim, on_event=events.append)
    plan = TradePlan(trade_id="t1", symbol="SIM", side=Side.LONG, quantity=10, entry_price=99.0,
                     take_profits=(100.5,), stop_losses=(98.0,))  # a limit below the market: it rests
    runner.execute(sup.submit(plan))
    for _ in range(4):
        sim.step()
        runner.pump()
    assert [(e.leg, e.stage) for e in events if isinstance(e, SubmissionStalled)] == [("entry", "ack")]
    assert runner.reconciliations == 1
    assert sup.trade("t1").leg("entry").state == "working"  # the broker's open order settled it


class SteppingSim:
    """A live-adapter stand-in: every poll, time has moved on (the sim advances one price point)."""

    def __init__(self, sim: SimBroker) -> None:
        self.sim = sim

    def execute(self, command: Command) -> None:
        self.sim.execute(command)

    def poll(self) -> list[BrokerEvent]:
        self.sim.step()
        return self.sim.poll()

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        return self.sim.query(executions_since)


def test_run_loops_until_stopped() -> None:
    sim = SimBroker(flat(5, 100.0) + flat(5, 100.6, start=flat(5)[-1].end))
    sup = Supervisor(sim.now)
    stop = asyncio.Event()

    def on_event(event: SupervisorEvent) -> None:
        if isinstance(event, TradeClosed):
            stop.set()

    runner = Runner(sup, SteppingSim(sim), on_event=on_event)
    runner.execute(sup.submit(market_plan()))

    async def main() -> None:
        await asyncio.wait_for(runner.run(stop, interval=0.0), timeout=30)

    asyncio.run(main())
    assert stop.is_set()
    assert (sup.trade("t1").state, sim.position()) == ("closed", 0)


def test_run_returns_at_once_when_already_stopped() -> None:
    sim = SimBroker(flat(3))
    stop = asyncio.Event()
    stop.set()
    asyncio.run(Runner(Supervisor(sim.now), sim).run(stop, interval=60.0))
    assert sim.now() == flat(3)[0].time  # nothing pumped, nothing stepped
