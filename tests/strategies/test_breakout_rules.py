"""The breakout rules beyond close/touch: break-confirm, fast entry, the hours filter, minute bars."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest

from strategies.breakout import BreakoutWatcher, Expired, Failed, FastEntry, MinuteBars, RegularHours, Trigger
from strategies.breakout.watcher import WatcherState
from supervisor.market import Bar
from supervisor.plan import PlanError, Side, TradePlan

NY = ZoneInfo("America/New_York")
T0 = dt.datetime(2024, 3, 14, 10, 0, tzinfo=NY).timestamp()  # a Thursday, inside regular hours


def plan(side: Side = Side.LONG) -> TradePlan:
    long = side is Side.LONG
    return TradePlan(trade_id="t", symbol="SIM", side=side, quantity=10, entry_price=100.0,
                     take_profits=(101.0,) if long else (99.0,), stop_losses=(99.0,) if long else (101.0,))


def bar(i: int, o: float, h: float, lo: float, c: float, *, seconds: float = 60.0, start: float = T0) -> Bar:
    return Bar(start + i * seconds, o, h, lo, c, seconds=seconds)


def mirror(b: Bar, around: float = 100.0) -> Bar:
    """The same bar reflected around `around`: a short sees what a long saw."""
    return Bar(b.time, 2 * around - b.open, 2 * around - b.low, 2 * around - b.high, 2 * around - b.close,
               seconds=b.seconds)


# -- break-confirm ------------------------------------------------------------------------------

BREAK = bar(0, 100.2, 100.6, 100.1, 100.3)  # high through 100.5, close below: the break bar
CONFIRMS = bar(1, 100.55, 100.7, 100.5, 100.6)  # opens above the level
FAILS = bar(1, 100.45, 100.8, 100.4, 100.7)  # opens below the level (closes above: still a failure)


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_break_then_an_open_beyond_the_level_fires_at_that_open(side: Side) -> None:
    level = 100.5 if side is Side.LONG else 99.5
    shape = (lambda b: b) if side is Side.LONG else mirror
    watcher = BreakoutWatcher(plan(side), level, "break-confirm")
    assert watcher.on_bar(shape(BREAK)) is None
    assert watcher.state is WatcherState.BROKEN
    signal = watcher.on_open(CONFIRMS.time, shape(CONFIRMS).open)
    assert signal == Trigger("t", level, shape(CONFIRMS).open, CONFIRMS.time, 1, "break-confirm")
    assert watcher.on_bar(shape(CONFIRMS)) is None  # single fire


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_break_then_an_open_short_of_the_level_fails_and_the_watcher_stops(side: Side) -> None:
    level = 100.5 if side is Side.LONG else 99.5
    shape = (lambda b: b) if side is Side.LONG else mirror
    watcher = BreakoutWatcher(plan(side), level, "break-confirm")
    watcher.on_bar(shape(BREAK))
    signal = watcher.on_open(FAILS.time, shape(FAILS).open)
    assert isinstance(signal, Failed)
    assert "opened at" in signal.reason
    assert watcher.done
    # a later bar that would have confirmed changes nothing: one setup, one attempt
    assert watcher.on_bar(shape(bar(2, 100.6, 100.9, 100.6, 100.8))) is None


def test_without_opens_the_next_completed_bar_decides_at_its_end() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, "break-confirm")
    watcher.on_bar(BREAK)
    signal = watcher.on_bar(CONFIRMS)
    assert signal == Trigger("t", 100.5, 100.55, CONFIRMS.end, 2, "break-confirm")
    watcher = BreakoutWatcher(plan(), 100.5, "break-confirm")
    watcher.on_bar(BREAK)
    assert isinstance(watcher.on_bar(FAILS), Failed)


def test_a_break_on_the_last_allowed_bar_is_decided_before_expiry() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, "break-confirm", max_bars=1)
    assert watcher.on_bar(BREAK) is None
    assert isinstance(watcher.on_open(CONFIRMS.time, 100.55), Trigger)
    quiet = BreakoutWatcher(plan(), 100.5, "break-confirm", max_bars=1)
    assert quiet.on_bar(bar(0, 100.0, 100.2, 99.9, 100.1)) == Expired("t", 1, T0 + 60)


def test_an_open_before_the_break_bar_ended_is_not_the_confirmation() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, "break-confirm")
    watcher.on_bar(BREAK)
    assert watcher.on_open(BREAK.time, 100.9) is None
    assert watcher.state is WatcherState.BROKEN


# -- fast entry -----------------------------------------------------------------------------------

def test_a_fast_bar_beyond_level_plus_offset_fires_before_the_minute_closes() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, fast=FastEntry(0.05))
    assert watcher.on_fast_bar(bar(0, 100.4, 100.56, 100.4, 100.54, seconds=5)) is None  # inside the offset
    signal = watcher.on_fast_bar(bar(1, 100.54, 100.6, 100.54, 100.55, seconds=5))
    assert signal == Trigger("t", 100.5, 100.55, T0 + 10, 0, "fast")
    assert watcher.on_bar(bar(0, 100.4, 100.7, 100.4, 100.7)) is None


def test_fast_bars_are_ignored_without_fast_entry_and_never_count_toward_max_bars() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, max_bars=1)
    assert watcher.on_fast_bar(bar(0, 100.4, 100.9, 100.4, 100.9, seconds=5)) is None
    fast = BreakoutWatcher(plan(), 100.5, max_bars=1, fast=FastEntry())
    for i in range(5):
        fast.on_fast_bar(bar(i, 100.0, 100.1, 99.9, 100.0, seconds=5))
    assert fast.bars_watched == 0
    assert not fast.done


def test_short_fast_entry_mirrors() -> None:
    watcher = BreakoutWatcher(plan(Side.SHORT), 99.5, fast=FastEntry(0.05))
    assert watcher.on_fast_bar(bar(0, 99.5, 99.5, 99.46, 99.46, seconds=1)) is None
    assert isinstance(watcher.on_fast_bar(bar(1, 99.46, 99.46, 99.45, 99.45, seconds=1)), Trigger)


@pytest.mark.parametrize("offset", [-0.01, float("inf"), float("nan")])
def test_a_bad_fast_offset_names_the_field(offset: float) -> None:
    with pytest.raises(PlanError) as caught:
        FastEntry(offset)
    assert caught.value.field == "fast_offset"


# -- regular hours ----------------------------------------------------------------------------------

def at(hour: int, minute: int) -> float:
    return dt.datetime(2024, 3, 14, hour, minute, tzinfo=NY).timestamp()


@pytest.mark.parametrize(("start", "inside"), [
    ((9, 29), False), ((9, 30), True), ((15, 59), True), ((16, 0), False), ((4, 0), False), ((19, 0), False),
])
def test_regular_hours_keep_only_bars_inside_the_session(start: tuple[int, int], inside: bool) -> None:
    assert RegularHours().contains(Bar(at(*start), 100, 100, 100, 100)) is inside


def test_the_hours_filter_is_the_watchers_and_is_configurable() -> None:
    premarket = Bar(at(9, 0), 100.6, 100.7, 100.6, 100.7)
    assert BreakoutWatcher(plan(), 100.5, hours=RegularHours()).on_bar(premarket) is None
    early = RegularHours.parse("04:00-20:00")
    assert isinstance(BreakoutWatcher(plan(), 100.5, hours=early).on_bar(premarket), Trigger)
    assert isinstance(BreakoutWatcher(plan(), 100.5, hours=None).on_bar(premarket), Trigger)


def test_the_session_is_in_the_exchange_time_zone_across_daylight_saving() -> None:
    winter = dt.datetime(2024, 1, 10, 9, 30, tzinfo=NY).timestamp()  # UTC-5
    summer = dt.datetime(2024, 7, 10, 9, 30, tzinfo=NY).timestamp()  # UTC-4
    hours = RegularHours()
    assert hours.contains(Bar(winter, 1, 1, 1, 1))
    assert hours.contains(Bar(summer, 1, 1, 1, 1))
    assert not hours.contains(Bar(winter - 60, 1, 1, 1, 1))


def test_one_bar_time_is_answered_for_each_window_and_zone_apart() -> None:
    # the answers are cached by bar time: another window or zone asking about the same bar is not
    # given the first one's answer
    bar = Bar(at(9, 0), 100, 100, 100, 100)
    assert not RegularHours().contains(bar)
    assert RegularHours.parse("04:00-20:00").contains(bar)
    assert not RegularHours().contains(bar)
    assert RegularHours.parse("09:30-16:00", "Europe/London").contains(bar)  # 13:00 in London
    assert not RegularHours().contains(attrs.evolve(bar, seconds=23 * 3600.0))  # ends the next day


@pytest.mark.parametrize("text", ["9:30", "09:30-25:00", "16:00-09:30", "abc"])
def test_bad_hours_name_the_option_and_value(text: str) -> None:
    with pytest.raises(PlanError) as caught:
        RegularHours.parse(text)
    assert caught.value.field == "rth"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        RegularHours.parse("09:30-16:00", "Mars/Olympus")
    assert caught.value.field == "timezone"


# -- second bars to minutes ---------------------------------------------------------------------------

def test_second_bars_make_a_minute_when_the_boundary_is_reached() -> None:
    minutes = MinuteBars()
    out: list[Bar] = []
    for i in range(12):  # 12 five-second bars: one minute
        price = 100 + i * 0.01
        out += minutes.push(bar(i, price, price + 0.05, price - 0.02, price + 0.01, seconds=5))
    assert len(out) == 1
    [minute] = out
    assert (minute.time, minute.seconds, minute.open, minute.close) == (T0, 60.0, 100.0, 100.12)
    assert (minute.high, minute.low) == (pytest.approx(100.16), pytest.approx(99.98))


def test_a_gap_completes_the_minute_from_what_arrived() -> None:
    minutes = MinuteBars()
    assert minutes.push(bar(0, 100, 100.1, 99.9, 100, seconds=5)) == []
    later = minutes.push(bar(13, 101, 101, 101, 101, seconds=5))  # the next minute's second bar
    assert [(b.time, b.close) for b in later] == [(T0, 100)]
    assert [(b.time, b.open) for b in minutes.flush()] == [(T0 + 60, 101)]
