"""The breakout setup: validation naming the field, the ladder split, automatic take-profits on
fixed bars, entry pricing at the ask, and the journal form."""

from __future__ import annotations

from typing import Any

import pytest

from strategies.breakout import BreakoutSetup, EntryPrice, FastEntry, RegularHours, price_entry
from strategies.breakout.levels import auto_take_profits, average_true_range, ladder_split
from supervisor.market import Bar, Quote
from supervisor.plan import EntryType, PlanError, Side
from supervisor.policy import TargetsCrossedAction

AAPL: dict[str, Any] = {"trade_id": "aapl", "symbol": "AAPL", "level": 190.0, "quantity": 100,
                        "take_profits": (195, 198, 205), "stop_losses": (187,)}


def setup(**changes: Any) -> BreakoutSetup:
    return BreakoutSetup(**{**AAPL, **changes})


@pytest.mark.parametrize(("changes", "field"), [
    ({"level": float("inf")}, "level"),
    ({"level": float("nan")}, "level"),
    ({"level": -190.0}, "level"),
    ({"quantity": 0}, "qty"),
    ({"quantity": 10.5}, "qty"),
    ({"take_profits": (185,)}, "tp[1]"),  # a long's target below the level
    ({"take_profits": (195, float("inf"))}, "tp[2]"),
    ({"take_profits": ()}, "tp"),
    ({"stop_losses": ()}, "sl"),
    ({"stop_losses": (191,)}, "sl[1]"),
    ({"stop_losses": (-1,)}, "sl[1]"),
    ({"tp_alloc": (50, 40, 5)}, "tp_alloc"),
    ({"tp_alloc": (50, 50)}, "tp_alloc"),
    ({"take_profits": (195.001,)}, "tp[1]"),  # off the tick grid
    ({"max_bars": 0}, "max_bars"),
    ({"quote_age": 0.0}, "quote_age"),
    ({"quote_age": float("inf")}, "quote_age"),
    ({"take_profits": (), "tp_auto": 4}, "tp_count"),
    ({"take_profits": (), "tp_auto": 2, "stop_losses": (191,)}, "sl[1]"),
    ({"rule": "wick"}, "rule"),
    # tp none: the stop alone, so nothing that needs a take-profit
    ({"take_profits": (), "tp_none": True, "stop_losses": ()}, "sl"),
    ({"take_profits": (), "tp_none": True, "stop_losses": (187, 186)}, "sl"),
    ({"tp_none": True}, "tp"),  # prices and none
    ({"take_profits": (), "tp_none": True, "tp_auto": 2}, "tp"),
    ({"take_profits": (), "tp_none": True, "stop_updates": (190.5,)}, "stop_updates"),
    ({"take_profits": (), "tp_none": True, "tp_alloc": (100,)}, "tp_alloc"),
    ({"take_profits": (), "tp_none": True, "targets_crossed": "keep"}, "targets_crossed"),
    ({"take_profits": (), "tp_none": True, "stop_losses": (191,)}, "sl[1]"),  # above the level
    ({"targets_crossed": "sell"}, "targets_crossed"),
])
def test_a_bad_field_is_refused_by_name(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PlanError) as caught:
        setup(**changes)
    assert caught.value.field == field


@pytest.mark.parametrize(("qty", "levels", "alloc", "split"), [
    (100, 3, None, (60, 30, 10)),
    (100, 2, None, (70, 30)),
    (1000, 3, (60, 30, 10), (600, 300, 100)),  # percentages
    (1000, 3, (500, 300, 200), (500, 300, 200)),  # shares
    (7, 2, None, (5, 2)),
    (100, 1, None, (100,)),
])
def test_the_ladder_split(qty: int, levels: int, alloc: tuple[int, ...] | None, split: tuple[int, ...]) -> None:
    assert ladder_split(qty, levels, alloc) == split


def test_a_quantity_too_small_for_the_ladder_is_refused() -> None:
    with pytest.raises(PlanError) as caught:
        ladder_split(2, 3, None)
    assert caught.value.field == "qty"


def test_the_plan_carries_the_split_and_refuses_an_entry_past_a_target() -> None:
    s = setup(tp_alloc=(50, 30, 20))
    plan = s.plan(190.05)
    assert (plan.allocation, plan.entry_price, plan.take_profits) == ((50, 30, 20), 190.05, (195, 198, 205))
    with pytest.raises(PlanError) as caught:
        s.plan(196.0)  # the ask is already past TP1: the targets were crossed
    assert caught.value.field == "tp[1]"


def test_outside_rth_follows_the_hours_filter_unless_given() -> None:
    assert setup().orders_outside_rth is False
    assert setup(hours=None).orders_outside_rth is True
    assert setup(hours=None, outside_rth=False).orders_outside_rth is False


# -- automatic take-profits on fixed bars ----------------------------------------------------------

def fixed_bars() -> list[Bar]:
    """15 bars: the first closes at 100.00; each next one has a 0.12 range and no gap."""
    bars = [Bar(0.0, 100.0, 100.05, 99.95, 100.0)]
    for i in range(1, 15):
        bars.append(Bar(60.0 * i, 100.0, 100.08, 99.96, 100.0))
    return bars


def test_the_atr_is_the_mean_true_range_of_the_last_n_bars() -> None:
    assert average_true_range(fixed_bars(), 14) == pytest.approx(0.12)
    gap = [*fixed_bars(), Bar(900.0, 100.5, 100.6, 100.5, 100.55)]  # gaps up 0.5 from the close
    assert average_true_range(gap, 1) == pytest.approx(0.6)  # |high - previous close|


def test_auto_levels_are_atr_multiples_from_the_level_rounded_to_the_tick() -> None:
    assert auto_take_profits(fixed_bars(), 100.49, Side.LONG, 3) == (100.61, 100.73, 100.85)
    assert auto_take_profits(fixed_bars(), 99.51, Side.SHORT, 2) == (99.39, 99.27)
    assert auto_take_profits(fixed_bars(), 100.49, Side.LONG, 2, atr_bars=5) == (100.61, 100.73)


def test_a_tiny_atr_still_spaces_the_levels_a_tick_apart() -> None:
    flat = [Bar(60.0 * i, 100.0, 100.0, 100.0, 100.0) for i in range(14)]
    assert auto_take_profits(flat, 100.49, Side.LONG, 3) == (100.5, 100.51, 100.52)


def test_too_little_history_is_an_error_naming_tp() -> None:
    with pytest.raises(PlanError) as caught:
        auto_take_profits(fixed_bars()[:5], 100.49, Side.LONG, 2)
    assert caught.value.field == "tp"
    assert "needs 14 completed bars" in caught.value.reason


def test_an_auto_setup_gets_its_levels_at_arming() -> None:
    auto = setup(level=100.49, take_profits=(), tp_auto=3, stop_losses=(99.95,))
    assert auto.auto
    assert auto.allocation() == (60, 30, 10)
    armed = auto.with_auto_levels(fixed_bars())
    assert armed.take_profits == (100.61, 100.73, 100.85)
    assert not armed.auto
    assert armed.plan(100.5).take_profits == (100.61, 100.73, 100.85)


# -- entry pricing ------------------------------------------------------------------------------------

QUOTE = Quote(1000.0, 189.98, 190.02)


@pytest.mark.parametrize(("changes", "quote", "now", "expected"), [
    ({}, QUOTE, 1002.0, 190.02),  # long: the ask
    ({"limit_offset_ticks": 3}, QUOTE, 1002.0, 190.05),
    ({"side": Side.SHORT, "level": 190.0, "take_profits": (185,), "stop_losses": (193,)}, QUOTE, 1000.0, 189.98),
    ({"entry": EntryType.MARKET}, None, 1000.0, 190.31),  # no quote: the trigger price is the reference
])
def test_entry_prices(changes: dict[str, Any], quote: Quote | None, now: float, expected: float) -> None:
    priced = price_entry(setup(**changes), quote, now, 190.31)
    assert isinstance(priced, EntryPrice)
    assert priced.price == pytest.approx(expected)


@pytest.mark.parametrize(("quote", "now", "reason"), [
    (None, 1000.0, "no quote for AAPL"),
    (QUOTE, 1006.0, "6.0s old, older than --quote-age 5s"),
    (QUOTE, 990.0, "in the future"),
])
def test_a_limit_entry_without_a_fresh_quote_is_refused(quote: Quote | None, now: float, reason: str) -> None:
    refused = price_entry(setup(), quote, now, 190.31)
    assert isinstance(refused, str)
    assert reason in refused


# -- the journal form -----------------------------------------------------------------------------------

def test_the_record_round_trips_every_field() -> None:
    rich = setup(rule="break-confirm", entry=EntryType.MARKET, tp_alloc=(50, 30, 20), stop_updates=(190.5, 195),
                 max_bars=30, hours=RegularHours.parse("04:00-20:00"), fast=FastEntry(0.05), watch_from=123.0,
                 account="DU1", limit_offset_ticks=2, outside_rth=True)
    assert BreakoutSetup.from_record(rich.to_record()) == rich
    assert BreakoutSetup.from_record(setup(hours=None).to_record()) == setup(hours=None)
    none = setup(take_profits=(), tp_none=True)
    assert BreakoutSetup.from_record(none.to_record()) == none
    crossed = setup(targets_crossed="shift")
    assert BreakoutSetup.from_record(crossed.to_record()) == crossed


def test_a_record_written_before_tp_none_and_targets_crossed_still_reads() -> None:
    record = setup().to_record()
    del record["tp_none"], record["targets_crossed"]
    assert BreakoutSetup.from_record(record) == setup()


def test_tp_none_plans_one_stop_only_level_and_says_so() -> None:
    none = setup(take_profits=(), tp_none=True, entry=EntryType.MARKET)
    plan = none.plan(190.0)
    assert (plan.take_profits, plan.stop_losses, plan.levels, plan.split(100), plan.stop_only) == (
        (), (187.0,), 1, (100,), True)
    text = none.describe()
    assert "take-profit none  (the stop alone holds all 100 until it fills or the trade is flattened" in text
    assert "break-even" not in text


def test_targets_crossed_goes_into_the_plan() -> None:
    assert setup(targets_crossed="keep").plan(190.0).targets_crossed is TargetsCrossedAction.KEEP
    assert setup().plan(190.0).targets_crossed is None  # the supervisor's policy answers


def test_the_description_shows_the_plan() -> None:
    text = setup(tp_alloc=(60, 30, 10)).describe()
    assert "long 100 AAPL on a close above 190" in text
    assert "195/198/205  (shares 60/30/10" in text
    assert "limit at the ask" in text
