"""The broker port: the only vocabulary shared by the supervisor and the broker adapters.

Commands go out (imperatives: `PlaceOrder`, `ModifyOrder`, `CancelOrder`); broker events come in
(past tense: `OrderAccepted`, `ExecutionReported`, ...). All are frozen, slotted attrs values,
validated on construction, so a malformed broker message fails at the edge with the field and
the value named, and nothing from `ib_async` ever crosses this line.

Times are float seconds since the epoch (UTC) on the injected clock: the simulated exchange runs
on bar time, the IB adapter on the wall clock, and the supervisor never reads a clock itself.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs


class Action(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Action:
        return Action.SELL if self is Action.BUY else Action.BUY


class OrderType(enum.Enum):
    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"
    STOP_LIMIT = "STP LMT"


class TimeInForce(enum.Enum):
    DAY = "DAY"
    GTC = "GTC"


def _positive_int(inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a positive integer, got {value!r}")


def _non_negative_int(inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be an integer >= 0, got {value!r}")


def _optional_positive_price(inst: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a positive price, got {value!r}")


def _positive_price(inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a positive price, got {value!r}")


def _non_empty(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a non-empty string, got {value!r}")


# ---------------------------------------------------------------------------------------------
# Instruments: what is traded. Tick size and multiplier drive validation, P&L and risk.
# ---------------------------------------------------------------------------------------------


class SecType(enum.Enum):
    STOCK = "STK"
    FUTURE = "FUT"


@attrs.frozen
class Instrument:
    """A tradable contract. Stocks route SMART in USD by default; a future names its exchange and
    contract month (`202603`), its multiplier (ES: 50) and tick (ES: 0.25). `con_id` is IB's
    contract id once qualified (0 before)."""

    symbol: str = attrs.field(validator=_non_empty)
    sec_type: SecType = SecType.STOCK
    exchange: str = "SMART"
    currency: str = "USD"
    multiplier: float = attrs.field(default=1.0, validator=_positive_price)
    tick_size: float = attrs.field(default=0.01, validator=_positive_price)
    contract_month: str = ""
    con_id: int = 0
    primary_exchange: str = ""

    def __attrs_post_init__(self) -> None:
        if self.sec_type is SecType.FUTURE and not self.contract_month:
            raise ValueError(f"Instrument.contract_month is required for the future {self.symbol!r}")


@runtime_checkable
class ContractResolver(Protocol):
    """Adapters that can qualify a contract before a trade is armed (IB: `qualifyContracts`)."""

    def qualify(self, instrument: Instrument) -> Instrument:
        """The instrument as the broker knows it (con_id, tick, multiplier); raises `LookupError`
        naming the symbol when the broker has no such contract."""


# ---------------------------------------------------------------------------------------------
# Commands: what the supervisor asks a broker to do.
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class PlaceOrder:
    """Place one order. `order_ref` is `<trade_id>:<leg>`: submission is idempotent by it."""

    order_ref: str = attrs.field(validator=_non_empty)
    symbol: str = attrs.field(validator=_non_empty)
    action: Action
    order_type: OrderType
    quantity: int = attrs.field(validator=_positive_int)
    limit_price: float | None = attrs.field(default=None, validator=_optional_positive_price)
    stop_price: float | None = attrs.field(default=None, validator=_optional_positive_price)
    tif: TimeInForce = TimeInForce.DAY
    outside_rth: bool = False
    oca_group: str | None = None
    oca_type: int = 0  # IB: 1 cancel others on fill, 2/3 reduce the others' quantity
    parent_ref: str | None = None  # attached child of this order (bracket)
    account: str = ""
    # the contract when it is not a SMART-routed USD stock named `symbol` (a future, say)
    instrument: Instrument | None = None

    def __attrs_post_init__(self) -> None:
        if self.instrument is not None and self.instrument.symbol != self.symbol:
            raise ValueError(f"PlaceOrder.instrument is {self.instrument.symbol!r}, not {self.symbol!r} "
                             f"({self.order_ref})")
        needs_limit = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit and self.limit_price is None:
            raise ValueError(f"PlaceOrder.limit_price is required for {self.order_type.value} ({self.order_ref})")
        if needs_stop and self.stop_price is None:
            raise ValueError(f"PlaceOrder.stop_price is required for {self.order_type.value} ({self.order_ref})")
        if self.oca_type not in (0, 1, 2, 3):
            raise ValueError(f"PlaceOrder.oca_type must be 0..3, got {self.oca_type!r} ({self.order_ref})")


@attrs.frozen
class ModifyOrder:
    """Change a working order in place (IB: re-place with the same order id)."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None = None
    quantity: int | None = None
    limit_price: float | None = attrs.field(default=None, validator=_optional_positive_price)
    stop_price: float | None = attrs.field(default=None, validator=_optional_positive_price)


@attrs.frozen
class CancelOrder:
    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None = None


Command = PlaceOrder | ModifyOrder | CancelOrder

# ---------------------------------------------------------------------------------------------
# Broker events: what the broker told us, normalized at the adapter's edge.
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class OrderSent:
    """The adapter wrote the order to the socket (or the sim took it)."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    time: float


@attrs.frozen
class OrderAccepted:
    """IB `openOrder`: the broker holds the order, with the quantity and prices it works.

    `perm_id` is IB's permanent id (order ids are reused after a Gateway restart: never key by
    order id alone)."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    quantity: int = attrs.field(validator=_positive_int)
    limit_price: float | None = None
    stop_price: float | None = None
    time: float = 0.0
    perm_id: int | None = None


@attrs.frozen
class ExecutionReported:
    """IB `execDetails`: shares changed hands. The only event that moves quantities."""

    order_ref: str
    order_id: int | None
    exec_id: str = attrs.field(validator=_non_empty)
    action: Action
    qty: int = attrs.field(validator=_positive_int)
    price: float = attrs.field(validator=_positive_price)
    time: float = 0.0
    symbol: str = ""
    perm_id: int | None = None
    account: str = ""


@attrs.frozen
class CommissionReported:
    exec_id: str = attrs.field(validator=_non_empty)
    commission: float
    currency: str = "USD"
    time: float = 0.0


@attrs.frozen
class OrderCancelled:
    """Error 202 or a terminal `Cancelled`/`ApiCancelled` status: the order is gone."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    reason: str = ""
    time: float = 0.0


@attrs.frozen
class OrderRejected:
    """An IB error that ends the order (201 and friends)."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    code: int
    reason: str = ""
    time: float = 0.0


@attrs.frozen
class CancelRejected:
    """IB error 161/10148: the order could not be cancelled."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    code: int
    reason: str = ""
    time: float = 0.0


@attrs.frozen
class ReplaceAccepted:
    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    quantity: int | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    time: float = 0.0


@attrs.frozen
class ReplaceRejected:
    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    code: int
    reason: str = ""
    time: float = 0.0


@attrs.frozen
class StatusObserved:
    """IB `orderStatus`: a snapshot. Recorded and compared, never applied."""

    order_ref: str = attrs.field(validator=_non_empty)
    order_id: int | None
    status: str
    filled: int = attrs.field(validator=_non_negative_int)
    remaining: int = attrs.field(validator=_non_negative_int)
    avg_price: float = 0.0
    time: float = 0.0


@attrs.frozen
class BrokerNotice:
    """An IB message that changes no order: information (2104 farm OK, 2110 connectivity between
    TWS and the server is broken), or a connection-level error (326 client id in use). Journaled
    and shown; the supervisor takes no decision on it."""

    code: int
    message: str = ""
    time: float = 0.0


@attrs.frozen
class ConnectionLost:
    time: float = 0.0


@attrs.frozen
class ConnectionRestored:
    time: float = 0.0


BrokerEvent = (
    OrderSent
    | OrderAccepted
    | ExecutionReported
    | CommissionReported
    | OrderCancelled
    | OrderRejected
    | CancelRejected
    | ReplaceAccepted
    | ReplaceRejected
    | StatusObserved
    | ConnectionLost
    | ConnectionRestored
    | BrokerNotice
)

# ---------------------------------------------------------------------------------------------
# Broker truth: what a broker answers when asked after a (re)connect.
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class OpenOrder:
    order_ref: str
    order_id: int | None
    symbol: str
    action: Action
    order_type: OrderType
    quantity: int
    filled: int = 0
    limit_price: float | None = None
    stop_price: float | None = None
    oca_group: str | None = None
    status: str = "Submitted"
    perm_id: int | None = None
    parent_ref: str | None = None
    account: str = ""


@attrs.frozen
class CompletedOrder:
    """An order the broker finished (IB `completedOrders`): filled, cancelled or rejected. After a
    reconnect IB reports these with order id 0: match them by `perm_id` and `order_ref`."""

    order_ref: str
    perm_id: int | None
    symbol: str
    action: Action
    quantity: int
    filled: int
    status: str  # "Filled", "Cancelled", "Inactive" (rejected), as IB spells it
    reason: str = ""
    order_id: int | None = None


@attrs.frozen
class Position:
    symbol: str
    quantity: int  # signed: long > 0, short < 0
    avg_cost: float = 0.0
    account: str = ""


@attrs.frozen
class BrokerTruth:
    open_orders: tuple[OpenOrder, ...] = ()
    positions: tuple[Position, ...] = ()
    executions: tuple[ExecutionReported, ...] = ()
    time: float = 0.0
    completed_orders: tuple[CompletedOrder, ...] = ()


@runtime_checkable
class BrokerPort(Protocol):
    """What every adapter (simulated exchange, ib_async, TWS-protocol simulator) provides."""

    def execute(self, command: Command) -> None:
        """Hand one command to the broker. Its outcome comes back as events, never as a return."""

    def poll(self) -> Sequence[BrokerEvent]:
        """The broker events that arrived since the last poll, in arrival order."""

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        """Open orders, positions and executions since a time, as the broker knows them now."""
