# How the exchange's order book works: the live orders in order-id (time) priority, matched at
# each price point with `orders.decide`. The book changes orders and returns facts (`Filled`,
# `Ended`, `Resized`, `Released`); turning facts into port events, with or without faults, is the
# reporter's job (reporting.py), so the matching rules here never know about reporting.
# - One execution per order per price point, of at most `max_fill_qty` shares.
# - An order fully filled releases its attached children (held until then).
# - OCA groups, IB's ocaType: 1 cancels the other members on any fill; 2 and 3 reduce the other
#   members' quantity by the filled amount (a member left with nothing is cancelled). Members are
#   processed one after another and the group is updated after every fill, so 2 ("with block")
#   and 3 ("no block") behave alike here: no overfill race. A group with ocaType 0 acts as 1.
# - Cancelling an order cancels its live attached children; DAY orders expire at their close.
from __future__ import annotations

import random

import attrs

from broker.sim.config import SimConfig
from broker.sim.orders import OrderState, SimOrder, decide, round_to_tick, slipped
from supervisor.port import OpenOrder


@attrs.frozen(eq=False)
class Filled:
    order: SimOrder
    qty: int
    price: float
    time: float
    filled: int  # the order's cumulative figures right after this fill
    remaining: int
    avg_price: float


@attrs.frozen(eq=False)
class Ended:
    order: SimOrder
    reason: str
    time: float


@attrs.frozen(eq=False)
class Resized:
    order: SimOrder  # OCA type 2/3 took quantity away
    time: float


@attrs.frozen(eq=False)
class Released:
    order: SimOrder  # an attached child whose parent filled: now working
    time: float


Fact = Filled | Ended | Resized | Released


class Book:
    def __init__(self, config: SimConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng
        self.by_ref: dict[str, SimOrder] = {}
        self._by_id: dict[int, SimOrder] = {}
        self._live: list[SimOrder] = []
        self.last_price: float | None = None  # the price of the last point matched

    def add(self, order: SimOrder) -> None:
        self.by_ref[order.ref] = order
        self._by_id[order.order_id] = order
        self._live.append(order)

    def find(self, ref: str, order_id: int | None = None) -> SimOrder | None:
        order = self.by_ref.get(ref)
        if order is None and order_id is not None:
            order = self._by_id.get(order_id)
        return order

    def all_orders(self) -> tuple[OpenOrder, ...]:
        """Every order the exchange has seen, live or final, in placement order."""
        return tuple(o.open_order() for o in self.by_ref.values())

    def open_orders(self) -> tuple[OpenOrder, ...]:
        """Every order the broker holds, on its way to the exchange (PendingSubmit) included."""
        return tuple(o.open_order() for o in self._live if o.state.live)

    def accept(self, order: SimOrder, expires_at: float | None) -> None:
        """The order reached the exchange: working, or held while its parent has not filled."""
        parent = self.by_ref.get(order.command.parent_ref or "")
        held = parent is not None and parent.state is not OrderState.FILLED
        order.state = OrderState.HELD if held else OrderState.WORKING
        order.expires_at = expires_at
        order.rested_at = self.last_price

    def reject(self, order: SimOrder) -> None:
        order.state = OrderState.REJECTED
        self._prune()

    def modify(self, order: SimOrder, quantity: int | None, limit: float | None, stop: float | None) -> None:
        if quantity is not None:
            order.quantity = quantity
        if limit is not None:
            order.limit_price = limit
        if stop is not None:
            order.stop_price = stop
        order.rested_at = self.last_price  # rests at its new levels from the current price

    def match(
        self, time: float, price: float, *, gap: bool, rth: bool, bid: float | None, ask: float | None
    ) -> list[Fact]:
        """Trade every working order that this price point reaches, in order-id priority. `gap`:
        the point opens a bar, so no order saw the price move there."""
        facts: list[Fact] = []
        config = self._config
        self.last_price = price
        for order in [o for o in self._live if o.state is OrderState.WORKING]:
            if order.state is not OrderState.WORKING or not (rth or order.command.outside_rth):
                continue  # taken out by an earlier fill's OCA group, or outside its hours
            previous = None if gap else order.rested_at
            decision = decide(order, price, previous, config.limit_fills_on_touch, bid=bid, ask=ask)
            order.rested_at = price
            if decision is None:
                continue
            if decision.market:
                ticks = config.slippage_ticks
                if config.slippage_jitter_ticks:
                    ticks += self._rng.randint(0, config.slippage_jitter_ticks)
                fill_price = slipped(order.action, decision.price, ticks, config.tick_size)
            else:
                fill_price = round_to_tick(decision.price, config.tick_size)
            qty = order.remaining
            if config.max_fill_qty is not None:
                qty = min(qty, config.max_fill_qty)
            facts += self.fill(order, qty, fill_price, time)
        return facts

    def fill(self, order: SimOrder, qty: int, price: float, time: float) -> list[Fact]:
        order.filled += qty
        order.notional += qty * price
        facts: list[Fact] = [Filled(order, qty, price, time, order.filled, order.remaining, order.avg_price)]
        if order.remaining == 0:
            order.state = OrderState.FILLED
            for child in self._children(order):
                if child.state is OrderState.HELD:
                    child.state = OrderState.WORKING
                    child.rested_at = self.last_price
                    facts.append(Released(child, time))
        group = order.command.oca_group
        if group is not None:
            for other in [o for o in self._live if o is not order and o.command.oca_group == group]:
                if other.state.final:
                    continue
                if order.command.oca_type in (0, 1):
                    facts += self.cancel(other, f"OCA group {group!r}: {order.ref} filled", time)
                elif other.quantity - qty <= other.filled:
                    facts += self.cancel(other, f"OCA group {group!r}: reduced to nothing by {order.ref}", time)
                else:
                    other.quantity -= qty
                    facts.append(Resized(other, time))
        self._prune()
        return facts

    def cancel(self, order: SimOrder, reason: str, time: float) -> list[Fact]:
        order.state = OrderState.CANCELLED
        facts: list[Fact] = [Ended(order, reason, time)]
        for child in self._children(order):
            if child.state.live:
                facts += self.cancel(child, f"parent {order.ref} cancelled", time)
        self._prune()
        return facts

    def expire(self, time: float) -> list[Fact]:
        facts: list[Fact] = []
        for order in list(self._live):
            if order.expires_at is not None and order.expires_at <= time and order.state.live:
                facts += self.cancel(order, "DAY order expired at the session close", time)
        return facts

    def _children(self, parent: SimOrder) -> list[SimOrder]:
        return [o for o in self._live if o.command.parent_ref == parent.ref]

    def _prune(self) -> None:
        self._live = [o for o in self._live if o.state.live]
