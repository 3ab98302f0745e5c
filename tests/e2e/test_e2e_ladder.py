"""The whole breakout ladder, replayed from the bundled day through the runner: the trade the
README promises (entry, TP1/TP2/TP3, stops moved at the milestones) ends flat and closed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from e2e_helpers import FINAL, assert_books_balance, fills_by_leg, ladder, named

from strategies.breakout import Expired, Trigger
from supervisor.events import (
    InvalidTransition,
    InvariantViolated,
    LegFilled,
    StopRepriced,
    TradeArmed,
    TradeClosed,
)

NY = ZoneInfo("America/New_York")


def hhmm(t: float) -> str:
    return dt.datetime.fromtimestamp(t, NY).strftime("%H:%M")


def test_the_documented_ladder_ends_closed_flat_and_final() -> None:
    result = ladder()
    trade = result.trade
    assert result.sim_position == 0
    assert trade.position == 0
    assert trade.state == "closed"
    assert all(leg.state in FINAL for leg in trade.legs), [(leg.name, leg.state) for leg in trade.legs]
    assert trade.working_orders == ()
    assert trade.entry_filled == trade.exit_filled == 100
    assert fills_by_leg(result) == {"entry": 100, "tp1": 40, "tp2": 30, "tp3": 30}
    assert_books_balance(result)
    assert result.ok


def test_the_ladder_plays_out_at_the_documented_times_and_prices() -> None:
    result = ladder()
    assert isinstance(result.signal, Trigger)
    assert (hhmm(result.signal.time), result.signal.price) == ("10:20", 100.61)  # the 10:19 bar's close
    fills = [(e.leg, e.filled_qty, e.avg_price, hhmm(e.time)) for e in named(result, LegFilled)]
    assert fills == [
        ("entry", 100, 100.66, "10:20"),
        ("tp1", 40, 101.2, "10:47"),
        ("tp2", 30, 101.71, "11:40"),
        ("tp3", 30, 102.4, "12:20"),
    ]
    moves = [(e.leg, e.new_price, e.milestone) for e in named(result, StopRepriced)]
    assert moves == [("sl2", 100.66, 0), ("sl3", 100.66, 0), ("sl3", 101.2, 1)]  # break-even, then TP1
    closed = named(result, TradeClosed)
    assert [(c.entry_filled, c.exit_filled, round(c.realized_pnl, 2)) for c in closed] == [(100, 100, 105.3)]


def test_the_trade_is_armed_before_the_day_starts_and_nothing_goes_wrong() -> None:
    result = ladder()
    assert isinstance(result.events[0], TradeArmed)
    assert hhmm(result.events[0].time) == "09:30"
    assert named(result, InvalidTransition) == []
    assert named(result, InvariantViolated) == []
    assert result.reconciliations == 0


def test_the_same_inputs_give_the_same_events() -> None:
    assert ladder().events == ladder().events


def test_no_breakout_expires_the_entry_and_places_nothing() -> None:
    from broker.sim_session import default_plan, run_breakout
    from supervisor.events import OrderIntended

    for max_bars, signal in ((None, type(None)), (10, Expired)):
        result = run_breakout(default_plan(), 105.0, max_bars=max_bars)  # the day never gets there
        assert isinstance(result.signal, signal)
        assert result.trade.leg("entry").state == "expired"
        assert result.trade.state == "aborted"
        assert named(result, OrderIntended) == []
        assert result.sim_position == 0
        assert result.ok  # a watcher that never triggers is a normal end: nothing was sent
