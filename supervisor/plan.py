"""`TradePlan`: what a trade should be, validated whole before anything reaches a broker.

A bad plan raises `PlanError` naming the field and the value, at construction, so nothing is
sent and no state is touched. The ladder split (`split_quantity`) lives here too: it is the one
place that turns a quantity and an allocation into per-level share counts.

What is traded is `instrument` (`supervisor.port.Instrument`): by default a SMART-routed USD stock
named by `symbol` with the tick `tick_size` (0.01 when not given); a future names its own tick and
multiplier (ES: 0.25 and 50). Its tick is the grid every price must sit on and the unit of the
minimum distance (`min_stop_ticks`, default 4: the ES postmortem's 1 point) that every stop and
every target keeps from the entry; its multiplier turns points into currency for P&L and risk.

Exits: 1 to 3 take-profit levels, each with its stop; or none (`take_profits=()`, "exits: none"):
one stop-only level, the entry's shares held under one stop until it fills or the trade is
flattened. Every executed share is kept under a stop, so a plan without a stop is refused.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from decimal import Decimal

import attrs

from supervisor.guards import DEFAULT_MIN_DISTANCE_TICKS, bracket_problem
from supervisor.policy import TargetsCrossedAction
from supervisor.port import Action, Instrument, TimeInForce

MAX_LEVELS = 3
DEFAULT_WEIGHTS: dict[int, tuple[int, ...]] = {1: (100,), 2: (70, 30), 3: (60, 30, 10)}


STOCK_TICK = 0.01


class PlanError(ValueError):
    """A trade plan that cannot be traded. `field` and `value` name what is wrong; `rule` names the
    entry-guard rule a price broke (`orientation`, `min_distance`, `tick_grid`), else ""."""

    def __init__(self, field: str, value: object, reason: str, *, rule: str = "") -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason
        self.rule = rule


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


def targets_crossed_action(value: object) -> TargetsCrossedAction | None:
    """None, or a `TargetsCrossedAction` (or its value); anything else is a PlanError naming the field."""
    if value is None or isinstance(value, TargetsCrossedAction):
        return value
    try:
        return TargetsCrossedAction(value)
    except ValueError:
        choices = ", ".join(a.value for a in TargetsCrossedAction)
        raise PlanError("targets_crossed", value, f"must be one of {choices}") from None


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
    # the instrument's tick; None takes the instrument's (or 0.01 for the default stock). After
    # construction it always holds the instrument's tick.
    tick_size: float | None = None
    # the minimum distance, in ticks, of every stop and every target from the entry
    min_stop_ticks: int = DEFAULT_MIN_DISTANCE_TICKS
    account: str = ""
    exit_mode: ExitMode = ExitMode.AUTO
    # the entry filled at or beyond a take-profit: this trade's answer (None: the supervisor's
    # `Policy.targets_crossed`). Journaled with the plan, so a replay answers the same.
    targets_crossed: TargetsCrossedAction | None = attrs.field(default=None, converter=targets_crossed_action)
    instrument: Instrument = attrs.field()

    @instrument.default
    def _stock_named_by_symbol(self) -> Instrument:
        self._check_symbol_and_tick()
        return Instrument(self.symbol, tick_size=STOCK_TICK if self.tick_size is None else self.tick_size)

    def __attrs_post_init__(self) -> None:
        self._check_identity()
        object.__setattr__(self, "tick_size", self.instrument.tick_size)  # frozen: set once, here
        self._check_prices()
        self._check_levels()

    # -- validation --------------------------------------------------------------------------
    def _check_symbol_and_tick(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise PlanError("symbol", self.symbol, "must be non-empty")
        tick = self.tick_size
        if tick is not None and (isinstance(tick, bool) or not isinstance(tick, (int, float))
                                 or not (tick > 0 and math.isfinite(tick))):
            raise PlanError("tick_size", tick, "must be a positive finite price increment")

    def _check_identity(self) -> None:
        if not self.trade_id or ":" in self.trade_id:
            raise PlanError("trade_id", self.trade_id, "must be non-empty and contain no ':' (orderRef separator)")
        self._check_symbol_and_tick()
        if not isinstance(self.instrument, Instrument):
            raise PlanError("instrument", self.instrument, "must be a supervisor.port.Instrument")
        if self.instrument.symbol != self.symbol:
            raise PlanError("instrument", self.instrument.symbol, f"does not trade the plan's symbol {self.symbol!r}")
        if self.tick_size is not None and self.tick_size != self.instrument.tick_size:
            raise PlanError("tick_size", self.tick_size,
                            f"disagrees with the instrument's tick {self.instrument.tick_size}")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise PlanError("quantity", self.quantity, "must be a positive whole number of shares")
        ticks = self.min_stop_ticks
        if isinstance(ticks, bool) or not isinstance(ticks, int) or ticks < 1:
            raise PlanError("min_stop_ticks", ticks, "must be a whole number of ticks >= 1")

    def _check_price(self, field: str, price: float) -> None:
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not price > 0 or math.isinf(price):
            raise PlanError(field, price, "must be a positive price")
        if not _on_grid(price, self.tick):
            raise PlanError(field, price, f"is off the tick grid ({self.tick})", rule="tick_grid")

    def _check_prices(self) -> None:
        self._check_price("entry_price", self.entry_price)
        for i, tp in enumerate(self.take_profits, start=1):
            self._check_price(f"take_profits[{i}]", tp)
        for i, sl in enumerate(self.stop_losses, start=1):
            self._check_price(f"stop_losses[{i}]", sl)
        for i, price in enumerate(self.stop_updates, start=1):
            self._check_price(f"stop_updates[{i}]", price)
        # the entry guard's orientation and distance rules (supervisor.guards), at this plan's minimum
        problem = bracket_problem(long=self.side is Side.LONG, entry=self.entry_price, stops=self.stop_losses,
                                  targets=self.take_profits, tick=self.tick, min_ticks=self.min_stop_ticks)
        if problem is not None:
            raise PlanError(problem.field, problem.price, problem.reason, rule=problem.rule)

    def _check_levels(self) -> None:
        if len(self.take_profits) > MAX_LEVELS:
            raise PlanError("take_profits", self.take_profits, f"needs 0 to {MAX_LEVELS} levels")
        levels = self.levels
        if not self.stop_losses:
            raise PlanError("stop_losses", self.stop_losses,
                            "needs a stop: every executed share is kept under a stop"
                            + (" (a plan with no take-profit too)" if self.stop_only else ""))
        if len(self.stop_losses) not in (1, levels):
            raise PlanError("stop_losses", self.stop_losses, f"needs one stop or one per level ({levels})")
        if self.stop_only and self.stop_updates:
            raise PlanError("stop_updates", self.stop_updates,
                            "moves the stop after a take-profit fills: a plan with no take-profit has none")
        if len(self.stop_updates) > max(levels - 1, 0):
            raise PlanError("stop_updates", self.stop_updates,
                            f"at most {max(levels - 1, 0)} milestones for {levels} levels")
        ordered = sorted(self.take_profits, reverse=self.side is Side.SHORT)
        if list(self.take_profits) != ordered or len(set(self.take_profits)) != len(self.take_profits):
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
    def tick(self) -> float:
        """The instrument's tick: the price grid and the unit of the minimum distance."""
        return self.instrument.tick_size

    @property
    def multiplier(self) -> float:
        """Currency per point per contract (1 for a stock, 50 for ES)."""
        return self.instrument.multiplier

    @property
    def levels(self) -> int:
        """Ladder levels: one per take-profit, or the one stop-only level of a plan without any."""
        return max(len(self.take_profits), 1)

    @property
    def stop_only(self) -> bool:
        """No take-profit ("exits: none"): the entry's shares are held under the stop alone."""
        return not self.take_profits

    def target_for(self, level: int) -> float | None:
        """The take-profit price of a 1-based level; None for the stop-only level."""
        return None if self.stop_only else self.take_profits[level - 1]

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
        ticks = Decimal(str(price)) / Decimal(str(self.tick))
        return float(ticks.to_integral_value() * Decimal(str(self.tick)))
