"""A scripted exchange for the figures that need no socket: it answers a supervisor the way IB does.

`Exchange` takes the commands a supervisor (or its journal recorder) returns and answers each:
a placement is sent, acknowledged and reported `Submitted`; a modify is accepted; a cancel ends
the order. `fill(ref, qty, price)` reports an execution as IB does (status first, then the
execution, then its commission); an OCA group of ocaType 3 shrinks the sibling as the exchange
would. Everything it causes is fed back until nothing more comes (`feed`). The clock is a counter
that moves a quarter second per call, so deadlines and grace periods come due as in a session.

`ladder_plan` is the trade every figure uses: long 100 shares, three take-profits (60/30/10), one
stop, limit entry. `protect(...)` arms, triggers, fills the entry in one piece and acknowledges
the six exits: the trade is then live and protected.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Protocol

from supervisor.plan import EntryType, Side, TradePlan
from supervisor.port import (
    BrokerEvent,
    CancelOrder,
    Command,
    CommissionReported,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderSent,
    PlaceOrder,
    ReplaceAccepted,
    StatusObserved,
)


class Handles(Protocol):
    def handle(self, event: BrokerEvent) -> list[Command]: ...
    def settle(self) -> list[Command]: ...


class StepClock:
    """Moves `step` seconds each time it is read after `tick()`; reads in between agree."""

    def __init__(self, start: float = 1_710_426_600.0, step: float = 0.25) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        return self.now

    def tick(self) -> float:
        self.now += self.step
        return self.now


def ladder_plan(trade_id: str, *, quantity: int = 100) -> TradePlan:
    return TradePlan(trade_id=trade_id, symbol="SIM", side=Side.LONG, quantity=quantity, entry_price=100.70,
                     entry_type=EntryType.LIMIT, take_profits=(101.2, 101.7, 102.4), stop_losses=(99.95,))


class Exchange:
    def __init__(self, target: Handles, clock: StepClock, *, exec_prefix: str = "0001f4e8") -> None:
        self.target = target
        self.clock = clock
        self.ids = itertools.count(1)
        self.order_ids: dict[str, int] = {}
        self.orders: dict[str, PlaceOrder] = {}
        self.sizes: dict[str, int] = {}
        self.filled: dict[str, int] = {}
        self.execs = itertools.count(1)
        self.exec_prefix = exec_prefix
        self.on_command: Callable[[Command], Any] | None = None

    def feed(self, events: list[BrokerEvent]) -> None:
        queue = list(events)
        while queue:
            event = queue.pop(0)
            commands = self.target.handle(event) + self.target.settle()
            for command in commands:
                queue += self.answer(command)

    def run(self, commands: list[Command]) -> None:
        """Commands a call returned (arm, trigger, tick...): answer them, and what that causes."""
        for command in commands + self.target.settle():
            self.feed(self.answer(command))

    def hold(self, command: PlaceOrder) -> int:
        """Take the order (without answering): its order id."""
        ref = command.order_ref
        self.orders[ref], self.sizes[ref] = command, command.quantity
        self.filled.setdefault(ref, 0)
        return self.order_ids.setdefault(ref, next(self.ids))

    def answer(self, command: Command) -> list[BrokerEvent]:
        if self.on_command is not None:
            self.on_command(command)
        t = self.clock.now
        if isinstance(command, PlaceOrder):
            ref, oid = command.order_ref, self.hold(command)
            return [OrderSent(ref, oid, t),
                    OrderAccepted(ref, oid, command.quantity, command.limit_price, command.stop_price, t),
                    StatusObserved(ref, oid, "Submitted", 0, command.quantity, 0.0, t)]
        if isinstance(command, ModifyOrder):
            if command.quantity is not None:
                self.sizes[command.order_ref] = command.quantity
            return [ReplaceAccepted(command.order_ref, command.order_id, command.quantity, command.limit_price,
                                    command.stop_price, t)]
        if isinstance(command, CancelOrder):
            self.sizes[command.order_ref] = self.filled.get(command.order_ref, 0)
            return [OrderCancelled(command.order_ref, command.order_id, "cancelled by request", t)]
        raise TypeError(command)

    def execution(self, ref: str, qty: int, price: float) -> list[BrokerEvent]:
        """IB's order for one execution: the status, the execution, the commission."""
        order = self.orders[ref]
        oid = self.order_ids.get(ref)
        t = self.clock.tick()
        self.filled[ref] += qty
        total, size = self.filled[ref], self.sizes[ref]
        exec_id = f"{self.exec_prefix}.{next(self.execs):08d}.01.01"
        status = "Filled" if total >= size else "PartiallyFilled"
        return [StatusObserved(ref, oid, status, total, max(size - total, 0), price, t),
                ExecutionReported(ref, oid, exec_id, order.action, qty, price, t, order.symbol),
                CommissionReported(exec_id, round(qty * 0.005, 4), "USD", t)]

    def sibling_reduced(self, ref: str, qty: int) -> list[BrokerEvent]:
        """ocaType 3: a fill of `ref` takes as many shares off its OCA sibling (IB resends it)."""
        order = self.orders[ref]
        for other, command in self.orders.items():
            if other != ref and order.oca_group and command.oca_group == order.oca_group:
                left = self.sizes[other] - qty
                if left <= self.filled[other]:
                    self.sizes[other] = self.filled[other]
                    return [OrderCancelled(other, self.order_ids.get(other), "OCA", self.clock.now)]
                self.sizes[other] = left
                return [OrderAccepted(other, self.order_ids.get(other), left, command.limit_price, command.stop_price,
                                      self.clock.now)]
        return []

    def fill(self, ref: str, qty: int, price: float) -> None:
        self.feed(self.execution(ref, qty, price) + self.sibling_reduced(ref, qty))


def protect(target: Any, exchange: Exchange, trade_id: str, *, quantity: int = 100) -> TradePlan:
    """Arm, trigger, fill the entry in one piece and acknowledge the six exits."""
    plan = ladder_plan(trade_id, quantity=quantity)
    exchange.clock.tick()
    exchange.run(target.arm(plan))
    exchange.clock.tick()
    exchange.run(target.trigger(trade_id))
    exchange.fill(f"{trade_id}:entry", quantity, 100.66)
    return plan


def take_profits(target: Any, exchange: Exchange, trade_id: str) -> None:
    """TP1, TP2, TP3 fill in turn (the stops reprice at the milestones): the trade closes."""
    for level, (qty, price) in enumerate(((60, 101.2), (30, 101.71), (10, 102.4)), start=1):
        exchange.clock.tick()
        exchange.run(target.tick())
        exchange.fill(f"{trade_id}:tp{level}", qty, price)
