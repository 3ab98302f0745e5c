"""The desk: what every part of the supervisor shares for one call, and the order primitives.

A `Desk` holds the policy, the shared machines, the clock reading of the current call, the outbox
of commands the call will return, the deadlines, and the emitter of supervisor events. Its order
primitives are the only places that put a command in the outbox, and each one goes through the
leg's machine first: `place` fires `intend` (and, for an exit, checks reduce-only: an exit that
would add working exits past the position is not sent, `ExitBlocked`; one that adds nothing, beside
a larger member of its OCA group, goes even while other exits are being cut), `cancel` fires
`request_cancel`, `modify` fires `request_replace`. A command the machine refuses is not sent.
A refused command is sent again only when a new fact calls for it, at most `Policy`'s limit of
times and not before its back-off (`may_retry`).

Orders a fast path already handed out (the trigger, an entry's fill) are recorded in `handed_out`:
when the deferred transitions place them, the primitive records the transition and does not send
them twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from machines import LegModel
from supervisor import events as ev
from supervisor.book import LegRecord, Role, TradeRecord, exposure, held, position, reduce_only_allows
from supervisor.deadlines import Deadlines
from supervisor.machinery import Machinery, Step
from supervisor.policy import Policy
from supervisor.port import CancelOrder, Command, ModifyOrder, PlaceOrder


class Desk:
    def __init__(self, policy: Policy, emit: Callable[[ev.SupervisorEvent], None]) -> None:
        self.policy = policy
        self.emit = emit
        self.machines = Machinery(emit)
        self.deadlines = Deadlines()
        self.now = 0.0
        # the broker link as the port last reported it (ConnectionLost; ConnectionRestored or a
        # reconciliation): while it is down no new exit is handed out, it could only come back
        # refused (504) and spend a repair or an emergency stop; the reconciliation places it
        self.connected = True
        self.outbox: list[Command] = []
        self.handed_out: set[str] = set()
        self.by_ref: dict[str, tuple[TradeRecord, LegRecord]] = {}  # routing: orderRef first

    def register(self, trade: TradeRecord, leg: LegRecord) -> None:
        self.by_ref[leg.order_ref] = (trade, leg)

    def add_extra(self, trade: TradeRecord, leg: LegRecord) -> None:
        """A leg outside the ladder's pairs (an emergency stop, a flatten order, an adopted order)."""
        trade.legs[leg.leg] = leg
        trade.extras.append(leg)
        self.register(trade, leg)

    # -- firing machines -------------------------------------------------------------------
    def leg_machine(self, leg: LegRecord) -> Any:
        if leg.role is Role.ENTRY:
            return self.machines.entry
        return self.machines.stop if leg.role is Role.STOP else self.machines.leg

    def fire_leg(self, trade: TradeRecord, leg: LegRecord, event: str, **kwargs: Any) -> Step | None:
        return self.machines.fire(self.leg_machine(leg), leg, event, trade.trade_id, **kwargs)

    def fire(self, machine: Any, model: Any, trade: TradeRecord, event: str, **kwargs: Any) -> Step | None:
        return self.machines.fire(machine, model, event, trade.trade_id, **kwargs)

    # -- order primitives ------------------------------------------------------------------
    def place(self, trade: TradeRecord, leg: LegRecord, qty: int | None = None) -> bool:
        """Hand out `leg`'s order (sized `qty`, default its own size). False when not sent."""
        order = leg.order
        if qty is not None and qty != order.quantity:
            order = attrs.evolve(order, quantity=qty)
        if leg.role is not Role.ENTRY and not self.connected and order.order_ref not in self.handed_out:
            return False
        if leg.role is not Role.ENTRY and order.parent_ref is None:
            budget = max(position(trade), 0)
            after = exposure(trade, extra=order)
            if not reduce_only_allows(trade, extra=order):
                self.emit(ev.ExitBlocked(
                    trade_id=trade.trade_id, leg=leg.leg, order_ref=order.order_ref, quantity=order.quantity,
                    working_exits=exposure(trade), position=position(trade),
                    reason=f"working exits would be {after} for a position of {budget}",
                ))
                return False
        leg.command = order
        leg.intended_qty = order.quantity
        if self.fire_leg(trade, leg, "intend") is None:
            return False
        leg.intended_at = self.now
        self.deadlines.add(self.now + self.policy.send_deadline, "send", trade.trade_id, leg.leg, self.now)
        self.emit(ev.OrderIntended(
            trade_id=trade.trade_id, leg=leg.leg, order_ref=order.order_ref, quantity=order.quantity,
            order_type=order.order_type.value, limit_price=order.limit_price, stop_price=order.stop_price,
        ))
        self._out(order)
        return True

    def resend(self, trade: TradeRecord, leg: LegRecord) -> bool:
        """Send a pending intent again (it never reached the broker). At most `Policy.max_resends`."""
        if leg.state != "pending" or leg.resends >= self.policy.max_resends:
            return False
        leg.resends += 1
        leg.intended_at = self.now
        self.deadlines.add(self.now + self.policy.send_deadline, "send", trade.trade_id, leg.leg, self.now)
        self.outbox.append(leg.order)
        return True

    def cancel(self, trade: TradeRecord, leg: LegRecord) -> bool:
        if leg.state == "cancel_requested" or not self.may_retry(leg, leg.cancel_refusals,
                                                                   self.policy.max_cancel_retries):
            return False
        if self.fire_leg(trade, leg, "request_cancel") is None:
            return False
        self.outbox.append(CancelOrder(order_ref=leg.order_ref, order_id=leg.order_id))
        return True

    def modify(self, trade: TradeRecord, leg: LegRecord, *, qty: int | None = None,
               stop_price: float | None = None) -> bool:
        if leg.state not in ("working", "partially_filled"):
            return False
        if not self.may_retry(leg, leg.replace_refusals, self.policy.max_modify_retries):
            return False
        if qty is not None and qty > leg.order_qty and not held(trade, leg):
            # growing an exit is a new exit for the extra shares: reduce-only applies
            budget = max(position(trade), 0)
            after = exposure(trade, resized=(leg, qty))
            if not reduce_only_allows(trade, resized=(leg, qty)):
                self.emit(ev.ExitBlocked(
                    trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref, quantity=qty,
                    working_exits=exposure(trade), position=position(trade),
                    reason=f"growing it to {qty} would take the working exits to {after}, past the position {budget}",
                ))
                return False
        kwargs: dict[str, Any] = {}
        if qty is not None:
            kwargs["qty"] = qty
        if stop_price is not None:
            kwargs["stop_price"] = stop_price
        if self.fire_leg(trade, leg, "request_replace", **kwargs) is None:
            return False
        self.outbox.append(ModifyOrder(order_ref=leg.order_ref, order_id=leg.order_id, quantity=qty,
                                       stop_price=stop_price))
        return True

    def may_retry(self, leg: LegRecord, refusals: int, limit: int) -> bool:
        """A command the broker refused `refusals` times goes again only within the limit, and not
        before its back-off (doubling each time) has passed since the last refusal."""
        if refusals == 0:
            return True
        if refusals >= limit:
            return False
        since = leg.last_refusal_at
        return since is None or self.now - since >= self.policy.retry_backoff * (2 ** (refusals - 1))

    def _out(self, order: PlaceOrder) -> None:
        if order.order_ref in self.handed_out:
            self.handed_out.discard(order.order_ref)  # a fast path wrote it already
            return
        self.outbox.append(order)

    def drain(self) -> list[Command]:
        out, self.outbox = self.outbox, []
        return out


def leg_of(model: LegModel) -> LegRecord:
    assert isinstance(model, LegRecord)
    return model
