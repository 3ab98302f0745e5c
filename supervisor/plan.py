"""`TradePlan`: what a trade should be, validated whole before anything reaches a broker.

A bad plan raises `PlanError` naming the field and the value, at construction, so nothing is
sent and no state is touched. The ladder split (`split_quantity`) lives here too: it is the one
place that turns a quantity and an allocation into per-level share counts.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from decimal import Decimal

import attrs

from supervisor.port import Action, TimeInForce

MAX_LEVELS = 3
DEFAULT_WEIGHTS: dict[int, tuple[int, ...]] = {1: (100,), 2: (70, 30), 3: (60, 30, 10)}


class PlanError(ValueError):
    """A trade plan that cannot be traded. `field` and `value` name what is wrong."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class Side(enum.Enum):
    LONG = "long"
    SHORT = "short"

    @property
    def entry_action(self) -> Action:
        return Action.BUY if self is Side.LONG else Action.SELL

    @property
    def exit_action(self) -> Action:
        return self.entry_action.opposite

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1


class EntryType(enum.Enum):
    MARKET = "market"
    LIMIT = "limit"


class ExitMode(enum.Enum):
    # Exits as independent OCA pairs, placed once executions confirm the inventory: the broker
    # can neither size them to the parent nor leave executed shares waiting on a held child.
    AUTO = "auto"
    DETACHED = "detached"
    # Attached children (a bracket, or a ladder of brackets): the broker may size them to the
    # parent (the 100/100 incident). Allowed for bots that insist, with QuantityMismatch watching.
    ATTACHED = "attached"


def split_quantity(quantity: int, weights: tuple[int, ...]) -> tuple[int, ...]:
    """Largest-remainder split of `quantity` by `weights` (ties go to the earlier level)."""
    total = sum(weights)
    exact = [quantity * w / total for w in weights]
    parts = [math.floor(x) for x in exact]
    short = quantity - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:short]:
        parts[i] += 1
    return tuple(parts)


def _on_grid(price: float, tick: float) -> bool:
    ratio = Decimal(str(price)) / Decimal(str(tick))
    return ratio == ratio.to_integral_value()


def _tuple_of_floats(value: float | Iterable[float]) -> tuple[float, ...]:
    if isinstance(value, (int, float)):
        return (float(value),)
    return tuple(float(v) for v in value)


def _optional_ints(value: Iterable[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(value)


def _optional_floats(value: Iterable[float] | None) -> tuple[float, ...]:
    return () if value is None else tuple(float(v) for v in value)


@attrs.frozen(kw_only=True)
class TradePlan:
    trade_id: str
    symbol: str
    side: Side
    quantity: int
    entry_price: float  # the limit price, or for a market entry the reference price
    take_profits: tuple[float, ...] = attrs.field(converter=_tuple_of_floats)
    stop_losses: tuple[float, ...] = attrs.field(converter=_tuple_of_floats)
    entry_type: EntryType = EntryType.LIMIT
    allocation: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)
    stop_updates: tuple[float, ...] = attrs.field(default=(), converter=_optional_floats)
    tif: TimeInForce = TimeInForce.DAY
    outside_rth: bool = False
    tick_size: float = 0.01
    min_stop_ticks: int = 1
    account: str = ""
    exit_mode: ExitMode = ExitMode.AUTO

    def __attrs_post_init__(self) -> None:
        self._check_identity()
        self._check_prices()
        self._check_levels()

    # -- validation --------------------------------------------------------------------------
    def _check_identity(self) -> None:
        if not self.trade_id or ":" in self.trade_id:
            raise PlanError("trade_id", self.trade_id, "must be non-empty and contain no ':' (orderRef separator)")
        if not self.symbol:
            raise PlanError("symbol", self.symbol, "must be non-empty")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise PlanError("quantity", self.quantity, "must be a positive whole number of shares")
        if not self.tick_size > 0:
            raise PlanError("tick_size", self.tick_size, "must be positive")
        if self.min_stop_ticks < 0:
            raise PlanError("min_stop_ticks", self.min_stop_ticks, "must be >= 0")

    def _check_price(self, field: str, price: float) -> None:
        if not price > 0 or math.isinf(price):
            raise PlanError(field, price, "must be a positive price")
        if not _on_grid(price, self.tick_size):
            raise PlanError(field, price, f"is off the tick grid ({self.tick_size})")

    def _check_prices(self) -> None:
        self._check_price("entry_price", self.entry_price)
        sign = self.side.sign
        for i, tp in enumerate(self.take_profits, start=1):
            self._check_price(f"take_profits[{i}]", tp)
            if (tp - self.entry_price) * sign <= 0:
                where = "above" if sign > 0 else "below"
                raise PlanError(f"take_profits[{i}]", tp,
                                f"must be {where} the entry {self.entry_price} for a {self.side.value}")
        min_distance = self.min_stop_ticks * self.tick_size
        for i, sl in enumerate(self.stop_losses, start=1):
            self._check_price(f"stop_losses[{i}]", sl)
            if (self.entry_price - sl) * sign <= 0:
                where = "below" if sign > 0 else "above"
                raise PlanError(f"stop_losses[{i}]", sl,
                                f"must be {where} the entry {self.entry_price} for a {self.side.value}")
            if abs(self.entry_price - sl) + 1e-12 < min_distance:
                raise PlanError(
                    f"stop_losses[{i}]", sl,
                    f"is closer to the entry {self.entry_price} than {self.min_stop_ticks} ticks of {self.tick_size}",
                )
        for i, price in enumerate(self.stop_updates, start=1):
            self._check_price(f"stop_updates[{i}]", price)

    def _check_levels(self) -> None:
        levels = len(self.take_profits)
        if not 1 <= levels <= MAX_LEVELS:
            raise PlanError("take_profits", self.take_profits, f"needs 1 to {MAX_LEVELS} levels")
        if len(self.stop_losses) not in (1, levels):
            raise PlanError("stop_losses", self.stop_losses, f"needs one stop or one per level ({levels})")
        if len(self.stop_updates) > max(levels - 1, 0):
            raise PlanError("stop_updates", self.stop_updates,
                            f"at most {max(levels - 1, 0)} milestones for {levels} levels")
        ordered = sorted(self.take_profits, reverse=self.side is Side.SHORT)
        if list(self.take_profits) != ordered or len(set(self.take_profits)) != levels:
            raise PlanError("take_profits", self.take_profits, "levels must move away from the entry, one price each")
        if self.allocation is not None:
            if len(self.allocation) != levels:
                raise PlanError("allocation", self.allocation, f"needs one quantity per level ({levels})")
            if any(isinstance(q, bool) or not isinstance(q, int) or q <= 0 for q in self.allocation):
                raise PlanError("allocation", self.allocation, "every level needs a positive whole quantity")
            if sum(self.allocation) != self.quantity:
                raise PlanError("allocation", self.allocation,
                                f"sums to {sum(self.allocation)}, not the quantity {self.quantity}")

    # -- derived -----------------------------------------------------------------------------
    @property
    def levels(self) -> int:
        return len(self.take_profits)

    @property
    def attached(self) -> bool:
        return self.exit_mode is ExitMode.ATTACHED

    def stop_for(self, level: int) -> float:
        """Initial stop price of a 1-based level."""
        return self.stop_losses[level - 1] if len(self.stop_losses) > 1 else self.stop_losses[0]

    @property
    def protective_stop(self) -> float:
        """The stop that covers shares before the ladder exists: the farthest from the entry."""
        return min(self.stop_losses) if self.side is Side.LONG else max(self.stop_losses)

    def weights(self) -> tuple[int, ...]:
        return self.allocation if self.allocation is not None else DEFAULT_WEIGHTS[self.levels]

    def split(self, quantity: int) -> tuple[int, ...]:
        """Per-level quantities for `quantity` executed shares (zeros are dropped levels)."""
        if self.allocation is not None and quantity == self.quantity:
            return self.allocation
        return split_quantity(quantity, self.weights())

    def milestone_price(self, index: int, entry_avg: float) -> float:
        """Stop price after milestone `index` (0: TP1 filled, 1: TP1 and TP2 filled)."""
        if index < len(self.stop_updates):
            return self.stop_updates[index]
        if index == 0:
            return self.round_to_tick(entry_avg)  # break-even at the entry's average fill
        return self.take_profits[index - 1]

    def round_to_tick(self, price: float) -> float:
        ticks = Decimal(str(price)) / Decimal(str(self.tick_size))
        return float(ticks.to_integral_value() * Decimal(str(self.tick_size)))
