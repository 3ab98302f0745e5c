"""The watcher book: a fast bar finds exactly the watchers it fires (long and short mirrored), in the
order they were added; watchers added and removed mid-day; 1-minute bars reach every watcher of the
symbol."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.breakout import BreakoutWatcher, FastEntry, Trigger
from strategies.breakout.book import WatcherBook, fast_threshold
from supervisor.plan import Side


@attrs.frozen
class Trade:
    trade_id: str
    side: Side


@attrs.frozen
class SecondBar:
    close: float
    time: float = 0.0
    open: float = 100.0
    high: float = 200.0
    low: float = 1.0

    @property
    def end(self) -> float:
        return self.time + 1.0


def watcher(key: str, side: Side, level: float, offset: float | None) -> BreakoutWatcher:
    return BreakoutWatcher(Trade(key, side), level, fast=None if offset is None else FastEntry(offset))


def fires(w: BreakoutWatcher, close: float) -> bool:
    """Whether the watcher itself fires on this fast bar (asked of a twin: the original stays armed)."""
    twin = BreakoutWatcher(w.plan, w.level, fast=w.fast)
    return isinstance(twin.on_fast_bar(SecondBar(close)), Trigger)


def test_a_long_is_found_at_or_above_its_threshold_and_a_short_at_or_below() -> None:
    book: WatcherBook[str] = WatcherBook()
    book.add("long", "AAA", watcher("long", Side.LONG, 100.0, 0.05))
    book.add("short", "AAA", watcher("short", Side.SHORT, 100.0, 0.05))
    assert book.fast_candidates("AAA", 100.04) == []
    assert book.fast_candidates("AAA", 100.0 + 0.05) == ["long"]  # exactly at level + offset
    assert book.fast_candidates("AAA", 100.0 - 0.05) == ["short"]  # the breakdown, mirrored
    assert book.fast_candidates("AAA", 99.0) == ["short"]
    assert book.fast_candidates("BBB", 150.0) == []  # another symbol's bar


def test_a_watcher_without_fast_entry_is_never_a_fast_candidate_but_sees_every_minute_bar() -> None:
    book: WatcherBook[str] = WatcherBook()
    book.add("slow", "AAA", watcher("slow", Side.LONG, 100.0, None))
    book.add("fast", "AAA", watcher("fast", Side.LONG, 101.0, 0.0))
    assert book.fast_candidates("AAA", 500.0) == ["fast"]
    assert book.of_symbol("AAA") == ["slow", "fast"]
    assert book.of_symbol("BBB") == []


def test_watchers_added_and_removed_mid_day() -> None:
    book: WatcherBook[str] = WatcherBook()
    for k, level in enumerate((101.0, 100.0, 102.0)):
        book.add(f"w{k}", "AAA", watcher(f"w{k}", Side.LONG, level, 0.0))
    assert book.fast_candidates("AAA", 101.5) == ["w0", "w1"]  # the order added, not the level's
    book.remove("w0")
    book.remove("w0")  # once gone, removing again changes nothing
    assert book.fast_candidates("AAA", 101.5) == ["w1"]
    book.add("late", "AAA", watcher("late", Side.LONG, 99.0, 0.0))
    assert book.fast_candidates("AAA", 101.5) == ["w1", "late"]
    assert book.of_symbol("AAA") == ["w1", "w2", "late"]
    for key in ("w1", "w2", "late"):
        book.remove(key)
    assert len(book) == 0
    assert book.symbols() == set()
    assert book.fast_candidates("AAA", 101.5) == []


def test_a_key_is_added_once() -> None:
    book: WatcherBook[str] = WatcherBook()
    book.add("w", "AAA", watcher("w", Side.LONG, 100.0, 0.0))
    with pytest.raises(ValueError, match="'w' is already in the book"):
        book.add("w", "BBB", watcher("w", Side.LONG, 100.0, 0.0))
    assert book.of_symbol("BBB") == []


def test_the_threshold_is_the_watchers_own_sum() -> None:
    w = watcher("w", Side.LONG, 0.1, 0.2)
    assert fast_threshold(w) == 0.1 + 0.2  # 0.30000000000000004: a close of 0.3 does not fire it
    assert not fires(w, 0.3)
    book: WatcherBook[str] = WatcherBook()
    book.add("w", "AAA", w)
    assert book.fast_candidates("AAA", 0.3) == []
    assert book.fast_candidates("AAA", 0.1 + 0.2) == ["w"]


_level = st.sampled_from([99.5, 99.95, 100.0, 100.05, 100.1, 100.49, 100.5, 101.0, 0.1, 0.3])
_offset = st.one_of(st.none(), st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5]))
_spec = st.tuples(st.sampled_from(["AAA", "BBB", "CCC"]), st.sampled_from([Side.LONG, Side.SHORT]), _level, _offset)


@settings(max_examples=200, deadline=None)
@given(specs=st.lists(_spec, min_size=1, max_size=30),
       removed=st.sets(st.integers(0, 29), max_size=10),
       closes=st.lists(st.sampled_from([0.3, 0.30000000000000004, 99.45, 99.5, 99.9, 100.0, 100.05, 100.1,
                                        100.15, 100.5, 100.7, 101.0, 101.5]), min_size=1, max_size=8))
def test_a_fast_bar_finds_exactly_the_watchers_it_fires(specs: list[tuple[str, Side, float, float | None]],
                                                        removed: set[int], closes: list[float]) -> None:
    book: WatcherBook[str] = WatcherBook()
    watchers: dict[str, tuple[str, BreakoutWatcher]] = {}
    for k, (symbol, side, level, offset) in enumerate(specs):
        key = f"w{k}"
        watchers[key] = (symbol, watcher(key, side, level, offset))
        book.add(key, symbol, watchers[key][1])
    for k in removed:
        book.remove(f"w{k}")
        watchers.pop(f"w{k}", None)
    for symbol in ("AAA", "BBB", "CCC"):
        for close in closes:
            expected = [key for key, (s, w) in watchers.items() if s == symbol and fires(w, close)]
            assert book.fast_candidates(symbol, close) == expected
        assert book.of_symbol(symbol) == [key for key, (s, _) in watchers.items() if s == symbol]
