"""`WatcherBook`: the watching breakout watchers, found by symbol and by the price a fast bar must reach.

How it works: a desk holds hundreds or thousands of watchers, and every second a bar arrives for
each symbol. Asking every watcher about every bar is O(watchers) per bar; the book answers instead
with only the watchers a bar concerns:

- `of_symbol(symbol)`: the symbol's watchers, in the order they were added (a 1-minute bar and a
  bar's open go to each of them: every one counts its bars, and break-confirm reads opens);
- `fast_candidates(symbol, close)`: the symbol's watchers with fast entry whose threshold the close
  reaches. A long fires when a fast bar closes at or above `level + offset`, a short at or below
  `level - offset`; per symbol the thresholds are kept sorted (longs and shorts apart), so a bar
  finds them by bisection in O(log n + k) and the other watchers are not looked at. The threshold
  is the very sum the watcher compares with, so the book never leaves out a watcher the bar fires;
  the watcher itself still decides (its start and hours filters, its state).

Watchers leave the book when they stop watching (`remove`); the order of the candidates is the
order they were added, so the same bars fire the same trades in the same order as before.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable
from typing import Generic, TypeVar

from strategies.breakout.watcher import BreakoutWatcher

K = TypeVar("K", bound=Hashable)

# (threshold, ordinal, key): the ordinal is unique, so keys are never compared
_Entry = tuple[float, int, K]


class _Symbol(Generic[K]):
    def __init__(self) -> None:
        self.members: dict[K, tuple[int, BreakoutWatcher]] = {}  # insertion order = the order added
        self.longs: list[_Entry[K]] = []  # fast entry, long: sorted by level + offset
        self.shorts: list[_Entry[K]] = []  # fast entry, short: sorted by level - offset


def fast_threshold(watcher: BreakoutWatcher) -> float | None:
    """The close at (long: or above; short: or below) which a fast bar fires `watcher`; None
    without fast entry. The same expression as the watcher's own test."""
    if watcher.fast is None:
        return None
    offset = watcher.fast.offset
    return watcher.level + offset if watcher.long else watcher.level - offset


class WatcherBook(Generic[K]):
    def __init__(self) -> None:
        self._symbols: dict[str, _Symbol[K]] = {}
        self._where: dict[K, str] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def add(self, key: K, symbol: str, watcher: BreakoutWatcher) -> None:
        """Add a watching watcher under `key` (a key already in the book is refused)."""
        if key in self._where:
            raise ValueError(f"watcher {key!r} is already in the book")
        ordinal, self._next = self._next, self._next + 1
        book = self._symbols.setdefault(symbol, _Symbol())
        book.members[key] = (ordinal, watcher)
        threshold = fast_threshold(watcher)
        if threshold is not None:
            bisect.insort(book.longs if watcher.long else book.shorts, (threshold, ordinal, key))
        self._where[key] = symbol

    def remove(self, key: K) -> None:
        """The watcher stopped watching; a key not in the book is ignored."""
        symbol = self._where.pop(key, None)
        if symbol is None:
            return
        book = self._symbols[symbol]
        ordinal, watcher = book.members.pop(key)
        threshold = fast_threshold(watcher)
        if threshold is not None:
            side = book.longs if watcher.long else book.shorts
            at = bisect.bisect_left(side, (threshold, ordinal))
            if at < len(side) and side[at][1] == ordinal:
                del side[at]
        if not book.members:
            del self._symbols[symbol]

    def symbols(self) -> set[str]:
        return set(self._symbols)

    def of_symbol(self, symbol: str) -> list[K]:
        """Every watcher of `symbol`, in the order added (a copy: the caller may remove as it goes)."""
        book = self._symbols.get(symbol)
        return [] if book is None else list(book.members)

    def fast_candidates(self, symbol: str, close: float) -> list[K]:
        """The watchers of `symbol` a fast bar closing at `close` reaches, in the order added."""
        book = self._symbols.get(symbol)
        if book is None or math.isnan(close):
            return []
        longs, shorts = book.longs, book.shorts
        found = longs[:bisect.bisect_right(longs, (close, math.inf))] if longs else []
        if shorts:
            found += shorts[bisect.bisect_left(shorts, (close, -math.inf)):]
        if len(found) > 1:
            found.sort(key=lambda entry: entry[1])
        return [key for _, _, key in found]
