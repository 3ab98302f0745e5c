"""Trading days for end-to-end runs: the bundled day and days made from it.

- `bundled`: the breakout runs to its third target (no stop is touched).
- `reversal`: after the breakout the day is mirrored around the entry: the stops are hit.
- `whipsaw`: the first target fills, then the day is mirrored around it: the stops moved to
  break-even are hit.
- `gap`: a minute after the entry the price jumps through the first two targets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache

from broker.sim import Bar, load_bars
from broker.sim_session import bundled_day

NY = dt.timezone(dt.timedelta(hours=-4))


def _at(hour: int, minute: int) -> float:
    return dt.datetime(2024, 3, 14, hour, minute, tzinfo=NY).timestamp()


def _mirror(bar: Bar, center: float) -> Bar:
    return Bar(bar.time, 2 * center - bar.open, 2 * center - bar.low, 2 * center - bar.high, 2 * center - bar.close,
               bar.volume, bar.seconds)


def _shift(bar: Bar, by: float) -> Bar:
    return Bar(bar.time, bar.open + by, bar.high + by, bar.low + by, bar.close + by, bar.volume, bar.seconds)


@cache
def bundled() -> list[Bar]:
    return load_bars(bundled_day())


def reversal() -> list[Bar]:
    start = _at(10, 25)
    return [b if b.time < start else _mirror(b, 100.66) for b in bundled()]


def whipsaw() -> list[Bar]:
    start = _at(10, 50)
    return [b if b.time < start else _mirror(b, 101.20) for b in bundled()]


def gap() -> list[Bar]:
    start = _at(10, 21)
    return [b if b.time < start else _shift(b, 1.3) for b in bundled()]


DAYS: dict[str, Callable[[], list[Bar]]] = {"bundled": bundled, "reversal": reversal, "whipsaw": whipsaw, "gap": gap}
