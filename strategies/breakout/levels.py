"""Exit levels of a breakout: the ladder split and the automatic take-profits. Pure and deterministic.

Automatic take-profits (`--tp auto --tp-count N`), anchored at the breakout level:

    ATR  = mean true range of the last `atr_bars` completed bars before arming (default 14)
           true range = max(high - low, |high - previous close|, |low - previous close|)
           (the first bar of the window uses the close of the bar before it when there is one)
    TP_k = level + k * ATR      for a long, level - k * ATR for a short, k = 1..N
           rounded to the nearest tick (half away from zero), and at least k ticks from the level

So with 1-minute bars whose true range averages 0.12 and a level of 100.49, `tp-3` gives
100.61 / 100.73 / 100.85. The same bars give the same levels on every machine. Fewer completed bars
than `atr_bars` is an error naming `tp` (nothing is armed on a guess).

The ladder split: `tp_alloc` is shares per level when it sums to the quantity, percentages when it
sums to 100, and the defaults are 70/30 for two levels and 60/30/10 for three
(`supervisor.plan.DEFAULT_WEIGHTS`), split by largest remainder (`supervisor.plan.split_quantity`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from supervisor.market import Bar
from supervisor.plan import DEFAULT_WEIGHTS, MAX_LEVELS, PlanError, Side, split_quantity

DEFAULT_ATR_BARS = 14


def true_ranges(bars: Sequence[Bar], previous_close: float | None = None) -> list[float]:
    ranges: list[float] = []
    prev = previous_close
    for bar in bars:
        span = bar.high - bar.low
        if prev is not None:
            span = max(span, abs(bar.high - prev), abs(bar.low - prev))
        ranges.append(span)
        prev = bar.close
    return ranges


def average_true_range(history: Sequence[Bar], count: int = DEFAULT_ATR_BARS) -> float:
    """The mean true range of the last `count` bars of `history` (raises PlanError when too few)."""
    if count < 1:
        raise PlanError("atr_bars", count, "must be at least 1")
    if len(history) < count:
        raise PlanError("tp", "auto", f"needs {count} completed bars of history before arming, got {len(history)}")
    window = history[-count:]
    before = history[-count - 1].close if len(history) > count else None
    return sum(true_ranges(window, before)) / count


def round_to_tick(price: float, tick: float) -> float:
    ticks = (Decimal(repr(price)) / Decimal(repr(tick))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(ticks * Decimal(repr(tick)))


def auto_take_profits(
    history: Sequence[Bar], level: float, side: Side, count: int, *, tick: float = 0.01,
    atr_bars: int = DEFAULT_ATR_BARS,
) -> tuple[float, ...]:
    """`count` take-profit prices beyond `level`, spaced by the ATR of the history (see the module doc)."""
    if not 1 <= count <= MAX_LEVELS:
        raise PlanError("tp_count", count, f"must be 1 to {MAX_LEVELS}")
    atr = average_true_range(history, atr_bars)
    levels: list[float] = []
    for k in range(1, count + 1):
        distance = max(k * atr, k * tick)
        price = round_to_tick(level + side.sign * distance, tick)
        if levels and (price - levels[-1]) * side.sign < tick - 1e-12:
            price = round_to_tick(levels[-1] + side.sign * tick, tick)
        if not (price > 0 and math.isfinite(price)):
            raise PlanError("tp", "auto", f"level {k} would be {price:g}: not a positive price")
        levels.append(price)
    return tuple(levels)


def ladder_split(quantity: int, levels: int, tp_alloc: Sequence[int] | None) -> tuple[int, ...]:
    """Shares per take-profit level: `tp_alloc` as shares (sums to the quantity) or percentages
    (sums to 100), else the default weights. Every level must get at least one share."""
    if tp_alloc is None:
        weights = DEFAULT_WEIGHTS[levels]
    else:
        alloc = tuple(tp_alloc)
        if len(alloc) != levels:
            raise PlanError("tp_alloc", "-".join(map(str, alloc)), f"needs one part per take-profit level ({levels})")
        if any(isinstance(a, bool) or not isinstance(a, int) or a <= 0 for a in alloc):
            raise PlanError("tp_alloc", "-".join(map(str, alloc)), "every part must be a positive whole number")
        if sum(alloc) == quantity:
            return alloc
        if sum(alloc) != 100:
            raise PlanError("tp_alloc", "-".join(map(str, alloc)),
                            f"sums to {sum(alloc)}: give shares summing to the quantity {quantity}, "
                            f"or percentages summing to 100")
        weights = alloc
    parts = split_quantity(quantity, weights)
    if 0 in parts:
        raise PlanError("qty", quantity, f"is too small to split {'/'.join(map(str, weights))} over {levels} levels")
    return parts
