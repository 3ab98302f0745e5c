"""A supervisor on a manual clock, with a scripted broker that answers the way a script says."""

from __future__ import annotations

import itertools

from supervisor.clock import ManualClock
from supervisor.core import Supervisor
from supervisor.events import SupervisorEvent
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.port import BrokerEvent, CancelOrder, Command, ModifyOrder, OrderAccepted, OrderSent, PlaceOrder


class Harness:
    def __init__(self, policy: Policy | None = None, start: float = 1_000.0, journal: str | None = None) -> None:
        self.clock = ManualClock(start)
        self.recorder: JournalRecorder | None = None
        if journal is not None:  # every input and output goes to a journal at this path
            self.recorder = JournalRecorder.open(journal, self.clock, policy, fsync="off")
            self.core = self.recorder.supervisor
        else:
            self.core = Supervisor(self.clock, policy)
        self.sup: Supervisor | JournalRecorder = self.recorder or self.core
        self.commands: list[Command] = []
        self.events: list[SupervisorEvent] = []
        self.sup.subscribe(self.events.append)
        self._order_ids = itertools.count(1)
        self.order_ids: dict[str, int] = {}

    def submit(self, plan: TradePlan) -> list[Command]:
        return self._record(self.sup.submit(plan))

    def feed(self, *events: BrokerEvent) -> list[Command]:
        out: list[Command] = []
        for event in events:
            out += self._record(self.sup.handle(event))
        return out

    def tick(self, seconds: float = 0.0) -> list[Command]:
        self.clock.advance(seconds)
        return self._record(self.sup.tick())

    def _record(self, commands: list[Command]) -> list[Command]:
        """What a call returned, then what recording its fast path asked for (as the runner does)."""
        commands = commands + self.sup.settle()
        self.commands += commands
        return commands

    def ack(self, commands: list[Command], qty: dict[str, int] | None = None) -> list[Command]:
        """Send and acknowledge every placement (with an optional broker-side quantity)."""
        out: list[Command] = []
        for cmd in commands:
            if isinstance(cmd, PlaceOrder):
                oid = self.order_ids.setdefault(cmd.order_ref, next(self._order_ids))
                leg = cmd.order_ref.split(":", 1)[1]
                broker_qty = (qty or {}).get(leg, cmd.quantity)
                out += self.feed(OrderSent(order_ref=cmd.order_ref, order_id=oid, time=self.clock.now))
                out += self.feed(OrderAccepted(order_ref=cmd.order_ref, order_id=oid, quantity=broker_qty,
                                               limit_price=cmd.limit_price, stop_price=cmd.stop_price))
        return out

    def settle(self, commands: list[Command], qty: dict[str, int] | None = None) -> None:
        """Acknowledge placements until no new placement comes back."""
        while commands:
            commands = [c for c in self.ack(commands, qty) if isinstance(c, PlaceOrder)]

    def of_type(self, cls: type) -> list[SupervisorEvent]:
        return [e for e in self.events if isinstance(e, cls)]

    def placed(self, leg: str) -> PlaceOrder:
        for cmd in self.commands:
            if isinstance(cmd, PlaceOrder) and cmd.order_ref.endswith(f":{leg}"):
                return cmd
        raise AssertionError(f"no PlaceOrder for leg {leg!r} in {[c.order_ref for c in self.commands]}")

    def cancels(self) -> list[str]:
        return [c.order_ref.split(":", 1)[1] for c in self.commands if isinstance(c, CancelOrder)]

    def modifies(self) -> list[ModifyOrder]:
        return [c for c in self.commands if isinstance(c, ModifyOrder)]
