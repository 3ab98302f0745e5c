"""A single-fire breakout watcher: decides WHEN to trigger an armed trade. Pure: bars in, signals out.

Feed it completed bars (`on_bar`). A long fires on the first bar that confirms at or above the
level, a short on the first that confirms at or below it:

- `confirm="close"`: the bar's close must reach the level (a wick through it is not enough);
- `confirm="touch"`: the bar's high (long) or low (short) reaching it is enough.

Bars that end before `start` are ignored (an opening-range level is not a breakout while the range
is still forming). After `max_bars` watched bars without a breakout it expires. It fires or expires
once; afterwards every bar returns None. The watcher only knows the plan (`supervisor.plan`), never
a broker: the caller turns `Trigger` into `supervisor.trigger(...)` and `Expired` into
`supervisor.expire(...)`.
"""

from __future__ import annotations

import enum
from typing import Literal, Protocol

import attrs

from supervisor.plan import PlanError, Side, TradePlan

Confirm = Literal["close", "touch"]


class BarLike(Protocol):
    """What the watcher reads from a completed bar (`broker.sim.Bar` has these, and more)."""

    @property
    def time(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def end(self) -> float: ...


@attrs.frozen
class Trigger:
    """The breakout happened: trigger `trade_id`. `time` is the confirming bar's end."""

    trade_id: str
    level: float
    price: float  # the price that confirmed it (the close, or the extreme for "touch")
    time: float
    bars_watched: int


@attrs.frozen
class Expired:
    """No breakout within `max_bars` watched bars: expire `trade_id`."""

    trade_id: str
    bars_watched: int
    time: float


Signal = Trigger | Expired


class WatcherState(enum.Enum):
    WATCHING = "watching"
    FIRED = "fired"
    EXPIRED = "expired"


class BreakoutWatcher:
    def __init__(
        self,
        plan: TradePlan,
        level: float,
        confirm: Confirm = "close",
        *,
        max_bars: int | None = None,
        start: float | None = None,
    ) -> None:
        if not level > 0:
            raise PlanError("level", level, "must be a positive price")
        if confirm not in ("close", "touch"):
            raise PlanError("confirm", confirm, "must be 'close' or 'touch'")
        if max_bars is not None and (isinstance(max_bars, bool) or max_bars <= 0):
            raise PlanError("max_bars", max_bars, "must be a positive number of bars")
        self.plan = plan
        self.level = level
        self.confirm = confirm
        self.max_bars = max_bars
        self.start = start
        self.state = WatcherState.WATCHING
        self.bars_watched = 0

    @property
    def done(self) -> bool:
        return self.state is not WatcherState.WATCHING

    def on_bar(self, bar: BarLike) -> Signal | None:
        """One completed bar. Returns the signal it caused, if any (at most one, ever)."""
        if self.done or (self.start is not None and bar.end <= self.start):
            return None
        self.bars_watched += 1
        price = self._confirming_price(bar)
        if self._broken(price):
            self.state = WatcherState.FIRED
            return Trigger(self.plan.trade_id, self.level, price, bar.end, self.bars_watched)
        if self.max_bars is not None and self.bars_watched >= self.max_bars:
            self.state = WatcherState.EXPIRED
            return Expired(self.plan.trade_id, self.bars_watched, bar.end)
        return None

    def _confirming_price(self, bar: BarLike) -> float:
        if self.confirm == "close":
            return bar.close
        return bar.high if self.plan.side is Side.LONG else bar.low

    def _broken(self, price: float) -> bool:
        if self.plan.side is Side.LONG:
            return price >= self.level
        return price <= self.level
