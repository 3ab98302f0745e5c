"""The desk asks only the watchers a bar concerns: a second bar fires exactly the fast watchers whose
threshold its close reaches (a short breakdown mirrored), in the order they were armed; a watcher
cancelled mid-day is never fired, one armed mid-day is; 1-minute bars reach every watcher of the
symbol and no other; a restart puts the watchers still watching back in the book."""

from __future__ import annotations

from pathlib import Path

from broker.desk import Desk
from broker.sim import SimBroker
from strategies.breakout import BreakoutSetup, FastEntry
from supervisor.market import Bar, Quote
from supervisor.plan import EntryType, Side

START = 1_710_426_600.0  # 2024-03-14 09:30 in New York


class Market:
    def __init__(self) -> None:
        self.time = START

    def now(self) -> float:
        return self.time

    def history(self) -> list[Bar]:
        return []

    def latest_quote(self, symbol: str) -> Quote | None:
        return None


def setup(trade_id: str, symbol: str, level: float, side: Side = Side.LONG, *, fast: float | None = 0.05,
          max_bars: int | None = None) -> BreakoutSetup:
    long = side is Side.LONG
    return BreakoutSetup(trade_id=trade_id, symbol=symbol, level=level, quantity=10, side=side,
                         entry=EntryType.MARKET, take_profits=(level + 2,) if long else (level - 2,),
                         stop_losses=(level - 2,) if long else (level + 2,),
                         fast=None if fast is None else FastEntry(fast), max_bars=max_bars)


def second(symbol: str, s: int, close: float) -> Bar:
    return Bar(START + s, close, close, close, close, 100.0, 1.0, symbol=symbol)


def fired(desk: Desk) -> list[str]:
    return [r.value["watcher"]["trade_id"] for r in desk.recorder.journal.records(kinds=("meta",))
            if "watcher" in r.value and r.value["watcher"]["event"] == "fired"]


def open_desk(journal: Path, market: Market) -> Desk:
    return Desk.open(journal, SimBroker([Bar(START, 100.0, 100.0, 100.0, 100.0, 1000.0, 60.0)]), market)


def test_a_second_bar_fires_exactly_the_watchers_it_reaches(tmp_path: Path) -> None:
    market = Market()
    desk = open_desk(tmp_path / "j.sqlite", market)
    try:
        desk.arm(setup("up", "AAA", 101.0))
        desk.arm(setup("down", "AAA", 99.0, Side.SHORT))
        desk.arm(setup("far", "AAA", 105.0))
        desk.arm(setup("slow", "AAA", 100.5, fast=None))  # no fast entry: seconds never fire it
        desk.arm(setup("other", "BBB", 101.0))
        market.time = START + 1
        desk.on_fast_bar("AAA", second("AAA", 0, 101.04))  # short of 101 + 0.05
        assert fired(desk) == []
        desk.on_fast_bar("AAA", second("AAA", 1, 101.05))
        assert fired(desk) == ["up"]
        desk.cancel(["far"])  # mid-day: leaves the book
        desk.arm(setup("late", "AAA", 99.5, Side.SHORT, fast=0.0))  # mid-day: joins it
        desk.on_fast_bar("AAA", second("AAA", 2, 98.95))  # the breakdown: both shorts, in arming order
        assert fired(desk) == ["up", "down", "late"]
        desk.on_fast_bar("AAA", second("AAA", 3, 106.0))  # far was cancelled, slow has no fast entry
        assert fired(desk) == ["up", "down", "late"]
        assert {w.trade_id: w.status for w in desk.watches.values()} == {
            "up": "fired", "down": "fired", "far": "cancelled", "slow": "watching", "late": "fired",
            "other": "watching"}
        assert desk.watched_symbols() == {"AAA", "BBB"}
    finally:
        desk.close()


def test_minute_bars_reach_every_watcher_of_the_symbol_and_a_restart_keeps_the_book(tmp_path: Path) -> None:
    market = Market()
    journal = tmp_path / "j.sqlite"
    desk = open_desk(journal, market)
    try:
        desk.arm(setup("a1", "AAA", 150.0, max_bars=2))
        desk.arm(setup("a2", "AAA", 150.0, max_bars=3))
        desk.arm(setup("b1", "BBB", 150.0, max_bars=1))
        desk.arm(setup("b2", "BBB", 150.0, Side.SHORT, fast=0.0))
        minute = Bar(START, 100.0, 100.0, 100.0, 100.0, 1000.0, 60.0, symbol="AAA")
        market.time = START + 60
        desk.on_bar("AAA", minute)  # counted by both AAA watchers, by no BBB one
        assert {w.trade_id: w.watcher.bars_watched for w in desk.watches.values()} == {
            "a1": 1, "a2": 1, "b1": 0, "b2": 0}
    finally:
        desk.close()
    market.time = START + 61
    restarted = open_desk(journal, market)
    try:
        assert restarted.watched_symbols() == {"AAA", "BBB"}
        restarted.on_bar("AAA", Bar(START + 60, 100.0, 100.0, 100.0, 100.0, 1000.0, 60.0, symbol="AAA"))
        status = {w.trade_id: w.status for w in restarted.watches.values()}
        assert status == {"a1": "expired", "a2": "watching", "b1": "watching", "b2": "watching"}
        assert restarted.watched_symbols() == {"AAA", "BBB"}
        restarted.on_fast_bar("BBB", second("BBB", 62, 149.0))  # the short fires: 149 <= 150
        assert fired(restarted) == ["b2"]
        restarted.on_bar("BBB", Bar(START + 60, 100.0, 100.0, 100.0, 100.0, 1000.0, 60.0, symbol="BBB"))
        assert restarted.watches["b1"].status == "expired"
        assert restarted.watched_symbols() == {"AAA"}
    finally:
        restarted.close()
