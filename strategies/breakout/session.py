"""Which bars a breakout watcher looks at, and how second bars become minute bars. Pure.

- `RegularHours`: the session filter. A bar counts when it starts at or after the open and ends at
  or before the close, in the exchange's time zone (default America/New_York 09:30-16:00, zoneinfo
  for the offsets, so a daylight-saving day is right). `RegularHours.parse("09:30-16:00")` reads the
  command line's form and names the value when it is wrong.
- `MinuteBars`: fast bars (1 or 5 seconds) in, completed 1-minute bars out. A minute is complete
  when a fast bar ends on the minute boundary, or when a fast bar of a later minute arrives (a gap
  in the stream): the minute is then built from what arrived, never padded.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from supervisor.market import Bar
from supervisor.plan import PlanError

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _zone(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlanError("timezone", value, "is not a known time zone (e.g. America/New_York)") from None


@attrs.frozen
class RegularHours:
    open: dt.time = dt.time(9, 30)
    close: dt.time = dt.time(16, 0)
    timezone: str = attrs.field(default="America/New_York", validator=_zone)

    def __attrs_post_init__(self) -> None:
        if not self.open < self.close:
            raise PlanError("rth", f"{self.open:%H:%M}-{self.close:%H:%M}", "the open must be before the close")

    @classmethod
    def parse(cls, text: str, timezone: str = "America/New_York") -> RegularHours:
        """`"09:30-16:00"` -> RegularHours; a malformed or impossible window raises PlanError('rth')."""
        found = _HOURS.match(text)
        if found is None:
            raise PlanError("rth", text, "must look like HH:MM-HH:MM, e.g. 09:30-16:00")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        try:
            opens, closes = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError:
            raise PlanError("rth", text, "is not a time of day") from None
        return cls(opens, closes, timezone)

    def contains(self, bar: Bar) -> bool:
        return _inside(self.open, self.close, self.timezone, bar.time, bar.end)

    def describe(self) -> str:
        return f"{self.open:%H:%M}-{self.close:%H:%M} {self.timezone}"


@functools.lru_cache(maxsize=4096)
def _inside(opens: dt.time, closes: dt.time, timezone: str, start_at: float, end_at: float) -> bool:
    """Whether a bar from `start_at` to `end_at` lies in the session. Cached: a desk's watchers all
    ask about the same bar times (each symbol's minute ends at once), and the answer depends on
    nothing else; the time-zone arithmetic is done once per bar time, not once per watcher."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.fromtimestamp(start_at, zone)
    end = dt.datetime.fromtimestamp(end_at, zone)
    if start.date() != end.date() and end.time() != dt.time(0, 0):
        return False  # spans midnight: never inside a day session
    end_time = dt.time(23, 59, 59, 999999) if end.time() == dt.time(0, 0) else end.time()
    return opens <= start.time() and end_time <= closes


class MinuteBars:
    """Aggregates fast bars into 1-minute bars (open of the first, close of the last, extremes and
    summed volume of all). Feed bars in time order; `push` returns the minutes it completed."""

    def __init__(self, symbol: str = "") -> None:
        self.symbol = symbol
        self._minute: float | None = None
        self._parts: list[Bar] = []

    def push(self, bar: Bar) -> list[Bar]:
        if bar.seconds >= 60:
            return [*self.flush(), bar]  # already a minute (or wider): passed through
        done: list[Bar] = []
        minute = bar.time - bar.time % 60
        if self._minute is not None and minute != self._minute:
            done += self.flush()
        self._minute = minute
        self._parts.append(bar)
        if bar.end - minute >= 60:
            done += self.flush()
        return done

    def flush(self) -> list[Bar]:
        """The minute in progress, built from what arrived (empty when none)."""
        if not self._parts or self._minute is None:
            return []
        parts, self._parts = self._parts, []
        minute, self._minute = self._minute, None
        return [Bar(minute, parts[0].open, max(p.high for p in parts), min(p.low for p in parts), parts[-1].close,
                    volume=sum(p.volume for p in parts), seconds=60.0, symbol=parts[0].symbol or self.symbol)]
