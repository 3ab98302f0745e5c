# How the simulated exchange is configured: one frozen `SimConfig` holds every knob (ticks,
# slippage, fill rules, latencies, commissions, the trading session), and `Session` answers the
# two calendar questions the exchange asks (is this instant in regular trading hours, when does a
# DAY order placed now expire) in the configured time zone via zoneinfo. The IB error codes the
# sim answers with live here too, in one table, so every rejection names its code in one place.
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import attrs

# IB error codes the sim uses (the same numbers the IB adapter translates).
CODE_CANT_MODIFY_FILLED = 104  # "Can't modify a filled order"
CODE_PRICE_VARIATION = 110  # "The price does not conform to the minimum price variation for this contract"
CODE_PARENT_NOT_FOUND = 135  # "Can't find order with id": an attached child whose parent is unknown
CODE_NOT_CANCELLABLE = 161  # "Cancel attempted when order is not in a cancellable state"
CODE_NO_SECURITY = 200  # "No security definition has been found for the request"
CODE_REJECTED = 201  # "Order rejected - reason: ..."
CODE_NOT_CONNECTED = 504  # "Not connected"
CODE_ORDER_NOT_FOUND = 10147  # "OrderId that needs to be modified/cancelled is not found"

IB_MESSAGES: dict[int, str] = {
    CODE_CANT_MODIFY_FILLED: "Can't modify a filled order",
    CODE_PRICE_VARIATION: "The price does not conform to the minimum price variation for this contract",
    CODE_PARENT_NOT_FOUND: "Can't find order with id",
    CODE_NOT_CANCELLABLE: "Cancel attempted when order is not in a cancellable state",
    CODE_NO_SECURITY: "No security definition has been found for the request",
    CODE_REJECTED: "Order rejected - reason: simulated rejection",
    202: "Order Canceled - reason: simulated",
    203: "The security is not available or allowed for this account",
    CODE_NOT_CONNECTED: "Not connected",
    CODE_ORDER_NOT_FOUND: "OrderId that needs to be modified or cancelled is not found",
}


def ib_message(code: int, detail: str = "") -> str:
    text = IB_MESSAGES.get(code, f"IB error {code}")
    return f"{text}: {detail}" if detail else text


def _non_negative(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"SimConfig.{attribute.name} must be a number >= 0, got {value!r}")


def _positive(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"SimConfig.{attribute.name} must be a number > 0, got {value!r}")


def _optional_positive_int(inst: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"SimConfig.{attribute.name} must be a positive integer or None, got {value!r}")


def _time_zone(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"SimConfig.{attribute.name}: unknown time zone {value!r}") from exc


@attrs.frozen(kw_only=True)
class SimConfig:
    """Every knob of the simulated exchange. Times are seconds; prices are in currency units."""

    tick_size: float = attrs.field(default=0.01, validator=_positive)
    # market orders and triggered stops fill this many ticks worse than the price they met
    slippage_ticks: int = attrs.field(default=0, validator=_non_negative)
    # plus a seeded-random 0..N extra ticks (0: no randomness at all)
    slippage_jitter_ticks: int = attrs.field(default=0, validator=_non_negative)
    # a resting limit fills when the price trades through it; True: when it merely touches it
    limit_fills_on_touch: bool = False
    # the most one execution may carry; larger orders fill in pieces, one per price point
    max_fill_qty: int | None = attrs.field(default=None, validator=_optional_positive_int)
    commission_per_share: float = attrs.field(default=0.005, validator=_non_negative)
    min_commission: float = attrs.field(default=0.0, validator=_non_negative)  # per execution
    currency: str = "USD"
    account: str = "SIM"
    # the exchange takes an order, cancel or modify this long after execute() (then acknowledges)
    ack_latency: float = attrs.field(default=0.0, validator=_non_negative)
    # an execution is reported this long after it happened
    fill_latency: float = attrs.field(default=0.0, validator=_non_negative)
    # fault `disconnect`: how long the connection stays down
    outage_seconds: float = attrs.field(default=30.0, validator=_positive)
    # fault `correction`: the corrected execution arrives this long after the original one,
    # `correction_ticks` ticks away from the original price (same quantity: never an overfill)
    correction_delay: float = attrs.field(default=30.0, validator=_non_negative)
    correction_ticks: int = 1
    first_order_id: int = attrs.field(default=1, validator=_positive)
    timezone: str = attrs.field(default="America/New_York", validator=_time_zone)
    regular_open: dt.time = dt.time(9, 30)
    regular_close: dt.time = dt.time(16, 0)
    # DAY orders flagged outside_rth stay working until this local time
    extended_close: dt.time = dt.time(20, 0)

    @property
    def session(self) -> Session:
        return Session(self.timezone, self.regular_open, self.regular_close, self.extended_close)

    def commission(self, qty: int) -> float:
        """What one execution of `qty` shares costs (per share, at least the minimum)."""
        return round(max(qty * self.commission_per_share, self.min_commission), 6)


@attrs.frozen
class Session:
    """The trading calendar of one exchange time zone (weekends and holidays are not modelled)."""

    timezone: str
    regular_open: dt.time
    regular_close: dt.time
    extended_close: dt.time

    def _local(self, t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, ZoneInfo(self.timezone))

    def in_regular_hours(self, t: float) -> bool:
        local = self._local(t).time()
        return self.regular_open <= local < self.regular_close

    def day_order_expiry(self, t: float, outside_rth: bool) -> float:
        """When a DAY order accepted at `t` expires: the next regular (or extended) close."""
        close = self.extended_close if outside_rth else self.regular_close
        local = self._local(t)
        expiry = dt.datetime.combine(local.date(), close, tzinfo=local.tzinfo)
        if expiry.timestamp() <= t:
            expiry = dt.datetime.combine(local.date() + dt.timedelta(days=1), close, tzinfo=local.tzinfo)
        return expiry.timestamp()
