"""Market-data health, sans-IO: is the bar stream alive, is a bar fresh enough to act on, is a quote.

How it works: a `BarStreamMonitor` is told when a bar arrives (`on_bar(bar, now)`) and when time
passes (`check(now)`), on the caller's clock; it returns values, never does anything itself.

- `streaming`: bars arrive. When none has arrived for `stall_multiple` bar widths (never less than
  `stall_floor` seconds), it says `BarStreamStalled`, asks for a re-subscription (`Resubscribe`,
  a request the caller carries out) and says `BarStreamRecoveryStarted` (attempt 1): `recovering`.
- `recovering`: another attempt once `cooldown` seconds passed since the last one, up to
  `max_attempts`; a cool-down after the last attempt with still no bar: `BarStreamRecoveryFailed`
  and `failed` (nothing more is asked: a person or a supervisor decides).
- a bar in `recovering` or `failed`: `BarStreamRecovered`, back to `streaming`.
  Attempts never come closer than `cooldown` to each other, across stalls too.

A bar older than `bar_max_age` when it arrives (now - bar.end) is stale: `FreshBars` feeds a
watcher only fresh bars, so a breakout never triggers on a bar replayed after a stall, and says
`StaleBarIgnored` instead. A quote older than `quote_max_age` is stale (`stale_quote`).
"""

from __future__ import annotations

import enum
import math
from typing import Any, Generic, Protocol, TypeVar

import attrs

from supervisor.market import Bar, Quote


def _positive(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a finite number > 0, got {value!r}")


def _non_negative(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a finite number >= 0, got {value!r}")


def _attempts(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a whole number >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class HealthPolicy:
    """Seconds on the caller's clock."""

    stall_multiple: float = attrs.field(default=3.0, validator=_positive)  # bar widths without a bar
    stall_floor: float = attrs.field(default=30.0, validator=_non_negative)  # 5-second bars: 30 s, not 15
    cooldown: float = attrs.field(default=30.0, validator=_non_negative)  # between re-subscriptions
    max_attempts: int = attrs.field(default=3, validator=_attempts)
    bar_max_age: float = attrs.field(default=10.0, validator=_non_negative)  # now - bar.end when it arrives
    quote_max_age: float = attrs.field(default=5.0, validator=_non_negative)  # now - quote.time

    def stall_after(self, bar_seconds: float) -> float:
        return max(self.stall_multiple * bar_seconds, self.stall_floor)


# -- what the monitor says (past tense) and asks for (imperative) --------------------------------


@attrs.frozen(kw_only=True)
class BarStreamStalled:
    symbol: str
    time: float
    silent_for: float  # seconds since the last bar (or since monitoring began)
    limit: float
    last_bar_end: float | None


@attrs.frozen(kw_only=True)
class BarStreamRecoveryStarted:
    symbol: str
    time: float
    attempt: int
    max_attempts: int


@attrs.frozen(kw_only=True)
class BarStreamRecovered:
    symbol: str
    time: float
    attempts: int
    stalled_for: float  # seconds from the stall being noticed to the bar that ended it


@attrs.frozen(kw_only=True)
class BarStreamRecoveryFailed:
    symbol: str
    time: float
    attempts: int
    silent_for: float


@attrs.frozen(kw_only=True)
class StaleBarIgnored:
    symbol: str
    time: float
    bar_end: float
    age: float
    limit: float


@attrs.frozen(kw_only=True)
class QuoteStale:
    symbol: str
    time: float
    quote_time: float | None  # None: no quote at all
    age: float
    limit: float


@attrs.frozen(kw_only=True)
class Resubscribe:
    """Cancel and request again the bars of `symbol` (IB: cancelRealTimeBars, reqRealTimeBars)."""

    symbol: str
    bar_seconds: float
    attempt: int


BarStreamEvent = BarStreamStalled | BarStreamRecoveryStarted | BarStreamRecovered | BarStreamRecoveryFailed
MonitorOutput = BarStreamEvent | Resubscribe


class StreamState(enum.Enum):
    STREAMING = "streaming"
    RECOVERING = "recovering"
    FAILED = "failed"


class BarStreamMonitor:
    def __init__(self, symbol: str, bar_seconds: float, *, started: float, policy: HealthPolicy | None = None) -> None:
        if not isinstance(bar_seconds, (int, float)) or isinstance(bar_seconds, bool) or not bar_seconds > 0:
            raise ValueError(f"BarStreamMonitor.bar_seconds must be > 0, got {bar_seconds!r}")
        self.symbol = symbol
        self.bar_seconds = float(bar_seconds)
        self.policy = policy or HealthPolicy()
        self.limit = self.policy.stall_after(self.bar_seconds)
        self.state = StreamState.STREAMING
        self.last_heard = started  # the last bar's arrival, or the subscription
        self.last_bar_end: float | None = None
        self.attempts = 0  # in the current stall
        self.stalled_at: float | None = None
        self._last_attempt: float | None = None

    def on_bar(self, bar: Bar, now: float) -> list[MonitorOutput]:
        """A completed bar arrived at `now`. Stale or not, it proves the stream is alive."""
        self.last_heard = now
        self.last_bar_end = bar.end
        if self.state is StreamState.STREAMING:
            return []
        recovered = BarStreamRecovered(symbol=self.symbol, time=now, attempts=self.attempts,
                                       stalled_for=now - (self.stalled_at if self.stalled_at is not None else now))
        self.state, self.attempts, self.stalled_at = StreamState.STREAMING, 0, None
        return [recovered]

    def check(self, now: float) -> list[MonitorOutput]:
        """Time passed: notice a stall, ask again for the bars, or give up."""
        silent = now - self.last_heard
        if self.state is StreamState.STREAMING:
            if silent < self.limit:
                return []
            self.state, self.stalled_at = StreamState.RECOVERING, now
            stalled = BarStreamStalled(symbol=self.symbol, time=now, silent_for=silent, limit=self.limit,
                                       last_bar_end=self.last_bar_end)
            return [stalled, *self._attempt(now)]
        if self.state is StreamState.RECOVERING and self._cooled_down(now):
            if self.attempts < self.policy.max_attempts:
                return self._attempt(now)
            self.state = StreamState.FAILED
            return [BarStreamRecoveryFailed(symbol=self.symbol, time=now, attempts=self.attempts, silent_for=silent)]
        return []

    def _cooled_down(self, now: float) -> bool:
        return self._last_attempt is None or now - self._last_attempt >= self.policy.cooldown

    def _attempt(self, now: float) -> list[MonitorOutput]:
        if not self._cooled_down(now):
            return []  # the previous stall's last attempt was too recent: the next check asks
        self.attempts += 1
        self._last_attempt = now
        return [
            BarStreamRecoveryStarted(symbol=self.symbol, time=now, attempt=self.attempts,
                                     max_attempts=self.policy.max_attempts),
            Resubscribe(symbol=self.symbol, bar_seconds=self.bar_seconds, attempt=self.attempts),
        ]


# -- freshness -----------------------------------------------------------------------------------


def bar_age(bar: Bar, now: float) -> float:
    return now - bar.end


def stale_quote(quote: Quote | None, now: float, symbol: str = "",
                policy: HealthPolicy | None = None) -> QuoteStale | None:
    """None when `quote` is fresh; else why not (no quote at all counts as stale)."""
    limit = (policy or HealthPolicy()).quote_max_age
    if quote is None:
        return QuoteStale(symbol=symbol, time=now, quote_time=None, age=math.inf, limit=limit)
    age = quote.age(now)
    if age <= limit:
        return None
    return QuoteStale(symbol=quote.symbol or symbol, time=now, quote_time=quote.time, age=age, limit=limit)


Signal_co = TypeVar("Signal_co", covariant=True)


class Watcher(Protocol[Signal_co]):
    """What `FreshBars` wraps: anything that takes completed bars (`BreakoutWatcher` does)."""

    def on_bar(self, bar: Bar, /) -> Signal_co | None: ...


SignalT = TypeVar("SignalT")


class FreshBars(Generic[SignalT]):
    """Feeds `watcher` only the bars that are fresh when they arrive: a watcher never triggers on
    a bar older than `bar_max_age`. A stale bar is not shown to the watcher at all (a single-fire
    watcher would otherwise be spent on it); the next fresh bar decides."""

    def __init__(self, watcher: Watcher[SignalT], policy: HealthPolicy | None = None) -> None:
        self.watcher = watcher
        self.policy = policy or HealthPolicy()
        self.limit = self.policy.bar_max_age

    def on_bar(self, bar: Bar, now: float) -> SignalT | StaleBarIgnored | None:
        ignored = self.stale(bar, now)
        if ignored is not None:
            return ignored
        return self.watcher.on_bar(bar)

    def stale(self, bar: Bar, now: float) -> StaleBarIgnored | None:
        """None when `bar` is fresh at `now`; else why it is not shown (for bars a watcher takes
        through another door, such as second bars)."""
        age = bar_age(bar, now)
        if age > self.limit:
            return StaleBarIgnored(symbol=bar.symbol, time=now, bar_end=bar.end, age=age, limit=self.limit)
        return None
