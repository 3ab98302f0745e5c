"""Market data values shared by strategies and every adapter: completed bars and quotes.

The simulated exchange replays them from CSV, the IB adapter builds them from `reqHistoricalData`
(keep up to date), `reqRealTimeBars` and `reqMktData`, and the TWS-protocol simulator serves the same
ones over the wire. Strategies read only these values (`strategies -> supervisor`), never an adapter.
A price that is not a positive finite number is refused at construction, naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs


def _positive_finite(inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a positive finite number, got {value!r}")


def _finite(inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{type(inst).__name__}.{attribute.name} must be a finite number, got {value!r}")


@attrs.frozen
class Bar:
    """One OHLCV bar; `time` is its start (epoch seconds), `seconds` its width, `end` when it closed."""

    time: float = attrs.field(validator=_finite)
    open: float = attrs.field(validator=_positive_finite)
    high: float = attrs.field(validator=_positive_finite)
    low: float = attrs.field(validator=_positive_finite)
    close: float = attrs.field(validator=_positive_finite)
    volume: float = attrs.field(default=0.0, validator=_finite)
    seconds: float = attrs.field(default=60.0, validator=_positive_finite)
    symbol: str = ""

    def __attrs_post_init__(self) -> None:
        if self.low > min(self.open, self.close) or self.high < max(self.open, self.close):
            raise ValueError(f"Bar at {self.time}: low {self.low} / high {self.high} do not bracket open and close")
        if self.volume < 0:
            raise ValueError(f"Bar at {self.time}: volume must be >= 0, got {self.volume}")

    @property
    def end(self) -> float:
        return self.time + self.seconds

    def path(self) -> tuple[float, float, float, float]:
        """The prices visited inside the bar, in order: open, nearer extreme, other extreme, close."""
        if self.high - self.open < self.open - self.low:
            return (self.open, self.high, self.low, self.close)
        return (self.open, self.low, self.high, self.close)

    def point_times(self) -> tuple[float, float, float, float]:
        quarter = self.seconds / 4
        return (self.time, self.time + quarter, self.time + 2 * quarter, self.time + 3 * quarter)


@attrs.frozen
class Quote:
    """Top of book at `time` (epoch seconds). Its age is `now - time`, on the caller's clock."""

    time: float = attrs.field(validator=_finite)
    bid: float = attrs.field(validator=_positive_finite)
    ask: float = attrs.field(validator=_positive_finite)
    symbol: str = ""
    last: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.bid > self.ask:
            raise ValueError(f"Quote at {self.time}: bid {self.bid} above ask {self.ask}")

    def age(self, now: float) -> float:
        return now - self.time


@runtime_checkable
class MarketDataPort(Protocol):
    """What an adapter offers strategies: completed bars and the latest quote of a symbol."""

    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None:
        """Start a stream of completed bars of `bar_seconds` (60: 1-minute bars, 5: real-time bars)."""

    def subscribe_quotes(self, symbol: str) -> None:
        """Start quotes for `symbol`; `latest_quote` answers from then on."""

    def poll_bars(self) -> Sequence[Bar]:
        """The bars completed since the last poll, oldest first (every subscribed symbol)."""

    def latest_quote(self, symbol: str) -> Quote | None:
        """The newest quote of `symbol`, or None when none arrived yet."""
