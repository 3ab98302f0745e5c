"""`Supervisor`: broker events in, commands and supervisor events out. Sans-IO and deterministic.

A small router over explicit collaborators: the `Desk` (policy, shared machines, outbox,
deadlines, routing), the `LegEventHandlers` (one per broker event type), the `Choreography` (what a
leg's change means for its pair, trade, ladder and milestones), the `Protection` (stop coverage,
reduce-only, milestone stops) and the `Reconciler` (broker truth). Each call reads the clock once,
finishes any work a fast path deferred, does its own work, runs the deadlines that fell due, and
returns the commands it produced.

Two paths hand orders out before the machines record why, because the order is what the caller
is waiting for: `trigger` returns the entry built at arm time as soon as the entry machine allows
a trigger (it is `armed`), and the execution that fills a detached entry in one piece returns the
ladder built at arm time as soon as every level is untouched. The transitions follow on the next
call or `settle()` (the runner calls it right after writing), and record those orders without
sending them again. Everything else is decided by the transitions first.

An event a machine does not allow becomes an `InvalidTransition` event: nothing raises out of
`handle`, and the machine keeps its state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from machines import ExecBook, ExecKind
from supervisor import crossed
from supervisor import events as ev
from supervisor.book import LegRecord, TradeRecord
from supervisor.checkpoint import TradeCheckpoint, dump, load
from supervisor.choreography import Choreography
from supervisor.desk import Desk
from supervisor.handlers import LegEventHandlers
from supervisor.orders import build_trade, split_ref
from supervisor.plan import TradePlan
from supervisor.policy import CoverageAction, Policy
from supervisor.port import (
    BrokerEvent,
    BrokerNotice,
    BrokerTruth,
    Command,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    PlaceOrder,
)
from supervisor.protection import Protection
from supervisor.reconcile import Reconciler
from supervisor.replay import RecordLike, replay
from supervisor.snapshots import TradeSnapshot, snapshot

Clock = Callable[[], float]
Subscriber = Callable[[ev.SupervisorEvent], None]
_CONTACT = ("sent", "working", "partially_filled", "cancel_requested", "replace_requested")


class UnknownTradeError(KeyError):
    """A trade id the supervisor does not hold."""


class Supervisor:
    def __init__(self, clock: Clock, policy: Policy | None = None) -> None:
        self._clock = clock
        self.policy = policy or Policy()
        self._events: list[ev.SupervisorEvent] = []
        self._subscribers: list[Subscriber] = []
        self._trades: dict[str, TradeRecord] = {}
        self._deferred: list[tuple[float, Callable[[], None]]] = []  # (when it happened, the work)
        self._settling = False
        self.desk = Desk(self.policy, self._emit)
        self.execs = ExecBook()
        self.protection = Protection(self.desk)
        self.choreography = Choreography(self.desk, self.protection)
        self.handlers = LegEventHandlers(self.desk, self.choreography, self.protection, self.execs)
        self.reconciler = Reconciler(self.desk, self.handlers, self.protection, self._trades, self._settle_trigger)

    @classmethod
    def restore(cls, records: Iterable[RecordLike], clock: Clock, policy: Policy | None = None) -> Supervisor:
        """Rebuild every machine by replaying the recorded inputs at their recorded times (see
        `supervisor.replay`). Reconcile with broker truth afterwards."""
        return replay(cls, records, clock, policy)

    # -- the public surface ------------------------------------------------------------------
    def arm(self, plan: TradePlan) -> list[Command]:
        """Build every model and order of the trade (never on the trigger path). Idempotent."""
        self._begin()
        if plan.trade_id not in self._trades:
            # under `coverage_gaps=warn` the supervisor places no stop of its own: no level repairs
            repairs = self.policy.max_pair_repairs if self.policy.coverage_gaps is CoverageAction.REPAIR else 0
            trade = build_trade(plan, repairs=repairs)
            self._trades[plan.trade_id] = trade
            for leg in trade.legs.values():
                self.desk.register(trade, leg)
            self._emit(ev.TradeArmed(trade_id=plan.trade_id, symbol=plan.symbol, quantity=plan.quantity))
            for level, qty in enumerate(plan.split(plan.quantity), start=1):
                if qty == 0:
                    self._emit(ev.LadderLevelDropped(trade_id=plan.trade_id, leg=f"tp{level}", level=level,
                                                     reason=f"allocation gives 0 of {plan.quantity} shares"))
        return self._end()

    def trigger(self, trade_id: str, source_time: float | None = None) -> list[Command]:
        """The strategy fired: the entry built at arm time (and a bracket's children) go out at once,
        if the entry machine allows a trigger; the transitions are recorded right after."""
        trade = self._trade(trade_id)
        commands = self._begin()
        if trade.entry.state != "armed":
            return commands + self._end()
        out = [trade.entry_rec.order]
        if trade.attached:
            out += [leg.order for pair in trade.pairs for leg in pair.stop_first]  # type: ignore[attr-defined]
        self.desk.handed_out.update(c.order_ref for c in out)
        trade.stamps["trigger"] = source_time if source_time is not None else self.desk.now
        trade.stamps["intent"] = self.desk.now
        self._deferred.append((self.desk.now, lambda: self._settle_trigger(trade)))
        return commands + out + self._end()

    def submit(self, plan: TradePlan) -> list[Command]:
        """Arm and trigger at once. A trade_id already held returns no commands."""
        if plan.trade_id in self._trades:
            return self._begin() + self._end()
        return self.arm(plan) + self.trigger(plan.trade_id)

    def expire(self, trade_id: str) -> list[Command]:
        """The single-fire watcher ended without a trigger."""
        trade = self._trade(trade_id)
        self._begin()
        if self.desk.fire_leg(trade, trade.entry_rec, "expire") is not None:
            self._trade_event(trade, "abort")
        return self._end()

    def cancel(self, trade_id: str) -> list[Command]:
        """Stop entering: an armed trade expires, a working entry is cancelled. Shares already held
        keep their exits."""
        trade = self._trade(trade_id)
        self._begin()
        if trade.entry.state in ("armed", "triggered"):
            if self.desk.fire_leg(trade, trade.entry_rec, "expire") is not None:
                self._trade_event(trade, "abort")
        elif trade.entry.state in ("pending", "sent", "working", "partially_filled", "replace_requested"):
            self.desk.cancel(trade, trade.entry_rec)
        return self._end()

    def flatten(self, trade_id: str, reason: str = "requested") -> list[Command]:
        """Close the trade now: no new entry, every exit cancelled, then what the executions say is
        held goes out in one reduce-only market order. An armed trade simply expires. Idempotent."""
        trade = self._trade(trade_id)
        self._begin()
        if trade.ladder != "flattening":
            self._emit(ev.FlattenRequested(trade_id=trade_id, reason=reason))
        self.choreography.flatten(trade)
        return self._end()

    def handle(self, event: BrokerEvent) -> list[Command]:
        commands = self._begin()
        # what fell due before this event happened, happened first (not what fell due while the
        # event was on its way: a report stamped before a grace period ran out still counts)
        stamp = getattr(event, "time", 0.0)
        self._run_deadlines(min(stamp, self.desk.now) if stamp else self.desk.now)
        if isinstance(event, ConnectionLost):
            self.desk.connected = False
            self._lose_contact()
        elif isinstance(event, CommissionReported):
            self._commission(event)
        elif isinstance(event, BrokerNotice):
            self._emit(ev.BrokerNoticeReceived(trade_id="", code=event.code, message=event.message))
        elif isinstance(event, ConnectionRestored):
            self.desk.connected = True  # the runner reconciles now: what is due is placed then
        else:
            routed = self._route(event)
            if routed is not None:
                trade, leg = routed
                if isinstance(event, ExecutionReported) and self._first_entry_execution(trade, leg, event):
                    crossed.answer(self.desk, trade, event.price)
                fast = self._fast_exits(trade, leg, event)
                if fast:
                    self._deferred.append((self.desk.now, lambda: self.handlers.handle(trade, leg, event)))
                    return commands + fast
                self.handlers.handle(trade, leg, event)
        return commands + self._end()

    def tick(self) -> list[Command]:
        """Time passed: the deadlines that fell due (grace periods, submission deadlines)."""
        commands = self._begin()
        self._run_deadlines()
        return commands + self._end()

    def settle(self) -> list[Command]:
        """Record what a fast path handed out (the runner calls it right after the write)."""
        return self._begin() + self._end()

    def reconcile(self, truth: BrokerTruth) -> list[Command]:
        commands = self._begin()
        self.desk.connected = True  # the broker answered
        self.reconciler.reconcile(truth)
        self._run_deadlines()
        return commands + self._end()

    def trades(self) -> list[TradeSnapshot]:
        return [self.trade(trade_id) for trade_id in self._trades]

    def trade(self, trade_id: str) -> TradeSnapshot:
        trade = self._trade(trade_id)
        self._settle()
        return snapshot(trade)

    def checkpoint(self, trade_id: str) -> TradeCheckpoint | None:
        """The trade's whole state, when it is finished (closed or aborted, nothing working)."""
        trade = self._trade(trade_id)
        self._settle()
        return dump(trade, self.execs) if trade.finished else None

    def load_checkpoint(self, checkpoint: TradeCheckpoint) -> None:
        """Put a checkpointed trade back as it was (a restore does, instead of replaying it)."""
        trade = load(checkpoint, self.execs)
        self._trades[trade.trade_id] = trade
        for leg in trade.legs.values():
            self.desk.register(trade, leg)

    def drain_events(self) -> list[ev.SupervisorEvent]:
        drained, self._events = self._events, []
        return drained

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    @property
    def last_execution_time(self) -> float | None:
        times = [f.current.time for f in self.execs.families.values() if isinstance(f.current.time, (int, float))]
        return max(times) if times else None

    # -- plumbing ----------------------------------------------------------------------------
    def _begin(self) -> list[Command]:
        self.desk.now = self._clock()
        self._settle()
        return self.desk.drain()

    def _end(self) -> list[Command]:
        return self.desk.drain()

    def _settle(self) -> None:
        """Record what a fast path handed out, as of the moment it did (intents, deadlines and
        events carry that time, not the time of the call that settles them). A subscriber that
        reads a trade while this runs (a live table) finds it settling: the outer call finishes."""
        if self._settling:
            return
        now = self.desk.now
        self._settling = True
        try:
            while self._deferred:
                self.desk.now, work = self._deferred.pop(0)
                work()
        finally:
            self._settling = False
        self.desk.now = now
        if self.desk.handed_out:
            left = sorted(self.desk.handed_out)
            self.desk.handed_out.clear()
            self._emit(ev.InvariantViolated(trade_id="", invariant="fast_path",
                                            detail=f"handed out but never recorded: {left}"))

    def _settle_trigger(self, trade: TradeRecord) -> None:
        desk = self.desk
        if trade.entry.state == "armed" and desk.fire_leg(trade, trade.entry_rec, "trigger") is None:
            return
        if trade.entry.state == "triggered":
            desk.place(trade, trade.entry_rec)
        self._trade_event(trade, "enter")
        step = desk.fire(desk.machines.ladder, trade, trade, "start")
        if step is not None:
            self.choreography.run(trade, step.intents)

    def _trade_event(self, trade: TradeRecord, event: str) -> None:
        step = self.desk.fire(self.desk.machines.trade, trade, trade, event)
        if step is not None:
            self.choreography.run(trade, step.intents)

    def _trade(self, trade_id: str) -> TradeRecord:
        try:
            return self._trades[trade_id]
        except KeyError:
            raise UnknownTradeError(f"trade_id={trade_id!r} is not held by this supervisor") from None

    def _route(self, event: BrokerEvent) -> tuple[TradeRecord, LegRecord] | None:
        ref = getattr(event, "order_ref", "") or ""
        found = self.desk.by_ref.get(ref)
        if found is None:
            perm = getattr(event, "perm_id", None)
            if perm:
                found = next(((t, leg) for t, leg in self.desk.by_ref.values() if leg.perm_id == perm), None)
        if found is None:
            parsed = split_ref(ref)
            self._emit(ev.UnknownOrderEvent(
                trade_id=parsed[0] if parsed else "", leg=parsed[1] if parsed else "", order_ref=ref,
                order_id=getattr(event, "order_id", None), event_type=type(event).__name__,
            ))
        return found

    def _first_entry_execution(self, trade: TradeRecord, leg: LegRecord, event: ExecutionReported) -> bool:
        """The entry's first share, while every exit of the ladder is still to go out."""
        return (leg is trade.entry and leg.filled == 0
                and trade.ladder in ("waiting", "attached") and event.action is leg.order.action
                and self.execs.classify(event.exec_id) is ExecKind.NEW
                and (trade.exit_filled == 0 if trade.attached else all(p.state == "pending" for p in trade.pairs)))

    def _fast_exits(self, trade: TradeRecord, leg: LegRecord, event: BrokerEvent) -> list[Command]:
        """The ladder built at arm time, when this execution fills a detached entry in one piece
        and no level has been touched: what the machines will decide, handed out before they do."""
        if not (isinstance(event, ExecutionReported) and self.desk.connected and leg is trade.entry
                and trade.ladder == "waiting"
                and not trade.attached and leg.filled == 0 and event.qty == trade.quantity
                and event.action is leg.order.action and leg.state in ("pending", "sent", "working")
                and self.execs.classify(event.exec_id) is ExecKind.NEW
                and all(pair.state == "pending" and pair.target_qty > 0 for pair in trade.pairs)):
            return []
        out: list[PlaceOrder] = []
        for pair in trade.pairs:
            out += [_sized(leg, pair.target_qty) for leg in pair.stop_first]
        self.desk.handed_out.update(c.order_ref for c in out)
        trade.stamps.setdefault("exits_out", self.desk.now)
        return list(out)

    def _lose_contact(self) -> None:
        for trade in self._trades.values():
            if trade.finished:
                continue
            for leg in trade.legs.values():
                if leg.state in _CONTACT:
                    self.desk.fire_leg(trade, leg, "lose_contact")

    def _commission(self, event: CommissionReported) -> None:
        family = self.execs.family_of(event.exec_id)
        found = self.desk.by_ref.get(family.owner) if family is not None else None
        if found is None:
            self.handlers.unmatched[event.exec_id] = event.commission
        else:
            found[0].commissions[event.exec_id] = event.commission

    def _run_deadlines(self, until: float | None = None) -> None:
        for deadline in self.desk.deadlines.due(self.desk.now if until is None else until):
            trade = self._trades.get(deadline.trade_id)
            if trade is None:
                continue
            if deadline.kind == "cover":
                self.protection.on_deadline(trade, deadline)
                continue
            leg = trade.legs.get(deadline.key)
            if leg is None:
                continue
            if deadline.kind == "status":
                self.handlers.status_deadline(trade, leg, deadline.since)
            elif deadline.kind == "leftover":
                self.choreography.leftover_due(trade, leg)
            elif deadline.kind == "send" and leg.state == "pending" and leg.intended_at == deadline.since:
                self._stalled(trade, leg, "send", deadline.since)
            elif deadline.kind == "ack" and leg.state == "sent" and leg.sent_at == deadline.since:
                self._stalled(trade, leg, "ack", deadline.since)

    def _stalled(self, trade: TradeRecord, leg: LegRecord, stage: str, since: float) -> None:
        self._emit(ev.SubmissionStalled(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref, stage=stage,
                                        waited=self.desk.now - since))

    def _emit(self, event: ev.SupervisorEvent) -> None:
        if event.time == 0.0:
            event = attrs.evolve(event, time=self.desk.now)
        self._events.append(event)
        for subscriber in self._subscribers:
            subscriber(event)


def _sized(leg: Any, qty: int) -> PlaceOrder:
    order: PlaceOrder = leg.order
    return order if order.quantity == qty else attrs.evolve(order, quantity=qty)
