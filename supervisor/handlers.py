"""How the supervisor answers each broker event: fire the leg's machine, tell its pair and its
trade what changed, and emit the event that proves it. Mixed into `Supervisor`; the routing,
the checks that follow every event, and the public surface live in `supervisor.core`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from machines import ExecKind
from supervisor import events as ev
from supervisor.book import LegSlot, Role, TradeBook
from supervisor.policy import MismatchAction, Policy
from supervisor.port import (
    CancelOrder,
    CancelRejected,
    Command,
    CommissionReported,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)

if TYPE_CHECKING:
    from statemachine import StateMachine


class BrokerEventHandlers:
    policy: Policy
    _now: float
    _books: dict[str, TradeBook]
    _ref_by_id: dict[int, str]
    _exec_owner: dict[str, TradeBook]
    _unmatched_commissions: dict[str, float]

    if TYPE_CHECKING:
        def _emit(self, event: ev.SupervisorEvent) -> None: ...
        def _fire(self, book: TradeBook, machine: StateMachine, event: str, **kwargs: Any) -> bool: ...
        def resolve_stall(self, book: TradeBook, slot: LegSlot, stage: str) -> None: ...
        def replace_exits(self, book: TradeBook) -> list[Command]: ...

    def _on_sent(self, book: TradeBook, slot: LegSlot, event: OrderSent) -> list[Command]:
        if event.order_id is not None:
            self._ref_by_id[event.order_id] = slot.order_ref
        if self._fire(book, slot.machine, "transmit", order_id=event.order_id):
            slot.sent_at = self._now
            if slot.role is Role.ENTRY:
                book.latency["sent"] = event.time or self._now
            self._emit(ev.OrderSubmitted(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                         order_id=event.order_id))
            self.resolve_stall(book, slot, "send")
        return []

    def _on_accepted(self, book: TradeBook, slot: LegSlot, event: OrderAccepted) -> list[Command]:
        if not self._fire(book, slot.machine, "accept", broker_qty=event.quantity, order_id=event.order_id):
            return []
        if slot.role is Role.ENTRY:
            book.latency.setdefault("ack", event.time or self._now)
        self._emit(ev.OrderAcknowledged(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                        order_id=event.order_id, broker_qty=event.quantity))
        self.resolve_stall(book, slot, "ack")
        self._pair_event(book, slot, "leg_acked")
        commands: list[Command] = []
        if event.quantity != slot.model.intended_qty and not slot.mismatch_reported:
            slot.mismatch_reported = True
            self._emit(ev.QuantityMismatch(
                trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                intended_qty=slot.model.intended_qty, broker_qty=event.quantity,
                policy=self.policy.quantity_mismatch.value,
            ))
            if self.policy.quantity_mismatch is MismatchAction.REPLACE and slot.role is not Role.ENTRY:
                commands += self.replace_exits(book)
        return commands

    def _on_execution(self, book: TradeBook, slot: LegSlot, event: ExecutionReported) -> list[Command]:
        if event.action is not slot.command.action:
            self._emit(ev.InvariantViolated(
                trade_id=book.trade_id, leg=slot.name, invariant="execution_side",
                detail=f"{event.exec_id} is a {event.action.value} on a {slot.command.action.value} order",
                entry_filled=book.entry_filled, exit_filled=book.exit_filled,
            ))
            return []
        kind = slot.model.book.classify(event.exec_id)
        if kind in (ExecKind.DUPLICATE, ExecKind.STALE):
            self._emit(ev.DuplicateExecutionIgnored(trade_id=book.trade_id, leg=slot.name, exec_id=event.exec_id))
            return []
        before = slot.state
        if not self._fire(book, slot.machine, "fill", exec_id=event.exec_id, qty=event.qty,
                          price=event.price, time=event.time):
            return []
        model = slot.model
        self._exec_owner[event.exec_id] = book
        if event.exec_id in self._unmatched_commissions:
            book.commissions[event.exec_id] = self._unmatched_commissions.pop(event.exec_id)
        if slot.role is Role.ENTRY:
            book.latency.setdefault("first_execution", event.time or self._now)
        if before in ("cancel_requested", "cancelled"):
            self._emit(ev.LateFill(trade_id=book.trade_id, leg=slot.name, exec_id=event.exec_id,
                                   qty=event.qty, price=event.price, state=before))
        if kind is ExecKind.CORRECTION:
            self._emit(ev.ExecutionCorrected(trade_id=book.trade_id, leg=slot.name, exec_id=event.exec_id,
                                             qty=event.qty, price=event.price, filled_qty=model.filled_qty))
        if slot.state == "filled" and before != "filled":
            self._emit(ev.LegFilled(trade_id=book.trade_id, leg=slot.name, exec_id=event.exec_id,
                                    filled_qty=model.filled_qty, avg_price=model.avg_price))
        elif slot.state != "filled":
            self._emit(ev.LegPartiallyFilled(trade_id=book.trade_id, leg=slot.name, exec_id=event.exec_id,
                                             qty=event.qty, price=event.price, filled_qty=model.filled_qty,
                                             order_qty=model.order_qty))
        self._fire(book, book.trade, "inventory" if slot.role is Role.ENTRY else "reduced")
        if slot.role is Role.ENTRY and slot.terminal:
            self._fire(book, book.trade, "entry_ended")
        self._pair_event(book, slot, "leg_filled")
        if book.exit_filled > book.entry_filled:
            self._emit(ev.InvariantViolated(
                trade_id=book.trade_id, leg=slot.name, invariant="exit_fills_exceed_entry",
                detail=f"exits filled {book.exit_filled} > entry filled {book.entry_filled}",
                entry_filled=book.entry_filled, exit_filled=book.exit_filled,
            ))
        return []

    def _on_cancelled(self, book: TradeBook, slot: LegSlot, event: OrderCancelled) -> list[Command]:
        if slot.state == "cancelled" or not self._fire(book, slot.machine, "confirm_cancel"):
            return []
        self._emit(ev.LegCancelled(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                   filled_qty=slot.model.filled_qty, reason=event.reason))
        self._leg_ended(book, slot)
        return []

    def _on_rejected(self, book: TradeBook, slot: LegSlot, event: OrderRejected) -> list[Command]:
        if not self._fire(book, slot.machine, "reject", reason=f"{event.code} {event.reason}".strip()):
            return []
        self._emit(ev.LegRejected(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                  code=event.code, reason=event.reason))
        self._leg_ended(book, slot)
        return []

    def _on_cancel_rejected(self, book: TradeBook, slot: LegSlot, event: CancelRejected) -> list[Command]:
        # IB answers 161 when the order filled before our cancel reached it: the fill already
        # ended the leg, so the refusal is only the echo of a race we lost.
        if not slot.terminal:
            slot.cancel_refused = True
            self._fire(book, slot.machine, "cancel_reject")
        return []

    def _on_replace_accepted(self, book: TradeBook, slot: LegSlot, event: ReplaceAccepted) -> list[Command]:
        old_price = slot.model.stop_price
        change = dict(slot.model.pending_replace or {})
        if self._fire(book, slot.machine, "replace_ack"):
            if change.get("stop_price") is not None:
                self._emit(ev.StopRepriced(trade_id=book.trade_id, leg=slot.name, old_price=old_price,
                                           new_price=float(change["stop_price"]),
                                           milestone=_milestone(change)))
            if change.get("qty") is not None:
                self._emit(ev.ProtectiveStopResized(trade_id=book.trade_id, leg=slot.name,
                                                    order_ref=slot.order_ref, quantity=int(change["qty"])))
        return []

    def _on_replace_rejected(self, book: TradeBook, slot: LegSlot, event: ReplaceRejected) -> list[Command]:
        change = dict(slot.model.pending_replace or {})
        reason = f"{event.code} {event.reason}".strip()
        # a modify that reaches an order which just filled is refused (IB 104/10147): real world
        fired = slot.terminal or self._fire(book, slot.machine, "replace_reject", reason=reason)
        if fired and change.get("stop_price") is not None:
            self._emit(ev.StopRepriceFailed(trade_id=book.trade_id, leg=slot.name, kept_price=slot.model.stop_price,
                                            wanted_price=float(change["stop_price"]), reason=reason))
        return []

    def _on_status(self, book: TradeBook, slot: LegSlot, event: StatusObserved) -> list[Command]:
        executed = slot.model.filled_qty
        if event.status == "Filled" and executed == 0:
            self._emit(ev.StatusFillMismatch(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                             status=event.status, status_filled=event.filled,
                                             executed_qty=executed))
            slot.status_reported = True
        elif event.filled > executed:
            if slot.status_claim is None or slot.status_claim[0] != event.filled:
                slot.status_claim = (event.filled, self._now)
                slot.status_reported = False
        else:
            slot.status_claim = None
        return []

    def _on_commission(self, event: CommissionReported) -> None:
        book = self._exec_owner.get(event.exec_id)
        if book is None:
            self._unmatched_commissions[event.exec_id] = event.commission
        else:
            book.commissions[event.exec_id] = event.commission

    def _on_connection_lost(self) -> list[Command]:
        for book in self._books.values():
            for slot in book.legs.values():
                if slot.state in ("sent", "working", "partially_filled", "cancel_requested", "replace_requested"):
                    self._fire(book, slot.machine, "lose_contact")
        return []

    # -- consequences on the pair and the trade ----------------------------------------------
    def _pair_event(self, book: TradeBook, slot: LegSlot, event: str) -> None:
        pair = book.pair_of(slot)
        if pair is not None:
            self._fire(book, pair.machine, event)

    def _leg_ended(self, book: TradeBook, slot: LegSlot) -> None:
        if slot.role is Role.ENTRY:
            self._fire(book, book.trade, "entry_ended")
        self._pair_event(book, slot, "leg_ended")

    def request_cancel(self, book: TradeBook, slot: LegSlot) -> list[Command]:
        if slot.state not in ("pending", "sent", "working", "partially_filled", "replace_requested"):
            return []
        if not self._fire(book, slot.machine, "request_cancel"):
            return []
        return [CancelOrder(order_ref=slot.order_ref, order_id=slot.model.order_id)]

    def request_modify(self, book: TradeBook, slot: LegSlot, *, qty: int | None = None,
                       stop_price: float | None = None, milestone: int | None = None) -> list[Command]:
        if slot.state not in ("working", "partially_filled"):
            return []
        if not self._fire(book, slot.machine, "request_replace", qty=qty, stop_price=stop_price):
            return []
        if milestone is not None and slot.model.pending_replace is not None:
            slot.model.pending_replace["milestone"] = milestone
        return [ModifyOrder(order_ref=slot.order_ref, order_id=slot.model.order_id, quantity=qty,
                            stop_price=stop_price)]


def _milestone(change: dict[str, Any]) -> int:
    milestone = change.get("milestone")
    return -1 if milestone is None else int(milestone)
