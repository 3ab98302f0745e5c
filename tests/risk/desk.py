"""A supervisor with a risk book beside it, wired the way the supervisor itself will call it: the
plan is checked before `arm` (a refusal sends nothing and arms nothing), accepted plans, broker
events and the end of each trade are fed to the book. It has the supervisor's public surface, so
a `Runner` carries events and commands for it."""

from __future__ import annotations

from collections.abc import Callable

from supervisor.events import SupervisorEvent, TradeAborted, TradeClosed
from supervisor.guards import RiskRefusal
from supervisor.plan import TradePlan
from supervisor.port import BrokerEvent, BrokerTruth, Command
from supervisor.risk import RiskBook
from supervisor.runner import SupervisorLike
from supervisor.snapshots import TradeSnapshot


class RiskDesk:
    def __init__(self, supervisor: SupervisorLike, risk: RiskBook, clock: Callable[[], float]) -> None:
        self.supervisor = supervisor
        self.risk = risk
        self.clock = clock
        self.refusals: list[RiskRefusal] = []
        supervisor.subscribe(self._on_event)

    def _on_event(self, event: SupervisorEvent) -> None:
        if isinstance(event, (TradeClosed, TradeAborted)):
            self.risk.feed(event, self.clock())

    def arm(self, plan: TradePlan) -> list[Command]:
        refusal = self.risk.check(plan, self.clock())
        if refusal is not None:
            self.refusals.append(refusal)
            return []
        self.risk.opened(plan, self.clock())
        return self.supervisor.arm(plan)

    def submit(self, plan: TradePlan) -> list[Command]:
        if self._holds(plan.trade_id):
            return []  # as the supervisor's submit: a trade id already held sends nothing
        self.arm(plan)
        return self.supervisor.trigger(plan.trade_id) if self._holds(plan.trade_id) else []

    def _holds(self, trade_id: str) -> bool:
        return any(t.trade_id == trade_id for t in self.supervisor.trades())

    def handle(self, event: BrokerEvent) -> list[Command]:
        self.risk.feed(event, self.clock())
        return self.supervisor.handle(event)

    def reconcile(self, truth: BrokerTruth) -> list[Command]:
        for execution in truth.executions:
            self.risk.feed(execution, self.clock())
        return self.supervisor.reconcile(truth)

    def settle(self) -> list[Command]:
        return self.supervisor.settle()

    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]:
        return self.supervisor.trigger(trade_id, source_time)

    def expire(self, trade_id: str) -> list[Command]:
        return self.supervisor.expire(trade_id)

    def cancel(self, trade_id: str) -> list[Command]:
        return self.supervisor.cancel(trade_id)

    def tick(self) -> list[Command]:
        return self.supervisor.tick()

    def trades(self) -> list[TradeSnapshot]:
        return self.supervisor.trades()

    def trade(self, trade_id: str) -> TradeSnapshot:
        return self.supervisor.trade(trade_id)

    def drain_events(self) -> list[SupervisorEvent]:
        return self.supervisor.drain_events()

    def subscribe(self, subscriber: Callable[[SupervisorEvent], None]) -> None:
        self.supervisor.subscribe(subscriber)
