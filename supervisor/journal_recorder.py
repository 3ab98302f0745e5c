"""`JournalRecorder`: a supervisor whose inputs and outputs all go to the journal.

How it works: every input (a broker event, or a call such as `arm` or `tick`, recorded as its
value from `supervisor.calls`) is appended before the supervisor sees it, stamped with the
supervisor's own clock as the record's wall time; every event it emits is appended as it is
emitted. The commands a call returns are appended once the caller has them: at the caller's next
call (the runner's `settle()`, right after it wrote them), or at `flush()`/`close()`. So the journal
never holds an order back on its way to the socket (encoding a `PlaceOrder` is not free, and a
fill hands out six), and the record still reads input, events, commands, then the next input; a
finished trade's checkpoint goes with them. `open` replays what a journal already holds (inputs
only, at their recorded times), so a restarted process continues with the machines it had; the
caller then reconciles with broker truth for whatever happened while it was down.

It has the supervisor's surface, so the runner takes either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from supervisor.calls import Arm, Cancel, Expire, Flatten, Reconcile, Tick, Trigger
from supervisor.checkpoint import PackedCheckpoint
from supervisor.core import Clock, Supervisor
from supervisor.events import SupervisorEvent, TradeAborted, TradeClosed
from supervisor.journal import Journal, Kind
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.port import BrokerEvent, BrokerTruth, Command
from supervisor.snapshots import TradeSnapshot

INPUT_KINDS: tuple[Kind, ...] = ("broker_event", "meta")  # what replay reads; the rest are outputs
# (and checkpoints: a finished trade's state, which stands for its inputs before it)


class JournalRecorder:
    def __init__(self, supervisor: Supervisor, journal: Journal) -> None:
        self.supervisor = supervisor
        self.journal = journal
        self._ending: set[str] = set()  # trades that closed or aborted, checkpointed once finished
        self._returned: list[Command] = []  # handed to the caller, journaled at its next call
        supervisor.subscribe(self._event)

    @classmethod
    def open(cls, path: str | os.PathLike[str], clock: Clock, policy: Policy | None = None,
             **journal_options: Any) -> JournalRecorder:
        """Open (or create) the journal at `path` and rebuild the supervisor it records."""
        journal = Journal.open(path, clock_wall=clock, **journal_options)
        supervisor = Supervisor.restore(journal.restore_records(), clock, policy)
        return cls(supervisor, journal)

    # -- inputs -------------------------------------------------------------------------------
    def _call(self, call: object) -> None:
        self._journal_returned()
        self.journal.append_call(call)

    def _out(self, commands: list[Command]) -> list[Command]:
        self._returned += commands
        return commands

    def _journal_returned(self) -> None:
        """The commands returned by the previous calls, and the checkpoints they were waiting for."""
        returned, self._returned = self._returned, []
        for command in returned:
            self.journal.append("command", command)
        if self._ending:
            self._checkpoint()

    def _event(self, event: SupervisorEvent) -> None:
        self.journal.append("supervisor_event", event)
        if isinstance(event, (TradeClosed, TradeAborted)):
            self._ending.add(event.trade_id)

    def _checkpoint(self) -> None:
        """A trade that has finished (nothing of it working any more) is checkpointed, so a restart
        loads it instead of replaying its history; one with an order still ending waits."""
        for trade_id in list(self._ending):
            checkpoint = self.supervisor.checkpoint(trade_id)
            if checkpoint is not None:
                self.journal.append("checkpoint", PackedCheckpoint.of(checkpoint))  # compact: quick to restore
                self._ending.discard(trade_id)

    def arm(self, plan: TradePlan) -> list[Command]:
        self._call(Arm(plan))
        return self._out(self.supervisor.arm(plan))

    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]:
        self._call(Trigger(trade_id, source_time))
        return self._out(self.supervisor.trigger(trade_id, source_time))

    def submit(self, plan: TradePlan) -> list[Command]:
        return self.arm(plan) + self.trigger(plan.trade_id)

    def cancel(self, trade_id: str) -> list[Command]:
        self._call(Cancel(trade_id))
        return self._out(self.supervisor.cancel(trade_id))

    def flatten(self, trade_id: str, reason: str = "requested") -> list[Command]:
        self._call(Flatten(trade_id, reason))
        return self._out(self.supervisor.flatten(trade_id, reason))

    def expire(self, trade_id: str) -> list[Command]:
        self._call(Expire(trade_id))
        return self._out(self.supervisor.expire(trade_id))

    def tick(self) -> list[Command]:
        self._call(Tick())
        return self._out(self.supervisor.tick())

    def settle(self) -> list[Command]:
        """Not an input: the transitions that follow the last input (replay settles after each)."""
        self._journal_returned()
        return self._out(self.supervisor.settle())

    def reconcile(self, truth: BrokerTruth) -> list[Command]:
        self._call(Reconcile(truth))
        return self._out(self.supervisor.reconcile(truth))

    def handle(self, event: BrokerEvent) -> list[Command]:
        self._journal_returned()
        self.journal.append("broker_event", event)
        return self._out(self.supervisor.handle(event))

    # -- reads --------------------------------------------------------------------------------
    def trades(self) -> list[TradeSnapshot]:
        return self.supervisor.trades()

    def trade(self, trade_id: str) -> TradeSnapshot:
        return self.supervisor.trade(trade_id)

    def drain_events(self) -> list[SupervisorEvent]:
        return self.supervisor.drain_events()

    def subscribe(self, subscriber: Callable[[SupervisorEvent], None]) -> None:
        self.supervisor.subscribe(subscriber)

    @property
    def last_execution_time(self) -> float | None:
        return self.supervisor.last_execution_time

    def flush(self) -> None:
        self._journal_returned()
        self.journal.flush()

    def close(self) -> None:
        self._journal_returned()
        self.journal.close()
