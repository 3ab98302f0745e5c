# How the exchange prices one order at one price point. `SimOrder` is the exchange's own mutable
# record of an order (it never crosses the port; `open_order()` turns it into the port's value).
# `decide()` answers "does this order trade at this price, and at what price?":
# - market: at the price met (the quote's ask/bid when quotes are loaded), plus slippage;
# - stop: triggers when the price touches the stop, then fills as market;
# - limit: trades when the price goes through it (or touches it, configurable);
# - stop-limit: triggers like a stop, then is a limit, marketable at once if the trigger price is
#   within its limit.
# At what price: every order remembers the last price it rested at (the previous point, or the
# last price when it reached the exchange, was released or modified). If that was on the far
# side of its level and the price is now through it, the price crossed the level on the way
# inside the bar: it trades at its level (limit or stop). On a gap (a bar's open: no one saw the
# price move there), or when the market was already through its level, it trades at the price
# met instead: a gapped stop fills at the open, a gapped limit at the better open.
from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from supervisor.port import Action, OpenOrder, OrderType, PlaceOrder, TimeInForce


class OrderState(enum.Enum):
    PENDING = "PendingSubmit"  # sent, not yet at the exchange (ack latency)
    HELD = "PreSubmitted"  # an attached child waiting for its parent to fill
    WORKING = "Submitted"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    REJECTED = "Inactive"

    @property
    def final(self) -> bool:
        return self in (OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED)

    @property
    def live(self) -> bool:
        return not self.final


@attrs.define
class SimOrder:
    """The exchange's record of one order: mutable, private to the sim."""

    order_id: int
    number: int  # 1-based placement count: what order faults' @N count
    command: PlaceOrder
    quantity: int
    limit_price: float | None
    stop_price: float | None
    state: OrderState = OrderState.PENDING
    filled: int = 0
    notional: float = 0.0
    triggered: bool = False  # a stop or stop-limit whose stop has been touched
    rested_at: float | None = None  # the last price the order rested through (None: not yet)
    expires_at: float | None = None  # DAY orders

    @classmethod
    def from_command(cls, command: PlaceOrder, order_id: int, number: int, quantity: int) -> SimOrder:
        return cls(order_id, number, command, quantity, command.limit_price, command.stop_price)

    @property
    def ref(self) -> str:
        return self.command.order_ref

    @property
    def action(self) -> Action:
        return self.command.action

    @property
    def order_type(self) -> OrderType:
        return self.command.order_type

    @property
    def remaining(self) -> int:
        return max(self.quantity - self.filled, 0)

    @property
    def avg_price(self) -> float:
        return self.notional / self.filled if self.filled else 0.0

    @property
    def is_day(self) -> bool:
        return self.command.tif is TimeInForce.DAY

    def open_order(self) -> OpenOrder:
        return OpenOrder(
            order_ref=self.ref,
            order_id=self.order_id,
            symbol=self.command.symbol,
            action=self.action,
            order_type=self.order_type,
            quantity=self.quantity,
            filled=self.filled,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            oca_group=self.command.oca_group,
            status=self.state.value,
        )


@attrs.frozen
class Decision:
    """Trade at `price`; `market` fills take slippage, limit fills never do."""

    price: float
    market: bool


def _through(action: Action, price: float, level: float, inclusive: bool) -> bool:
    """Is `price` at a level a buy (sell) limit at `level` would trade?"""
    if action is Action.BUY:
        return price <= level if inclusive else price < level
    return price >= level if inclusive else price > level


def _touched(action: Action, price: float, stop: float) -> bool:
    return price >= stop if action is Action.BUY else price <= stop


def decide(
    order: SimOrder, price: float, previous: float | None, on_touch: bool, *, bid: float | None, ask: float | None
) -> Decision | None:
    """Does `order` trade at `price`? `previous` is the price it rested at just before, in the same
    bar (None on a gap). Marks stops triggered as a side effect."""
    kind = order.order_type
    if kind is OrderType.MARKET:
        quoted = ask if order.action is Action.BUY else bid
        return Decision(quoted if quoted is not None else price, market=True)
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
        stop = order.stop_price
        assert stop is not None
        if not _touched(order.action, price, stop):
            return None
        order.triggered = True
        # crossed on the way: at the stop's own level; gapped through it: at the price met
        crossed = previous is not None and not _touched(order.action, previous, stop)
        trigger_price = stop if crossed else price
        if kind is OrderType.STOP:
            return Decision(trigger_price, market=True)
        price, previous = trigger_price, None  # the new limit meets the market at the trigger price
    elif kind is OrderType.STOP:
        return Decision(price, market=True)  # triggered earlier, not all filled yet (partial fills)
    limit = order.limit_price
    assert limit is not None
    if previous is not None and not _through(order.action, previous, limit, inclusive=False):
        # resting on the far side: trades at its limit if the price came through it
        return Decision(limit, market=False) if _through(order.action, price, limit, on_touch) else None
    # first look, a gap, or the market already through the limit: takes the price met
    return Decision(price, market=False) if _through(order.action, price, limit, inclusive=True) else None


def at_the_exchange(order: SimOrder, price: float) -> bool:
    """Could the exchange trade `order` at `price` this instant? A stop not yet triggered is held
    by the broker, away from the exchange, until the price reaches it: nothing can fill it in the
    moment before a cancel lands. A limit rests at the exchange, where a spike can take it."""
    if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered:
        assert order.stop_price is not None
        return _touched(order.action, price, order.stop_price)
    return True


def slipped(action: Action, price: float, ticks: int, tick_size: float) -> float:
    """A market fill `ticks` ticks worse than `price`, on the tick grid, never below one tick."""
    moved = price + ticks * tick_size if action is Action.BUY else price - ticks * tick_size
    return max(round_to_tick(moved, tick_size), tick_size)


def on_tick_grid(price: float, tick_size: float) -> bool:
    """Is `price` a whole number of ticks? (decimal arithmetic: 6890.25 / 0.25 exactly)"""
    ratio = Decimal(str(price)) / Decimal(str(tick_size))
    return ratio == ratio.to_integral_value()


def round_to_tick(price: float, tick_size: float) -> float:
    return round(round(price / tick_size) * tick_size, 10)


def exec_id(order_id: int, seq: int) -> str:
    """IB-style execution id, unique per run: `<orderId hex>.<sequence hex>.01.01`."""
    return f"{order_id:08x}.{seq:08x}.01.01"
