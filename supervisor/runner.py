"""The imperative shell: moves broker events into a supervisor and its commands back to the broker.

The supervisor decides (sans-IO); the runner only carries values across. One `pump()`:

1. poll the broker and hand every event to `supervisor.handle`, executing the commands it
   returns at once, then `supervisor.settle()` (the machines record what a fast path handed out);
   after a `ConnectionRestored` (events may have been lost in the outage) and after a
   `SubmissionStalled` (an order may sit at the broker unacknowledged) it asks the broker for its
   truth (the whole day's executions: the account-wide de-duplication makes that cheap, and a
   correction lost in the outage carries its original's time) and hands it to
   `supervisor.reconcile`. A broker that is down again by then answers `ConnectionError`: the
   reconciliation waits for the next `ConnectionRestored`;
2. `supervisor.tick()` once, so grace periods and deadlines fire even when nothing arrives;
3. poll again until the broker has nothing new (executed commands answer with events).

`run()` repeats that on an interval for live adapters (asyncio); replays and tests call `pump()`
themselves, step by step. Anything with the supervisor's method set can be run (`SupervisorLike`:
the `Supervisor` itself, or the `JournalRecorder` that wraps it).

Garbage collection is kept off the order path (`gc_paused`): from a trigger (`trigger`) or a broker
event (`answer`) to the commands written, automatic collection waits; one that fell due meanwhile
runs at the next allocation after the write, while the machines record what was sent. A cycle
collection of a heap holding hundreds of trades takes milliseconds, and it would otherwise land on
whichever order allocated past the threshold.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from supervisor.events import SubmissionStalled, SupervisorEvent
from supervisor.plan import TradePlan
from supervisor.port import BrokerEvent, BrokerPort, BrokerTruth, Command, ConnectionRestored
from supervisor.snapshots import TradeSnapshot

EventCallback = Callable[[SupervisorEvent], None]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Automatic garbage collection held off for the block; a collection that fell due meanwhile
    runs at the first allocation after it. A process that turned collection off keeps it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class SupervisorLike(Protocol):
    """The supervisor's public surface: what a runner, a session or a bot may call."""

    def arm(self, plan: TradePlan) -> list[Command]: ...
    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]: ...
    def submit(self, plan: TradePlan) -> list[Command]: ...
    def expire(self, trade_id: str) -> list[Command]: ...
    def cancel(self, trade_id: str) -> list[Command]: ...
    def handle(self, event: BrokerEvent) -> list[Command]: ...
    def settle(self) -> list[Command]: ...
    def tick(self) -> list[Command]: ...
    def reconcile(self, truth: BrokerTruth) -> list[Command]: ...
    def trades(self) -> list[TradeSnapshot]: ...
    def trade(self, trade_id: str) -> TradeSnapshot: ...
    def drain_events(self) -> list[SupervisorEvent]: ...
    def subscribe(self, subscriber: EventCallback) -> None: ...


class Runner:
    """Carries events from `broker` to `supervisor` and commands back. Emitted supervisor events
    reach `on_event` (a subscriber) as they happen.

    Commands returned by one call go to the broker together (`execute_all` when the adapter has
    it: a bracket's parent and children are one batch, the last child transmits them). With an
    adapter that pushes events (`set_event_handler`, the IB adapter), `run()` handles each event
    inside the adapter's callback, so an execution's exits reach the socket before the callback
    returns; broker truth is then asked for with `fetch_truth` (a coroutine) when there is one."""

    def __init__(
        self, supervisor: SupervisorLike, broker: BrokerPort, *, on_event: EventCallback | None = None
    ) -> None:
        self.supervisor = supervisor
        self.broker = broker
        self.reconciliations = 0
        self._stalled = False  # a SubmissionStalled or a ConnectionRestored asks for broker truth
        self._wake: asyncio.Event | None = None
        supervisor.subscribe(self._watch)
        if on_event is not None:
            supervisor.subscribe(on_event)

    def execute(self, commands: Iterable[Command]) -> None:
        """Hand the commands to the broker, in order, then let the supervisor record what it
        handed out (and hand over anything that recording called for). Outcomes come back as events."""
        with gc_paused():
            self._send(list(commands))
        self._send(self.supervisor.settle())

    def trigger(self, trade_id: str, source_time: float | None = None) -> None:
        """The strategy fired: the entry goes to the broker at once (the supervisor hands out the
        order built at arm time), then the machines record it."""
        with gc_paused():
            self._send(self.supervisor.trigger(trade_id, source_time))
        self._send(self.supervisor.settle())

    def answer(self, event: BrokerEvent) -> None:
        """One broker event: to the supervisor, and what it returns to the broker at once (an
        entry's execution: its exits), then the machines record it. `run()` does this inside a
        pushing adapter's callback; `pump()` for each polled event."""
        with gc_paused():
            self._send(self.supervisor.handle(event))
        self._send(self.supervisor.settle())

    def pump(self) -> int:
        """Deliver what the broker has, tick once, deliver what that caused. Returns how many
        broker events were handed to the supervisor."""
        handled = self._drain()
        self.execute(self.supervisor.tick())
        self._reconcile_if_stalled()
        return handled + self._drain()

    def reconcile(self) -> bool:
        """Ask the broker for its truth and let the supervisor settle with it. False when the
        broker could not answer (not connected): the next `ConnectionRestored` reconciles."""
        try:
            truth = self.broker.query(executions_since=None)
        except ConnectionError:
            return False
        self._settle_with(truth)
        return True

    async def reconcile_async(self) -> bool:
        """`reconcile` for adapters that answer with a coroutine (`fetch_truth`)."""
        fetch = getattr(self.broker, "fetch_truth", None)
        try:
            truth = await fetch(None) if fetch is not None else self.broker.query(executions_since=None)
        except ConnectionError:
            return False
        self._settle_with(truth)
        return True

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Until `stop` is set: with a pushing adapter, events are handled as they arrive and this
        loop ticks every `interval` seconds and reconciles when asked; otherwise pump, then wait."""
        push = getattr(self.broker, "set_event_handler", None)
        self._wake = asyncio.Event()
        if push is not None:
            push(self._pushed)
        try:
            while not stop.is_set():
                if push is None:
                    self._drain()
                self.execute(self.supervisor.tick())
                if self._stalled:
                    self._stalled = False
                    await self.reconcile_async()
                self._wake.clear()
                waiting = asyncio.ensure_future(self._wake.wait())
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiting, stopping}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
                for task in (waiting, stopping):
                    task.cancel()
        finally:
            if push is not None:
                push(None)
            self._wake = None

    # -- plumbing ------------------------------------------------------------------------------
    def _send(self, commands: list[Command]) -> None:
        if not commands:
            return
        batch = getattr(self.broker, "execute_all", None)
        if batch is not None:
            batch(commands)
        else:
            for command in commands:
                self.broker.execute(command)

    def _settle_with(self, truth: BrokerTruth) -> None:
        self.reconciliations += 1
        self.execute(self.supervisor.reconcile(truth))

    def _pushed(self, event: BrokerEvent) -> None:
        """An event the adapter pushes from inside its callback: answered at once."""
        self.answer(event)
        if isinstance(event, ConnectionRestored):
            self._stalled = True
        if self._stalled and self._wake is not None:
            self._wake.set()  # the loop asks for broker truth (a coroutine: not from a callback)

    def _drain(self) -> int:
        handled = 0
        while events := self.broker.poll():
            for event in events:
                handled += 1
                self.answer(event)
                if isinstance(event, ConnectionRestored):
                    self._stalled = False
                    self.reconcile()
                self._reconcile_if_stalled()
        return handled

    def _reconcile_if_stalled(self) -> None:
        if self._stalled:
            self._stalled = False
            self.reconcile()  # still disconnected: the reconcile after ConnectionRestored settles it

    def _watch(self, event: SupervisorEvent) -> None:
        if isinstance(event, SubmissionStalled):
            self._stalled = True
