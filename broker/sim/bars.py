# How market data reaches the simulated exchange: OHLCV bars (1-minute, or 1-second: the width is
# inferred from the timestamps) and optional quotes are read from CSV into frozen values, with a
# bad row reported by its line number. Each bar is replayed as four price points, always in the
# same order: the open, then whichever of high/low is nearer to the open (a tie visits the low
# first: a long's stop is tested before its target), then the other extreme, then the close, at
# 0, 1/4, 1/2 and 3/4 of the bar's width. So a stop and a target inside one bar are decided the
# same way on every run.
from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from supervisor.market import Bar, Quote

BAR_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
QUOTE_HEADER = ("timestamp", "bid", "ask")


class MarketDataError(ValueError):
    """A market data file could not be read; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


def parse_timestamp(text: str) -> float:
    """ISO-8601 with a UTC offset (`2024-03-14T09:30:00-04:00`) -> epoch seconds."""
    stamp = dt.datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return stamp.timestamp()


_Row = TypeVar("_Row")


def _read(
    path: str | Path, header: tuple[str, ...], build: Callable[[float, list[float]], _Row]
) -> list[tuple[int, float, _Row]]:
    rows: list[tuple[int, float, _Row]] = []
    with Path(path).open(newline="") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None or tuple(cell.strip().lower() for cell in first) != header:
            raise MarketDataError(path, 1, f"expected the header {','.join(header)}, got {first!r}")
        previous: float | None = None
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise MarketDataError(path, line, f"expected {len(header)} fields, got {len(row)}: {row!r}")
            try:
                time = parse_timestamp(row[0])
                numbers = [float(cell) for cell in row[1:]]
                value = build(time, numbers)
            except ValueError as exc:
                raise MarketDataError(path, line, str(exc)) from exc
            if previous is not None and time <= previous:
                raise MarketDataError(path, line, f"timestamp {row[0]} is not after the previous row's")
            previous = time
            rows.append((line, time, value))
    if not rows:
        raise MarketDataError(path, 1, "no data rows")
    return rows


def load_bars(path: str | Path, seconds: float | None = None) -> list[Bar]:
    """Read `timestamp,open,high,low,close,volume` rows. A bad row raises `MarketDataError` naming
    its line. The bar width is `seconds`, or the smallest gap between consecutive timestamps."""
    rows = _read(path, BAR_HEADER, lambda t, n: (t, n))
    if seconds is None:
        gaps = [b[1] - a[1] for a, b in itertools.pairwise(rows)]
        seconds = min(gaps) if gaps else 60.0
    bars: list[Bar] = []
    for line, time, (_, n) in rows:
        try:
            bars.append(Bar(time, n[0], n[1], n[2], n[3], volume=n[4], seconds=seconds))
        except ValueError as exc:
            raise MarketDataError(path, line, str(exc)) from exc
    return bars


def load_quotes(path: str | Path) -> list[Quote]:
    """Read `timestamp,bid,ask` rows; errors name the line like `load_bars`."""
    return [quote for _, _, quote in _read(path, QUOTE_HEADER, lambda t, n: Quote(t, n[0], n[1]))]


def write_bars(path: str | Path, bars: Sequence[Bar], tz: dt.tzinfo) -> None:
    """Write bars in the format `load_bars` reads (timestamps in `tz`, with their offset)."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(BAR_HEADER)
        for bar in bars:
            stamp = dt.datetime.fromtimestamp(bar.time, tz).isoformat()
            writer.writerow([stamp, f"{bar.open:.2f}", f"{bar.high:.2f}", f"{bar.low:.2f}", f"{bar.close:.2f}",
                             f"{bar.volume:.0f}"])
