"""A single-fire breakout watcher: decides WHEN to trigger an armed trade. Pure: bars in, signals out.

Feed it completed bars (`on_bar`), and optionally bar opens (`on_open`) and fast bars
(`on_fast_bar`, 1- or 5-second bars). A long fires at or above the level, a short at or below it
(every rule is mirrored):

- `rule="close"` (default): a bar closes at or beyond the level (a wick through it is not enough);
- `rule="touch"`: the bar's high (long) or low (short) reaching the level is enough;
- `rule="break-confirm"`: a bar whose high reaches the level is the break; the very next bar must
  open at or beyond the level: it fires at that open (`on_open`, or the next completed bar's open
  when no open was fed, then at that bar's end). A next bar that opens short of the level fails the
  setup (`Failed`): the watcher stops;
- fast entry (`fast=FastEntry(offset)`): a fast bar closing at or beyond `level + offset` (long;
  `level - offset` short) fires at once, alongside the 1-minute rule. Fast bars never count toward
  `max_bars`.

Bars outside `hours` (regular hours, `session.RegularHours`; None watches every bar) and bars that
end at or before `start` are ignored. After `max_bars` watched 1-minute bars without a breakout it
expires (a break waiting for its confirming open is decided first). It ends once (`Trigger`,
`Expired` or `Failed`); afterwards every call returns None. It knows only the plan's trade id and
side, never a broker: the caller turns `Trigger` into `supervisor.trigger(...)` (or `submit`),
`Expired` and `Failed` into `supervisor.expire(...)` or nothing.
"""

from __future__ import annotations

import enum
import math
from typing import Literal, Protocol

import attrs

from strategies.breakout.session import RegularHours
from supervisor.plan import PlanError, Side

Confirm = Literal["close", "touch", "break-confirm"]
RULES: tuple[str, ...] = ("close", "touch", "break-confirm")


class WatchedTrade(Protocol):
    """What the watcher knows of the trade it may trigger (a `TradePlan` or a `BreakoutSetup`)."""

    @property
    def trade_id(self) -> str: ...
    @property
    def side(self) -> Side: ...


class BarLike(Protocol):
    """What the watcher reads from a completed bar (`supervisor.market.Bar` has these, and more)."""

    @property
    def time(self) -> float: ...
    @property
    def open(self) -> float: ...
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
    """The breakout happened: trigger `trade_id`. `time` is when it was known (a bar's end, or
    the confirming open's time); `rule` says which rule fired ("close", "touch", "break-confirm",
    "fast")."""

    trade_id: str
    level: float
    price: float  # the price that confirmed it (close, extreme, confirming open, fast close)
    time: float
    bars_watched: int
    rule: str = "close"


@attrs.frozen
class Expired:
    """No breakout within `max_bars` watched bars: expire `trade_id`."""

    trade_id: str
    bars_watched: int
    time: float


@attrs.frozen
class Failed:
    """break-confirm: the bar after the break opened short of the level. The setup is over."""

    trade_id: str
    bars_watched: int
    time: float
    reason: str


Signal = Trigger | Expired | Failed


@attrs.frozen
class FastEntry:
    """Fire on a fast bar closing `offset` (a price distance, >= 0) beyond the level."""

    offset: float = 0.0

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.offset) and self.offset >= 0):
            raise PlanError("fast_offset", self.offset, "must be a finite price distance >= 0")


class WatcherState(enum.Enum):
    WATCHING = "watching"
    BROKEN = "broken"  # break-confirm: the break bar was seen, waiting for the next open
    FIRED = "fired"
    EXPIRED = "expired"
    FAILED = "failed"


class BreakoutWatcher:
    def __init__(
        self,
        plan: WatchedTrade,
        level: float,
        confirm: Confirm = "close",
        *,
        max_bars: int | None = None,
        start: float | None = None,
        hours: RegularHours | None = None,
        fast: FastEntry | None = None,
    ) -> None:
        if isinstance(level, bool) or not (isinstance(level, (int, float)) and math.isfinite(level) and level > 0):
            raise PlanError("level", level, "must be a positive price")
        if confirm not in RULES:
            raise PlanError("confirm", confirm, f"must be one of {', '.join(RULES)}")
        if max_bars is not None and (isinstance(max_bars, bool) or not isinstance(max_bars, int) or max_bars <= 0):
            raise PlanError("max_bars", max_bars, "must be a positive number of bars")
        if start is not None and not math.isfinite(start):
            raise PlanError("start", start, "must be a finite time")
        self.plan = plan
        self.level = float(level)
        self.confirm = confirm
        self.max_bars = max_bars
        self.start = start
        self.hours = hours
        self.fast = fast
        self.state = WatcherState.WATCHING
        self.bars_watched = 0
        self.signal: Signal | None = None
        self._break_end: float | None = None  # end of the break bar (break-confirm)

    @property
    def done(self) -> bool:
        return self.state in (WatcherState.FIRED, WatcherState.EXPIRED, WatcherState.FAILED)

    @property
    def long(self) -> bool:
        return self.plan.side is Side.LONG

    def _watched(self, bar: BarLike) -> bool:
        if self.start is not None and bar.end <= self.start:
            return False
        return self.hours is None or self.hours.contains(bar)  # type: ignore[arg-type]

    def _beyond(self, price: float, offset: float = 0.0) -> bool:
        return price >= self.level + offset if self.long else price <= self.level - offset

    def _end(self, signal: Signal, state: WatcherState) -> Signal:
        self.state = state
        self.signal = signal
        return signal

    def _fire(self, price: float, time: float, rule: str) -> Trigger:
        trigger = Trigger(self.plan.trade_id, self.level, price, time, self.bars_watched, rule)
        self._end(trigger, WatcherState.FIRED)
        return trigger

    def on_open(self, time: float, price: float) -> Signal | None:
        """The first price of a new 1-minute bar. Only break-confirm reads it: the confirming open."""
        if self.state is not WatcherState.BROKEN or self._break_end is None or time < self._break_end:
            return None
        return self._confirm(price, time)

    def _confirm(self, open_price: float, time: float) -> Signal:
        if self._beyond(open_price):
            return self._fire(open_price, time, "break-confirm")
        where = "below" if self.long else "above"
        return self._end(Failed(self.plan.trade_id, self.bars_watched, time,
                                f"the bar after the break opened at {open_price:g}, {where} the level {self.level:g}"),
                         WatcherState.FAILED)

    def on_bar(self, bar: BarLike) -> Signal | None:
        """One completed 1-minute bar. Returns the signal it caused, if any (at most one, ever)."""
        if self.done or not self._watched(bar):
            return None
        self.bars_watched += 1
        if self.state is WatcherState.BROKEN:
            # no open was fed: this bar's open decides, known once the bar is complete
            return self._confirm(bar.open, bar.end)
        if self.confirm == "break-confirm":
            if self._beyond(bar.high if self.long else bar.low):
                self.state = WatcherState.BROKEN
                self._break_end = bar.end
                return None
        else:
            price = bar.close if self.confirm == "close" else (bar.high if self.long else bar.low)
            if self._beyond(price):
                return self._fire(price, bar.end, self.confirm)
        if self.max_bars is not None and self.bars_watched >= self.max_bars:
            return self._end(Expired(self.plan.trade_id, self.bars_watched, bar.end), WatcherState.EXPIRED)
        return None

    def on_fast_bar(self, bar: BarLike) -> Signal | None:
        """One completed fast bar (1 or 5 seconds). Fires when fast entry is on and it closes far enough."""
        if self.done or self.fast is None or not self._watched(bar):
            return None
        if self._beyond(bar.close, self.fast.offset):
            return self._fire(bar.close, bar.end, "fast")
        return None

    def end_of_data(self, time: float) -> Signal | None:
        """The stream ended (the replay's last bar, the session's close): a watcher still watching
        expires (single-fire: the setup does not carry over)."""
        if self.done:
            return None
        return self._end(Expired(self.plan.trade_id, self.bars_watched, time), WatcherState.EXPIRED)
