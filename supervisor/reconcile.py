"""Reconciliation with broker truth: after a reconnect, a restart, or a stalled submission.

The broker's answer (`BrokerTruth`: open orders, positions, executions since a time) is matched
to our legs by orderRef, then by order id:

- executions we have not applied are applied (the fill book drops duplicates by exec id);
- our live legs the broker still works leave `unknown` (or are acknowledged, if the answer is
  the first we hear of them); legs the broker does not know end `cancelled` (or `filled` when
  the executions complete them) with an event, never silently; an intent that never reached
  the broker is sent again under the same orderRef (submission is idempotent by it);
- broker orders with one of our trade ids in their orderRef that we lack (a crash between the
  send and the journal flush) are adopted into their trade; any other order is foreign and
  left alone;
- working exits with no position are orphans, positions short of stop coverage are gaps (the
  grace period is over: the outage was it), and a broker position that differs from our
  executions is a `PositionMismatch`. A `ReconciliationCompleted` event carries the counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from machines import ExecKind
from supervisor import events as ev
from supervisor.book import LegSlot, Role, TradeBook
from supervisor.orders import split_ref
from supervisor.policy import CoverageAction, Policy
from supervisor.port import (
    BrokerEvent,
    BrokerTruth,
    Command,
    OpenOrder,
    OrderAccepted,
    OrderSent,
    PlaceOrder,
    TimeInForce,
)

if TYPE_CHECKING:
    from statemachine import StateMachine


class Reconciliation:
    policy: Policy
    _now: float
    _books: dict[str, TradeBook]
    _by_ref: dict[str, tuple[TradeBook, LegSlot]]
    _ref_by_id: dict[int, str]

    _clock: Callable[[], float]

    if TYPE_CHECKING:
        def _emit(self, event: ev.SupervisorEvent) -> None: ...
        def _fire(self, book: TradeBook, machine: StateMachine, event: str, **kwargs: Any) -> bool: ...
        def _register(self, book: TradeBook, slot: LegSlot) -> None: ...
        def _leg_ended(self, book: TradeBook, slot: LegSlot) -> None: ...
        def _new_slot(self, role: Role, name: str, command: PlaceOrder, *, book: TradeBook | None = None,
                      level: int | None = None, attached: bool = False) -> LegSlot: ...
        def _after(self, book: TradeBook) -> list[Command]: ...
        def _settle(self, book: TradeBook) -> None: ...
        def handle(self, event: BrokerEvent) -> list[Command]: ...
        def request_cancel(self, book: TradeBook, slot: LegSlot) -> list[Command]: ...
        def report_orphan(self, book: TradeBook, slot: LegSlot) -> list[Command]: ...

    def reconcile(self, truth: BrokerTruth) -> list[Command]:
        self._now = self._clock()
        commands: list[Command] = []
        counts = {"missed_executions": 0, "adopted": 0, "foreign": 0, "vanished": 0, "orphans": 0,
                  "coverage_gaps": 0, "position_mismatches": 0}
        open_by_ref = {order.order_ref: order for order in truth.open_orders if order.order_ref}
        open_by_id = {order.order_id: order for order in truth.open_orders if order.order_id is not None}
        executed_refs = {execution.order_ref for execution in truth.executions}
        at_broker = set(open_by_ref) | executed_refs

        def broker_order(slot: LegSlot) -> OpenOrder | None:
            order = open_by_ref.get(slot.order_ref)
            if order is None and slot.model.order_id is not None:
                order = open_by_id.get(slot.model.order_id)
            return order

        # an entry the broker knows although our record of its trigger was lost (a crash
        # between the send and the journal flush): it was triggered
        for book in self._books.values():
            if book.entry.state in ("armed", "triggered") and book.entry.order_ref in at_broker:
                self._settle_lost_trigger(book)
        # Rounds: an execution we missed can place intents (a ladder after the entry's fill)
        # that the broker already holds too; they are matched in the next round, not re-sent.
        for _ in range(4):
            legs_before = len(self._by_ref)
            for book in list(self._books.values()):
                for slot in list(book.legs.values()):
                    order = broker_order(slot)
                    if order is not None:
                        commands += self._still_working(book, slot, order)
                    elif slot.state == "pending" and slot.order_ref in executed_refs:
                        commands += self.handle(OrderSent(order_ref=slot.order_ref, order_id=None, time=self._now))
            for execution in sorted(truth.executions, key=lambda e: e.time):
                found = self._find(execution.order_ref, execution.order_id)
                if found is not None and found[1].model.book.classify(execution.exec_id) in (
                        ExecKind.NEW, ExecKind.CORRECTION):
                    counts["missed_executions"] += 1
                    commands += self.handle(execution)
            if len(self._by_ref) == legs_before:
                break
        # what the broker already holds is not sent again
        commands = [c for c in commands if not (isinstance(c, PlaceOrder) and c.order_ref in at_broker)]
        for unmatched in truth.open_orders:
            if self._find(unmatched.order_ref, unmatched.order_id) is None:
                adopted = self._adopt(unmatched)
                counts["adopted" if adopted else "foreign"] += 1
        intended_now = {c.order_ref for c in commands if isinstance(c, PlaceOrder)}
        for book in list(self._books.values()):
            for slot in list(book.legs.values()):
                if slot.live and slot.order_ref not in intended_now and broker_order(slot) is None:
                    vanished, resent = self._not_at_broker(book, slot)
                    counts["vanished"] += vanished
                    commands += resent
        self._now = self._clock()
        for book in self._books.values():
            orphans, gaps, more = self._audit(book)
            counts["orphans"] += orphans
            counts["coverage_gaps"] += gaps
            commands += more + self._after(book)
        counts["position_mismatches"] = self._compare_positions(truth)
        self._emit(ev.ReconciliationCompleted(
            trade_id="", missed_executions=counts["missed_executions"], adopted=counts["adopted"],
            foreign=counts["foreign"], vanished=counts["vanished"], orphans=counts["orphans"],
            coverage_gaps=counts["coverage_gaps"], position_mismatches=counts["position_mismatches"],
        ))
        return commands

    @property
    def last_execution_time(self) -> float | None:
        """The newest execution applied: ask the broker for executions since then."""
        times = [fill.time for book in self._books.values() for slot in book.legs.values()
                 for fill in slot.model.book.fills.values() if isinstance(fill.time, (int, float))]
        return max(times) if times else None

    # -- matching ------------------------------------------------------------------------------
    def _find(self, ref: str, order_id: int | None) -> tuple[TradeBook, LegSlot] | None:
        found = self._by_ref.get(ref)
        if found is None and order_id is not None and order_id in self._ref_by_id:
            found = self._by_ref.get(self._ref_by_id[order_id])
        return found

    def _still_working(self, book: TradeBook, slot: LegSlot, order: OpenOrder) -> list[Command]:
        commands: list[Command] = []
        if slot.state == "unknown":
            self._fire(book, slot.machine, "reconcile_working")
            if slot.model.broker_qty != order.quantity:
                slot.model.broker_qty = order.quantity
        elif slot.state in ("pending", "sent"):
            if slot.state == "pending":
                commands += self.handle(OrderSent(order_ref=slot.order_ref, order_id=order.order_id, time=self._now))
            commands += self.handle(OrderAccepted(order_ref=slot.order_ref, order_id=order.order_id,
                                                  quantity=order.quantity, limit_price=order.limit_price,
                                                  stop_price=order.stop_price, time=self._now))
        if order.order_id is not None:
            self._ref_by_id[order.order_id] = slot.order_ref
            slot.model.order_id = order.order_id
        return commands

    def _not_at_broker(self, book: TradeBook, slot: LegSlot) -> tuple[int, list[Command]]:
        resend = slot.state == "pending"
        if resend and slot.role is not Role.ENTRY and book.exit_exposure() > max(book.position, 0):
            # not worth sending again: the position no longer needs it (it may have reached the
            # broker and died already, e.g. cancelled by its OCA sibling's fill)
            self._fire(book, slot.machine, "request_cancel")
            resend = False
        if resend:
            # the intent never reached the broker: send it again under the same orderRef
            slot.intended_at = self._now
            slot.stalled.discard("send")
            return 0, [slot.command]
        if slot.state == "unknown":
            self._fire(book, slot.machine, "reconcile_gone")
        else:
            self._fire(book, slot.machine, "confirm_cancel")
        self._leg_ended(book, slot)
        if slot.state == "filled":  # its executions completed it: nothing vanished
            self._emit(ev.LegFilled(trade_id=book.trade_id, leg=slot.name, exec_id="",
                                    filled_qty=slot.model.filled_qty, avg_price=slot.model.avg_price))
        if slot.state != "cancelled":
            return 0, []
        self._emit(ev.LegCancelled(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                   filled_qty=slot.model.filled_qty, reason="not at the broker"))
        return 1, []

    def _settle_lost_trigger(self, book: TradeBook) -> None:
        if book.entry.state == "armed":
            self._fire(book, book.entry.machine, "trigger")
        book.trigger_settled = False
        self._settle(book)

    def _adopt(self, order: OpenOrder) -> bool:
        parsed = split_ref(order.order_ref)
        book = self._books.get(parsed[0]) if parsed else None
        if book is None or parsed is None:
            self._emit(ev.ForeignOrderSeen(trade_id="", order_ref=order.order_ref, order_id=order.order_id))
            return False
        leg = parsed[1]
        role = Role.TAKE_PROFIT if leg.startswith(("tp", "etp")) else Role.STOP
        digits = "".join(ch for ch in leg.split("~")[0] if ch.isdigit())
        level = int(digits) if digits and leg.startswith(("tp", "sl")) else None
        command = PlaceOrder(
            order_ref=order.order_ref, symbol=order.symbol, action=order.action, order_type=order.order_type,
            quantity=order.quantity, limit_price=order.limit_price, stop_price=order.stop_price,
            tif=TimeInForce.DAY, oca_group=order.oca_group, oca_type=3 if order.oca_group else 0,
            account=book.plan.account,
        )
        slot = self._new_slot(role, leg, command, level=level)
        book.add_exit(slot)
        self._register(book, slot)
        # only ladder legs mean the ladder is out; an adopted protective or emergency stop
        # takes its place in the sequence, so the next one gets a new name
        number = int(digits) if digits else 0
        if leg.startswith("pstop"):
            book.pstop = slot
            book.pstop_seq = max(book.pstop_seq, number)
        elif leg.startswith("estop"):
            book.emergency_seq = max(book.emergency_seq, number)
        else:
            book.exits_placed = True
        self._fire(book, slot.machine, "transmit", order_id=order.order_id)
        self._fire(book, slot.machine, "accept", broker_qty=order.quantity, order_id=order.order_id)
        if order.order_id is not None:
            self._ref_by_id[order.order_id] = order.order_ref
        if level is not None:
            tp = book.legs.get(leg.replace("sl", "tp", 1)) if role is Role.STOP else slot
            sl = slot if role is Role.STOP else book.legs.get(leg.replace("tp", "sl", 1))
            if tp is not None and sl is not None and level not in book.pairs and order.oca_group:
                pair = book.add_pair(level, tp, sl, order.oca_group)
                self._fire(book, pair.machine, "leg_acked")
        self._emit(ev.OrderAdopted(trade_id=book.trade_id, leg=leg, order_ref=order.order_ref,
                                   order_id=order.order_id))
        return True

    # -- what the truth says about the trades --------------------------------------------------
    def _audit(self, book: TradeBook) -> tuple[int, int, list[Command]]:
        commands: list[Command] = []
        orphans = gaps = 0
        if book.position == 0 and book.entry_filled > 0:
            for slot in book.working_exits():
                orphans += 1
                commands += self.report_orphan(book, slot)
        coverage = book.stop_coverage()
        if book.position > coverage and book.exits_placed and not book.replacing:
            gaps += 1
            if self.policy.coverage_gaps is CoverageAction.REPAIR:
                # the outage was the grace period: the regular check acts at once
                book.gap_since = self._now - self.policy.protection_grace
            else:
                self._emit(ev.CoverageGap(trade_id=book.trade_id, position=book.position, stop_coverage=coverage,
                                          uncovered=book.position - coverage))
        return orphans, gaps, commands

    def _compare_positions(self, truth: BrokerTruth) -> int:
        ours: dict[str, int] = {}
        for book in self._books.values():
            ours[book.plan.symbol] = ours.get(book.plan.symbol, 0) + book.plan.side.sign * book.position
        mismatches = 0
        for position in truth.positions:
            expected = ours.get(position.symbol, 0)
            if position.quantity != expected:
                mismatches += 1
                self._emit(ev.PositionMismatch(trade_id="", symbol=position.symbol,
                                               broker_position=position.quantity, executed_position=expected))
        reported = {p.symbol for p in truth.positions}
        for symbol, expected in ours.items():
            if expected != 0 and symbol not in reported:
                mismatches += 1
                self._emit(ev.PositionMismatch(trade_id="", symbol=symbol, broker_position=0,
                                               executed_position=expected))
        return mismatches
