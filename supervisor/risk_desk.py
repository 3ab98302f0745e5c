"""`RiskDesk`: a supervisor with the account's risk book and the operator's controls in front of it.

How it works: the desk has the supervisor's public surface, so a `Runner` (or the breakout desk)
carries events and commands for it exactly as for a bare supervisor. It is pure (no I/O, the
injected clock); what it decides goes through the supervisor it wraps, so a `JournalRecorder` there
journals every call it makes.

- `arm(plan)`: the `RiskBook` checks the plan first (`RiskBook.check`: the trading state, the entry
  guard, max risk, max open trades, max trades per day, max position). A refusal arms nothing and
  sends nothing: it is kept (`refusals`), told to the listeners, and raised as `RiskRefusedError`
  naming the rule and the figures. An accepted plan is counted (`RiskBook.opened`) and armed.
- `trigger(trade_id)`: a new entry goes only while the account is `active` (and before the time
  exit). Otherwise the refusal is kept and told, and the trade expires at once (nothing was sent,
  nothing stays armed); no exception, since a strategy's loop triggers.
- `handle` / `reconcile`: executions and commissions are fed to the risk book before the supervisor
  sees them; every trade's end (`TradeClosed` / `TradeAborted`) too. When the account leaves
  `active` (the day's loss reached `max_daily_loss`: `reducing`; the kill switch: `halted`), every
  live trade's entry is cancelled (`Supervisor.cancel`: an armed trade expires, a working entry is
  cancelled, shares already held keep their exits). Exits of live trades always go.
- `kill(reason)`: the kill switch. `RiskBook.kill` (Account -> halted; the `KillSwitch` is handed
  to `record`, which journals it so a restart rebuilds the halted book), then
  `flatten(trade_id, "kill switch")` for every trade still live: the supervisor cancels the entry
  and every exit, then sends one reduce-only market order for what the executions say is held.
- `tick()`: the operator's clocks, on the injected (exchange) clock. `entry_ttl`: an entry that has
  worked that many seconds without filling completely is cancelled (`Supervisor.cancel`: a partial
  fill keeps its protection). `flatten_at`: from that time on, every live trade is flattened once
  (`flatten(trade_id, "time exit")`) and new entries are refused (rule `flatten_at`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from supervisor.events import SupervisorEvent, TradeAborted, TradeClosed
from supervisor.guards import RiskRefusal
from supervisor.plan import TradePlan
from supervisor.port import BrokerEvent, BrokerTruth, Command, CommissionReported, ExecutionReported
from supervisor.risk import KillSwitch, Resume, RiskBook
from supervisor.snapshots import TradeSnapshot

__all__ = ["KILL_REASON", "TIME_EXIT_REASON", "FlattenableSupervisor", "RiskDesk", "RiskRefusedError"]

KILL_REASON = "kill switch"
TIME_EXIT_REASON = "time exit"
# an entry in these states may still buy or sell: the TTL and a state change cancel it
_ENTRY_WORKING = frozenset({"pending", "sent", "working", "partially_filled", "replace_requested"})
_ENTRY_CANCELLABLE = _ENTRY_WORKING | {"armed", "triggered"}
_ENTRY_TIMED = _ENTRY_WORKING | {"triggered"}  # the TTL counts from the trigger
_FINISHED = frozenset({"closed", "aborted"})


class RiskRefusedError(ValueError):
    """A plan the risk book refused: nothing was armed, nothing was sent."""

    def __init__(self, refusal: RiskRefusal) -> None:
        who = f"{refusal.trade_id}: " if refusal.trade_id else ""
        super().__init__(f"{who}refused by the risk policy: {refusal}; nothing was sent")
        self.refusal = refusal


class FlattenableSupervisor(Protocol):
    """The supervisor's public surface (a `Supervisor`, or the `JournalRecorder` around one)."""

    def arm(self, plan: TradePlan) -> list[Command]: ...
    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]: ...
    def expire(self, trade_id: str) -> list[Command]: ...
    def cancel(self, trade_id: str) -> list[Command]: ...
    def flatten(self, trade_id: str, reason: str = "requested") -> list[Command]: ...
    def handle(self, event: BrokerEvent) -> list[Command]: ...
    def settle(self) -> list[Command]: ...
    def tick(self) -> list[Command]: ...
    def reconcile(self, truth: BrokerTruth) -> list[Command]: ...
    def trades(self) -> list[TradeSnapshot]: ...
    def trade(self, trade_id: str) -> TradeSnapshot: ...
    def drain_events(self) -> list[SupervisorEvent]: ...
    def subscribe(self, subscriber: Callable[[SupervisorEvent], None]) -> None: ...


RefusalListener = Callable[[RiskRefusal], None]


class RiskDesk:
    def __init__(self, supervisor: FlattenableSupervisor, risk: RiskBook, clock: Callable[[], float], *,
                 entry_ttl: float | None = None, flatten_at: float | None = None,
                 record: Callable[[object], object] | None = None) -> None:
        if entry_ttl is not None and not (math.isfinite(entry_ttl) and entry_ttl > 0):
            raise ValueError(f"entry_ttl={entry_ttl!r}: must be a finite number of seconds > 0")
        if flatten_at is not None and not math.isfinite(flatten_at):
            raise ValueError(f"flatten_at={flatten_at!r}: must be a finite time")
        self.supervisor = supervisor
        self.risk = risk
        self.clock = clock
        self.entry_ttl = entry_ttl
        self.flatten_at = flatten_at
        self._record = record
        self.refusals: list[RiskRefusal] = []
        self._listeners: list[RefusalListener] = []
        self._entry_seen: dict[str, float] = {}  # trade id -> when its entry was first seen working
        self._time_exited: set[str] = set()
        self._state = risk.state
        supervisor.subscribe(self._on_event)

    # -- listeners ------------------------------------------------------------------------------
    def on_refusal(self, listener: RefusalListener) -> None:
        self._listeners.append(listener)

    def _refuse(self, refusal: RiskRefusal) -> None:
        self.refusals.append(refusal)
        for listener in self._listeners:
            listener(refusal)

    def _on_event(self, event: SupervisorEvent) -> None:
        if isinstance(event, (TradeClosed, TradeAborted)):
            self.risk.feed(event, self.clock())

    # -- the supervisor's surface, checked ----------------------------------------------------------
    def check(self, plan: TradePlan) -> RiskRefusal | None:
        """What `arm(plan)` would refuse now (None: it would be armed). Changes nothing."""
        now = self.clock()
        return self.risk.check(plan, now) or self._time_exit_refusal(plan.trade_id, now)

    def entry_refusal(self, trade_id: str) -> RiskRefusal | None:
        """What `trigger(trade_id)` would refuse now. Changes nothing."""
        return (self.risk.check_new_order(is_exit=False, trade_id=trade_id)
                or self._time_exit_refusal(trade_id, self.clock()))

    def arm(self, plan: TradePlan) -> list[Command]:
        """Raises `RiskRefusedError` (nothing armed, nothing sent) when the policy refuses the plan."""
        now = self.clock()
        refusal = self.check(plan)
        if refusal is not None:
            self._refuse(refusal)
            raise RiskRefusedError(refusal)
        self.risk.opened(plan, now)
        return self.supervisor.arm(plan)

    def submit(self, plan: TradePlan) -> list[Command]:
        if self._holds(plan.trade_id):
            return []  # as the supervisor's submit: a trade id already held sends nothing
        return self.arm(plan) + self.trigger(plan.trade_id)

    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]:
        now = self.clock()
        refusal = self.entry_refusal(trade_id)
        if refusal is not None:
            self._refuse(refusal)
            return self.supervisor.expire(trade_id)
        commands = self.supervisor.trigger(trade_id, source_time)
        if commands:
            self._entry_seen.setdefault(trade_id, now)
        return commands

    def expire(self, trade_id: str) -> list[Command]:
        return self.supervisor.expire(trade_id)

    def cancel(self, trade_id: str) -> list[Command]:
        return self.supervisor.cancel(trade_id)

    def flatten(self, trade_id: str, reason: str = "requested") -> list[Command]:
        return self.supervisor.flatten(trade_id, reason)

    def handle(self, event: BrokerEvent) -> list[Command]:
        if isinstance(event, (ExecutionReported, CommissionReported)):
            self.risk.feed(event, self.clock())
        commands = self.supervisor.handle(event)
        return commands + self._follow_state()

    def reconcile(self, truth: BrokerTruth) -> list[Command]:
        for execution in truth.executions:
            self.risk.feed(execution, self.clock())
        commands = self.supervisor.reconcile(truth)
        return commands + self._follow_state()

    def settle(self) -> list[Command]:
        return self.supervisor.settle()

    def tick(self) -> list[Command]:
        commands = self.supervisor.tick()
        now = self.clock()
        if self.flatten_at is not None and now >= self.flatten_at:
            for trade in self.supervisor.trades():
                if trade.trade_id not in self._time_exited and self.is_live(trade):
                    self._time_exited.add(trade.trade_id)
                    commands += self.supervisor.flatten(trade.trade_id, TIME_EXIT_REASON)
        if self.entry_ttl is not None:
            commands += self._expire_entries(now, self.entry_ttl)
        return commands

    # -- the operator ------------------------------------------------------------------------------
    def kill(self, reason: str = KILL_REASON) -> list[Command]:
        """The kill switch: the account halts (journaled through `record`), every live trade is
        flattened with reduce-only orders. Idempotent: pulled again, nothing new is sent."""
        self.halt(reason)
        commands: list[Command] = []
        for trade in self.supervisor.trades():
            if self.is_live(trade):
                commands += self.supervisor.flatten(trade.trade_id, KILL_REASON)
        return commands

    def halt(self, reason: str = KILL_REASON) -> None:
        """The account halts (journaled through `record`); trades are left to the caller."""
        if self._record is not None:
            self._record(KillSwitch(reason))
        self.risk.kill(self.clock(), reason)
        self._state = self.risk.state

    def resume(self) -> None:
        """The operator lets trading go on (raises `TransitionNotAllowed` when nothing resumes)."""
        self.risk.resume(self.clock())
        if self._record is not None:
            self._record(Resume())
        self._state = self.risk.state

    @property
    def state(self) -> str:
        return self.risk.state

    # -- reads ----------------------------------------------------------------------------------
    def trades(self) -> list[TradeSnapshot]:
        return self.supervisor.trades()

    def trade(self, trade_id: str) -> TradeSnapshot:
        return self.supervisor.trade(trade_id)

    def drain_events(self) -> list[SupervisorEvent]:
        return self.supervisor.drain_events()

    def subscribe(self, subscriber: Callable[[SupervisorEvent], None]) -> None:
        self.supervisor.subscribe(subscriber)

    # -- plumbing -----------------------------------------------------------------------------------
    def _holds(self, trade_id: str) -> bool:
        return any(t.trade_id == trade_id for t in self.supervisor.trades())

    @staticmethod
    def is_live(trade: TradeSnapshot) -> bool:
        return trade.state not in _FINISHED or bool(trade.working_orders) or trade.position != 0

    def _time_exit_refusal(self, trade_id: str, now: float) -> RiskRefusal | None:
        if self.flatten_at is None or now < self.flatten_at:
            return None
        return RiskRefusal("flatten_at", f"the time exit has passed ({now:.0f} >= {self.flatten_at:.0f}): "
                                         "no new entry is sent", trade_id)

    def _follow_state(self) -> list[Command]:
        """The account left `active`: no entry may buy or sell any more. Every live trade's entry
        is cancelled (an armed one expires); shares already held keep their exits."""
        state = self.risk.state
        before, self._state = self._state, state
        if state in (before, "active"):
            return []
        commands: list[Command] = []
        for trade in self.supervisor.trades():
            if trade.state not in _FINISHED and trade.leg("entry").state in _ENTRY_CANCELLABLE:
                commands += self.supervisor.cancel(trade.trade_id)
        return commands

    def _expire_entries(self, now: float, ttl: float) -> list[Command]:
        commands: list[Command] = []
        for trade in self.supervisor.trades():
            entry = trade.leg("entry").state
            if entry not in _ENTRY_TIMED:
                self._entry_seen.pop(trade.trade_id, None)
                continue
            since = self._entry_seen.setdefault(trade.trade_id, now)
            if now - since >= ttl:
                self._entry_seen.pop(trade.trade_id, None)
                commands += self.supervisor.cancel(trade.trade_id)
        return commands
