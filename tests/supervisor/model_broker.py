"""An adversarial broker for the interleaving property: IB's behaviours, and its worst days.

The broker holds orders the way IB does (held attached children, OCA groups of type 3 that reduce
their members by each fill, fills in pieces at the prices a random walk reaches) and reports what
happens the way IB may:

- status before execution (the usual order on IB), repeated statuses, commissions;
- acknowledgements and executions delayed, reordered among themselves, duplicated, corrected
  (the correction sometimes delivered before its original);
- cancels refused (161) and modifies refused (104) at random, orders rejected (201, 202, 110)
  in any state, children sized to their parent;
- the connection dropped (even while already down): what happens meanwhile is lost, and comes
  back only through `truth()`, as after a reconnect.

Every report is delivered within `max_delay` seconds of its making (IB's reports take
milliseconds; the supervisor's grace periods are seconds), except those an outage swallowed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import attrs

from supervisor.port import (
    Action,
    BrokerEvent,
    BrokerTruth,
    CancelOrder,
    CancelRejected,
    Command,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    ModifyOrder,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    OrderType,
    PlaceOrder,
    Position,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)

LIVE = ("held", "working")


@attrs.define
class Order:
    cmd: PlaceOrder
    order_id: int
    qty: int
    filled: int = 0
    state: str = "submitted"  # submitted (not yet at the exchange), held, working, filled, cancelled, rejected

    @property
    def ref(self) -> str:
        return self.cmd.order_ref

    @property
    def remaining(self) -> int:
        return max(self.qty - self.filled, 0)


@attrs.define
class Report:
    event: BrokerEvent
    made: float


@attrs.define
class Choices:
    """The adversary's knobs for one run (drawn by hypothesis)."""

    refuse_cancel: float = 0.0  # chance a cancel of a working order is refused (161)
    refuse_modify: float = 0.0  # chance a modify is refused (104)
    reject_place: float = 0.0  # chance an order is rejected when it arrives
    reject_code: int = 201
    parent_sized: bool = False  # attached children accepted with their parent's quantity
    duplicate: float = 0.0  # chance an execution is reported twice
    correct: float = 0.0  # chance an execution is corrected (.01) later, maybe before its original
    piece: int = 1000  # the most one execution carries


class ModelBroker:
    def __init__(self, choices: Choices, rng: Callable[[], float], clock: Callable[[], float], max_delay: float = 1.0):
        self.c = choices
        self.rand = rng
        self.clock = clock
        self.max_delay = max_delay
        self.orders: dict[str, Order] = {}
        self.inbox: list[Command] = []  # commands on their way to the exchange, in order
        self.outbox: list[Report] = []  # reports on their way to the supervisor
        self.executions: dict[str, ExecutionReported] = {}  # family -> latest revision (the truth)
        self.delivered: list[ExecutionReported] = []
        self.price = 10.0
        self.connected = True
        self.sent: list[Command] = []  # every command the supervisor handed over
        # children released with their parent's quantity before the supervisor could know
        # (their acknowledgement not yet delivered): an exit beyond the position it cannot prevent
        self.released_oversized = False
        self._ids = itertools.count(1)
        self._execs = itertools.count(1)

    # -- what the supervisor hands over ------------------------------------------------------
    def take(self, commands: list[Command]) -> list[BrokerEvent]:
        """Commands go on the wire in order; the adapter's own answers come back at once."""
        local: list[BrokerEvent] = []
        for cmd in commands:
            self.sent.append(cmd)
            if not self.connected:
                local.append(_not_connected(cmd, self.clock()))
                continue
            if isinstance(cmd, PlaceOrder):
                order = Order(cmd, next(self._ids), cmd.quantity)
                self.orders[cmd.order_ref] = order
                local.append(OrderSent(order_ref=cmd.order_ref, order_id=order.order_id, time=self.clock()))
            self.inbox.append(cmd)
        return local

    # -- the exchange ----------------------------------------------------------------------
    def process(self) -> None:
        """The exchange takes the commands waiting on the wire, in order."""
        while self.inbox:
            cmd = self.inbox.pop(0)
            order = self.orders.get(cmd.order_ref)
            if isinstance(cmd, PlaceOrder) and order is not None:
                self._arrive(order)
            elif isinstance(cmd, CancelOrder):
                self._cancel(cmd, order)
            elif isinstance(cmd, ModifyOrder):
                self._modify(cmd, order)

    def _arrive(self, order: Order) -> None:
        if order.state != "submitted":
            return
        parent = self.orders.get(order.cmd.parent_ref or "")
        if self.rand() < self.c.reject_place or (parent is not None and parent.state in ("cancelled", "rejected")):
            self._reject(order)
            return
        if parent is not None and self.c.parent_sized:
            order.qty = parent.qty
        order.state = "held" if parent is not None and parent.state != "filled" else "working"
        self._report(OrderAccepted(order_ref=order.ref, order_id=order.order_id, quantity=order.qty,
                                   limit_price=order.cmd.limit_price, stop_price=order.cmd.stop_price,
                                   time=self.clock(), perm_id=order.order_id + 1000))
        self._status(order, "PreSubmitted" if order.state == "held" else "Submitted")

    def _reject(self, order: Order) -> None:
        # IB reports a reject as status Cancelled, then the error
        order.state = "rejected"
        self._status(order, "Cancelled")
        self._report(OrderRejected(order_ref=order.ref, order_id=order.order_id, code=self.c.reject_code,
                                   reason="rejected", time=self.clock()))
        self._cascade(order)

    def reject_live(self, ref: str) -> None:
        """IB can reject an order it had acknowledged (201 on a margin check)."""
        order = self.orders.get(ref)
        if order is not None and order.state in ("submitted", *LIVE):
            self._reject(order)

    def _cancel(self, cmd: CancelOrder, order: Order | None) -> None:
        if order is None or order.state in ("filled", "cancelled", "rejected"):
            self._report(CancelRejected(order_ref=cmd.order_ref, order_id=cmd.order_id, code=161,
                                        reason="not cancellable", time=self.clock()))
            return
        if order.state == "working" and self.rand() < self.c.refuse_cancel:
            self._report(CancelRejected(order_ref=cmd.order_ref, order_id=order.order_id, code=161,
                                        reason="refused", time=self.clock()))
            return
        self._end(order, "cancelled by request")

    def _modify(self, cmd: ModifyOrder, order: Order | None) -> None:
        refuse = order is None or order.state not in ("submitted", *LIVE) or self.rand() < self.c.refuse_modify
        if cmd.quantity is not None and order is not None and cmd.quantity <= order.filled:
            refuse = True
        if refuse:
            self._report(ReplaceRejected(order_ref=cmd.order_ref, order_id=cmd.order_id, code=104,
                                         reason="refused", time=self.clock()))
            return
        assert order is not None
        if cmd.quantity is not None:
            order.qty = cmd.quantity
        self._report(ReplaceAccepted(order_ref=order.ref, order_id=order.order_id, quantity=order.qty,
                                     stop_price=cmd.stop_price, time=self.clock()))
        if cmd.stop_price is not None:
            order.cmd = attrs.evolve(order.cmd, stop_price=cmd.stop_price)

    def _end(self, order: Order, reason: str) -> None:
        order.state = "cancelled"
        self._report(OrderCancelled(order_ref=order.ref, order_id=order.order_id, reason=reason, time=self.clock()))
        self._status(order, "Cancelled")
        self._cascade(order)

    def _cascade(self, parent: Order) -> None:
        for child in self.orders.values():
            if child.cmd.parent_ref == parent.ref and child.state in ("submitted", *LIVE):
                self._end(child, f"parent {parent.ref} ended")

    def move(self, price: float) -> None:
        """The market trades at `price`: every working order it reaches fills (in pieces)."""
        self.price = price
        for order in list(self.orders.values()):
            if order.state != "working" or order.remaining == 0 or not self._reached(order):
                continue
            self._fill(order, min(order.remaining, self.c.piece))

    def _reached(self, order: Order) -> bool:
        cmd, price = order.cmd, self.price
        buy = cmd.action is Action.BUY
        if cmd.order_type is OrderType.LIMIT:
            assert cmd.limit_price is not None
            return price <= cmd.limit_price if buy else price >= cmd.limit_price
        if cmd.order_type is OrderType.STOP:
            assert cmd.stop_price is not None
            return price >= cmd.stop_price if buy else price <= cmd.stop_price
        return True

    def _fill(self, order: Order, qty: int) -> None:
        order.filled += qty
        number = next(self._execs)
        exec_id = f"0000{order.order_id:04x}.{number:08x}.01.01"
        execution = ExecutionReported(order_ref=order.ref, order_id=order.order_id, exec_id=exec_id,
                                      action=order.cmd.action, qty=qty, price=self.price, time=self.clock(),
                                      symbol=order.cmd.symbol, perm_id=order.order_id + 1000)
        self.executions[exec_id] = execution
        # IB: the status usually comes before the execution it describes
        self._status(order, "Filled" if order.remaining == 0 else "Submitted")
        if self.c.correct and self.rand() < self.c.correct:
            corrected = attrs.evolve(execution, exec_id=exec_id[:-2] + "02", price=round(self.price + 0.01, 2))
            self.executions[exec_id] = corrected
            if self.rand() < 0.5:  # the correction first, the original after it
                self._report(corrected)
                self._report(execution)
            else:
                self._report(execution)
                self._report(corrected)
        else:
            self._report(execution)
        if self.rand() < self.c.duplicate:
            self._report(execution)
        self._report(CommissionReported(exec_id=exec_id, commission=0.01 * qty, time=self.clock()))
        if order.remaining == 0:
            order.state = "filled"
            for child in self.orders.values():
                if child.cmd.parent_ref == order.ref and child.state == "held":
                    child.state = "working"
                    self.released_oversized |= child.qty > child.cmd.quantity
        group = order.cmd.oca_group
        if group:  # ocaType 3: every other member is reduced by the fill
            for other in self.orders.values():
                if other is order or other.cmd.oca_group != group or other.state not in ("submitted", *LIVE):
                    continue
                other.qty = max(other.qty - qty, other.filled)
                if other.remaining == 0:
                    self._end(other, f"OCA group {group}: reduced to nothing")
                else:
                    self._status(other, "Submitted")

    def _status(self, order: Order, status: str) -> None:
        self._report(StatusObserved(order_ref=order.ref, order_id=order.order_id, status=status,
                                    filled=order.filled, remaining=order.remaining, time=self.clock()))

    def _report(self, event: BrokerEvent) -> None:
        if self.connected:
            self.outbox.append(Report(event, self.clock()))

    # -- the connection --------------------------------------------------------------------
    def disconnect(self) -> BrokerEvent:
        self.connected = False
        self.outbox.clear()  # what was on its way is lost
        return ConnectionLost(time=self.clock())

    def reconnect(self) -> BrokerEvent:
        self.connected = True
        return ConnectionRestored(time=self.clock())

    def truth(self) -> BrokerTruth:
        open_orders = tuple(
            OpenOrder(order_ref=o.ref, order_id=o.order_id, symbol=o.cmd.symbol, action=o.cmd.action,
                      order_type=o.cmd.order_type, quantity=o.qty, filled=o.filled, limit_price=o.cmd.limit_price,
                      stop_price=o.cmd.stop_price, oca_group=o.cmd.oca_group, perm_id=o.order_id + 1000,
                      parent_ref=o.cmd.parent_ref)
            for o in self.orders.values() if o.state in ("submitted", *LIVE)
        )
        return BrokerTruth(open_orders=open_orders, positions=(Position(symbol="ABC", quantity=self.position()),),
                           executions=tuple(self.executions.values()), time=self.clock())

    # -- what the checks read --------------------------------------------------------------
    def position(self) -> int:
        return sum(e.qty if e.action is Action.BUY else -e.qty for e in self.executions.values())

    def working_exits(self) -> int:
        groups: dict[str, int] = {}
        total = 0
        for o in self.orders.values():
            if o.state != "working" or o.cmd.action is not Action.SELL:
                continue
            if o.cmd.oca_group:
                groups[o.cmd.oca_group] = max(groups.get(o.cmd.oca_group, 0), o.remaining)
            else:
                total += o.remaining
        return total + sum(groups.values())

    def working_stops(self) -> int:
        return sum(o.remaining for o in self.orders.values()
                   if o.state == "working" and o.cmd.order_type is OrderType.STOP and o.cmd.action is Action.SELL)

    def overdue(self) -> list[Report]:
        """Reports that must be delivered before the clock may move on."""
        now = self.clock()
        return [r for r in self.outbox if now - r.made >= self.max_delay]


def _not_connected(cmd: Command, now: float) -> BrokerEvent:
    if isinstance(cmd, PlaceOrder):
        return OrderRejected(order_ref=cmd.order_ref, order_id=None, code=504, reason="Not connected", time=now)
    if isinstance(cmd, CancelOrder):
        return CancelRejected(order_ref=cmd.order_ref, order_id=cmd.order_id, code=504, reason="Not connected",
                              time=now)
    return ReplaceRejected(order_ref=cmd.order_ref, order_id=cmd.order_id, code=504, reason="Not connected", time=now)
