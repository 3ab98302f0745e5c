# The market the gateway quotes: the price points the simulated exchange trades at (four per bar:
# open, nearer extreme, other extreme, close, at 0, 1/4, 1/2, 3/4 of the bar, see broker/sim/bars.py),
# each carrying a quarter of its bar's volume. Every bar a client asks for is built from the points
# the clock has already passed (nothing from the future leaks): a bucket's open, high, low and close
# are its first, highest, lowest and last points, so bars of the data's own width are the data's
# bars again, wider ones aggregate them and narrower ones (5-second real-time bars) slice them.
# Buckets are aligned to local midnight in the exchange's time zone (a 5-minute bar starts at :00,
# :05, ...; a day bar is the local date). Times and sizes are parsed here in IB's spellings.
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from supervisor.market import Bar

DAY = 86_400.0


@attrs.frozen
class Point:
    time: float
    price: float
    volume: float
    rth: bool
    closes_bar: bool = False  # the last point of its bar (the close)


@attrs.frozen
class AggBar:
    start: float
    open: float
    high: float
    low: float
    close: float
    volume: float
    wap: float
    count: int


def price_points(bars: Sequence[Bar], in_regular_hours: Callable[[float], bool]) -> list[Point]:
    """The exchange's price points of `bars` (see broker/sim/bars.py), a quarter volume each."""
    points: list[Point] = []
    for bar in bars:
        rth = in_regular_hours(bar.time)
        points += [Point(t, p, bar.volume / 4, rth, k == 3)
                   for k, (t, p) in enumerate(zip(bar.point_times(), bar.path(), strict=True))]
    return points


def aggregate(points: Sequence[Point], start: float) -> AggBar:
    prices = [p.price for p in points]
    volume = sum(p.volume for p in points)
    wap = sum(p.price * p.volume for p in points) / volume if volume else sum(prices) / len(prices)
    return AggBar(start, prices[0], max(prices), min(prices), prices[-1], volume, round(wap, 6), len(points))


def flat(start: float, price: float) -> AggBar:
    return AggBar(start, price, price, price, price, 0.0, price, 0)


class Buckets:
    """Bucket arithmetic for one bar size, aligned to local midnight in `tz`."""

    def __init__(self, seconds: float, tz: ZoneInfo) -> None:
        self.seconds = seconds
        self.tz = tz

    def start(self, t: float) -> float:
        local = dt.datetime.fromtimestamp(t, self.tz)
        midnight = dt.datetime.combine(local.date(), dt.time(0), tzinfo=self.tz).timestamp()
        return midnight + ((t - midnight) // self.seconds) * self.seconds

    def bars(self, points: Sequence[Point], since: float = float("-inf")) -> list[AggBar]:
        """Every non-empty bucket of `points` starting at or after `since`, in time order."""
        out: list[AggBar] = []
        current: list[Point] = []
        current_start: float | None = None
        for point in points:
            start = self.start(point.time)
            if start != current_start:
                if current and current_start is not None and current_start >= since:
                    out.append(aggregate(current, current_start))
                current, current_start = [], start
            current.append(point)
        if current and current_start is not None and current_start >= since:
            out.append(aggregate(current, current_start))
        return out


# -- IB spellings ------------------------------------------------------------------------------

_BAR_SIZE = re.compile(r"^(\d+)\s*(sec|secs|min|mins|hour|hours|day|days)$", re.IGNORECASE)
_UNIT_SECONDS = {"sec": 1, "min": 60, "hour": 3600, "day": 86_400}
_DURATION = re.compile(r"^(\d+)\s*([SDWMY])$", re.IGNORECASE)
_DURATION_SECONDS = {"S": 1, "D": 86_400, "W": 7 * 86_400, "M": 30 * 86_400, "Y": 365 * 86_400}


def bar_size_seconds(text: str) -> float:
    """`1 min`, `5 secs`, `1 hour`, `1 day` -> seconds. Raises ValueError saying what is accepted."""
    match = _BAR_SIZE.match(text.strip())
    if match is None:
        raise ValueError("expected '<n> secs|mins|hours' or '1 day', e.g. '1 min'")
    count, unit = int(match.group(1)), match.group(2).lower().rstrip("s")
    seconds = count * _UNIT_SECONDS[unit]
    if count <= 0 or seconds > DAY or (DAY % seconds and seconds < DAY):
        raise ValueError("the bar size must divide a day (1 secs .. 8 hours, or 1 day)")
    return float(seconds)


def duration_seconds(text: str) -> float:
    """`3600 S`, `1 D`, `2 W`, `1 M`, `1 Y` -> seconds (calendar: a month is 30 days)."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) <= 0:
        raise ValueError("expected '<n> S|D|W|M|Y', e.g. '1 D'")
    return float(int(match.group(1)) * _DURATION_SECONDS[match.group(2).upper()])


_STAMP = re.compile(r"^(\d{8})(?:[ -]+(\d{1,2}:\d{2}:\d{2}))?(?:\s+(\S+))?$")


def parse_ib_time(text: str, tz: ZoneInfo) -> float:
    """IB request times -> epoch: `yyyymmdd hh:mm:ss` (in `tz`), `yyyymmdd hh:mm:ss Zone/Name`,
    `yyyymmdd-hh:mm:ss` (UTC), or `yyyymmdd` (the end of that day in `tz`)."""
    match = _STAMP.match(text.strip())
    if match is None:
        raise ValueError("expected 'yyyymmdd hh:mm:ss [time zone]' or 'yyyymmdd-hh:mm:ss' (UTC)")
    day, clock, zone_name = match.groups()
    zone: dt.tzinfo = tz
    if zone_name:
        try:
            zone = dt.UTC if zone_name.upper() in ("UTC", "GMT") else ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone_name!r}") from None
    elif "-" in text and clock:
        zone = dt.UTC
    stamp = dt.datetime.strptime(day + (clock or "23:59:59"), "%Y%m%d%H:%M:%S").replace(tzinfo=zone)
    return stamp.timestamp()


def format_bar_time(start: float, bar_seconds: float, format_date: int, tz: ZoneInfo) -> str:
    """A bar's date as IB writes it: `yyyymmdd` for day bars, else `yyyymmdd hh:mm:ss Zone` (format
    1) or epoch seconds (format 2)."""
    local = dt.datetime.fromtimestamp(start, tz)
    if bar_seconds >= DAY:
        return local.strftime("%Y%m%d")
    if format_date == 2:
        return str(int(start))
    return local.strftime("%Y%m%d %H:%M:%S ") + str(tz.key)


def format_time(t: float, tz: ZoneInfo) -> str:
    """An instant as TWS writes execution and completion times: `yyyymmdd hh:mm:ss Zone`."""
    return dt.datetime.fromtimestamp(t, tz).strftime("%Y%m%d %H:%M:%S ") + str(tz.key)
