"""`Supervisor`: broker events in, commands and supervisor events out. Sans-IO and deterministic.

It owns one `TradeBook` per trade, routes each broker event to its leg by `orderRef` (then by
order id), hands it to its handler (`supervisor.handlers`: fire the leg, tell the pair and trade),
and then runs the checks of `supervisor.protection` (stops, ladders, invariants, deadlines).
Quantities move only on `ExecutionReported`; `StatusObserved` is compared, never applied.
An event a machine does not allow becomes an `InvalidTransition` event: nothing raises out of
`handle`, and the machine keeps its state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed

from machines import OverfillError
from supervisor import codec
from supervisor import events as ev
from supervisor.book import LegSlot, TradeBook
from supervisor.calls import apply
from supervisor.handlers import BrokerEventHandlers
from supervisor.orders import entry_order, split_ref
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.port import (
    BrokerEvent,
    CancelRejected,
    Command,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)
from supervisor.protection import Protection
from supervisor.reconcile import Reconciliation
from supervisor.snapshots import TradeSnapshot, snapshot

Clock = Callable[[], float]
Subscriber = Callable[[ev.SupervisorEvent], None]


class UnknownTradeError(KeyError):
    """A trade id the supervisor does not hold."""


class RecordLike(Protocol):
    """A journal record as replay reads it (supervisor.journal.Record fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def wall(self) -> float: ...
    @property
    def value(self) -> Any: ...


class ReplayClock:
    """Reads the recorded time while a journal is replayed, then the live clock."""

    def __init__(self, live: Clock) -> None:
        self.live = live
        self.replaying: float | None = None

    def __call__(self) -> float:
        return self.live() if self.replaying is None else self.replaying


class Supervisor(BrokerEventHandlers, Protection, Reconciliation):
    def __init__(self, clock: Clock, policy: Policy | None = None) -> None:
        self._clock = clock
        self.policy = policy or Policy()
        self._books: dict[str, TradeBook] = {}
        self._active: dict[str, TradeBook] = {}  # books not finished: the ones time can still move
        self.prebuild = True  # build exit machines at arm time (off while replaying a journal)
        self._by_ref: dict[str, tuple[TradeBook, LegSlot]] = {}
        self._ref_by_id: dict[int, str] = {}
        self._events: list[ev.SupervisorEvent] = []
        self._subscribers: list[Subscriber] = []
        self._now = 0.0
        self._exec_owner: dict[str, TradeBook] = {}  # exec id -> its trade, for commissions
        self._unmatched_commissions: dict[str, float] = {}  # reports that beat their execution
        self._handlers: dict[type, Callable[[TradeBook, LegSlot, BrokerEvent], list[Command]]] = {
            OrderSent: self._on_sent,  # type: ignore[dict-item]
            OrderAccepted: self._on_accepted,  # type: ignore[dict-item]
            ExecutionReported: self._on_execution,  # type: ignore[dict-item]
            OrderCancelled: self._on_cancelled,  # type: ignore[dict-item]
            OrderRejected: self._on_rejected,  # type: ignore[dict-item]
            CancelRejected: self._on_cancel_rejected,  # type: ignore[dict-item]
            ReplaceAccepted: self._on_replace_accepted,  # type: ignore[dict-item]
            ReplaceRejected: self._on_replace_rejected,  # type: ignore[dict-item]
            StatusObserved: self._on_status,  # type: ignore[dict-item]
        }

    @classmethod
    def restore(cls, records: Iterable[RecordLike], clock: Clock, policy: Policy | None = None) -> Supervisor:
        """Rebuild every machine by replaying recorded inputs (calls and broker events) at their
        recorded times. Outputs in the record (commands, events) are not inputs: skipped. Reconcile
        with broker truth afterwards: what happened while the process was down is not in here."""
        replay = ReplayClock(clock)
        supervisor = cls(replay, policy)
        supervisor.prebuild = False  # nothing is latency-bound while replaying
        for record in records:
            if record.kind not in ("broker_event", "meta"):
                continue
            value = record.value
            if record.kind == "meta":
                if not (isinstance(value, dict) and "type" in value):
                    continue  # a note, not a call
                value = codec.decode(value)
            replay.replaying = record.wall
            apply(supervisor, value)
        replay.replaying = None
        supervisor.prebuild = True
        supervisor.drain_events()
        return supervisor

    # -- the public surface ------------------------------------------------------------------
    def arm(self, plan: TradePlan) -> list[Command]:
        """Build the trade's machines (never on the trigger path). Idempotent by trade_id."""
        self._now = self._clock()
        if plan.trade_id in self._books:
            return []
        book = TradeBook.arm(plan, entry_order(plan), prebuild=self.prebuild)
        self._books[plan.trade_id] = book
        self._active[plan.trade_id] = book
        self._register(book, book.entry)
        self._emit(ev.TradeArmed(trade_id=plan.trade_id, symbol=plan.symbol, quantity=plan.quantity))
        if plan.attached:
            self.prepare_attached(book)
        return []

    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]:
        """The strategy fired: one transition, then the prebuilt entry (and attached children)."""
        book = self._book(trade_id)
        self._now = self._clock()
        if not self._fire(book, book.entry.machine, "trigger"):
            return []
        book.trigger_settled = False
        book.latency["trigger"] = source_time if source_time is not None else self._now
        book.latency["intent"] = self._now
        commands: list[Command] = [book.entry.command]
        commands += [s.command for s in book.exits() if s.attached and s.state == "pending"]
        return commands

    def submit(self, plan: TradePlan) -> list[Command]:
        """Arm and trigger at once. Submitting a trade_id already held returns no commands."""
        if plan.trade_id in self._books:
            return []
        self.arm(plan)
        return self.trigger(plan.trade_id)

    def expire(self, trade_id: str) -> list[Command]:
        """The single-fire watcher ended without a trigger."""
        book = self._book(trade_id)
        self._now = self._clock()
        if self._fire(book, book.entry.machine, "expire"):
            self._fire(book, book.trade, "abort")
            self._after(book)
        return []

    def cancel(self, trade_id: str) -> list[Command]:
        """Cancel the entry if it is still working. Shares already held keep their exits."""
        book = self._book(trade_id)
        self._now = self._clock()
        self._settle(book)
        commands = self.request_cancel(book, book.entry)
        return commands + self._after(book)

    def handle(self, event: BrokerEvent) -> list[Command]:
        self._now = self._clock()
        if isinstance(event, ConnectionLost):
            return self._on_connection_lost()
        if isinstance(event, ConnectionRestored):
            return self.tick()
        if isinstance(event, CommissionReported):
            self._on_commission(event)
            return []
        routed = self._route(event)
        if routed is None:
            return self.tick()
        book, slot = routed
        self._settle(book)
        commands = self._handlers[type(event)](book, slot, event)
        commands += self._after(book)
        if not book.finished:
            self._active[book.trade_id] = book  # a late fill can reopen a closed trade
        return commands + self._sweep(exclude=book)

    def tick(self) -> list[Command]:
        """Time passed: deadlines, grace periods. Call it on a timer when no event arrives."""
        self._now = self._clock()
        return self._sweep()

    def trades(self) -> list[TradeSnapshot]:
        return [self.trade(trade_id) for trade_id in self._books]

    def trade(self, trade_id: str) -> TradeSnapshot:
        book = self._book(trade_id)
        self._settle(book)
        return snapshot(book)

    def drain_events(self) -> list[ev.SupervisorEvent]:
        drained, self._events = self._events, []
        return drained

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    # -- plumbing ----------------------------------------------------------------------------
    def _book(self, trade_id: str) -> TradeBook:
        try:
            return self._books[trade_id]
        except KeyError:
            raise UnknownTradeError(f"trade_id={trade_id!r} is not held by this supervisor") from None

    def _register(self, book: TradeBook, slot: LegSlot) -> None:
        self._by_ref[slot.order_ref] = (book, slot)

    def _route(self, event: BrokerEvent) -> tuple[TradeBook, LegSlot] | None:
        ref = getattr(event, "order_ref", "") or ""
        order_id = getattr(event, "order_id", None)
        found = self._by_ref.get(ref)
        if found is None and order_id is not None and order_id in self._ref_by_id:
            found = self._by_ref.get(self._ref_by_id[order_id])
        if found is None:
            parsed = split_ref(ref)
            self._emit(ev.UnknownOrderEvent(
                trade_id=parsed[0] if parsed else "", leg=parsed[1] if parsed else "",
                order_ref=ref, order_id=order_id, event_type=type(event).__name__,
            ))
            return None
        if order_id is not None:
            self._ref_by_id.setdefault(order_id, found[1].order_ref)
        return found

    def _emit(self, event: ev.SupervisorEvent) -> None:
        if event.time == 0.0:
            event = attrs.evolve(event, time=self._now)
        self._events.append(event)
        for subscriber in self._subscribers:
            subscriber(event)

    def _fire(self, book: TradeBook, machine: StateMachine, event: str, **kwargs: Any) -> bool:
        """Send one event to a machine; a refusal becomes an `InvalidTransition` event."""
        before = str(machine.current_state_value)
        try:
            machine.send(event, **kwargs)
        except (TransitionNotAllowed, OverfillError, ValueError) as exc:
            self._emit(ev.InvalidTransition(
                trade_id=book.trade_id, leg=_leg_name(machine), machine=type(machine).__name__,
                state=before, event=event, detail=str(exc),
            ))
            return False
        after = str(machine.current_state_value)
        if after != before:
            self._emit(ev.LegTransitioned(
                trade_id=book.trade_id, leg=_leg_name(machine), machine=type(machine).__name__,
                event=event, source=before, target=after,
            ))
        return True

    def _settle(self, book: TradeBook) -> None:
        """Finish the bookkeeping the trigger deferred to keep its path to one transition."""
        if book.trigger_settled:
            return
        book.trigger_settled = True
        self._fire(book, book.entry.machine, "intend")
        self._fire(book, book.trade, "enter")
        book.entry.intended_at = book.latency.get("intent", self._now)
        self._emit_intended(book, book.entry)
        for slot in book.exits():
            if slot.attached:
                slot.intended_at = book.entry.intended_at
                self._emit_intended(book, slot)

    def _emit_intended(self, book: TradeBook, slot: LegSlot) -> None:
        cmd = slot.command
        self._emit(ev.OrderIntended(
            trade_id=book.trade_id, leg=slot.name, order_ref=cmd.order_ref, quantity=cmd.quantity,
            order_type=cmd.order_type.value, limit_price=cmd.limit_price, stop_price=cmd.stop_price,
        ))

    def _sweep(self, exclude: TradeBook | None = None) -> list[Command]:
        commands: list[Command] = []
        for book in list(self._active.values()):
            if book.finished:
                del self._active[book.trade_id]
            elif book is not exclude:
                self._settle(book)
                commands += self._after(book)
        return commands


def _leg_name(machine: object) -> str:
    model = getattr(machine, "model", None)
    return str(getattr(model, "leg", "") or getattr(model, "name", "") or "trade")
