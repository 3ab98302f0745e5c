"""`watchers_lag`: 1,000 armed breakout watchers on 1-second bars in one process.

How it works: a `broker.desk.Desk` (the host the console and `breakout arm` use, with its journal)
arms 1,000 breakout setups, one symbol each, with fast entry on second bars, levels no bar reaches
(nothing fires: the figure is the watching). Every simulated second a bar arrives for each of the
1,000 symbols at once; the desk gets each one (`on_fast_bar`), and every minute the completed
1-minute bar too (`on_bar`, aggregated per symbol by `MinuteBars`, journaled by the desk), in
arrival order. A decision's lag is the time from the second's arrival (every bar of it built and
in hand) to the return of the call that decided on that bar: the last symbol of a second waits
for every symbol before it. The desk finds a bar's watchers in its `WatcherBook` (by symbol, and
for second bars by the fast threshold the close reaches), so each bar costs O(log n + k), not a
look at all 1,000 watchers. Budget: p99 <= 50 ms.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from broker.bench.figures import Figure, timed
from broker.desk import Desk
from broker.sim import SimBroker
from strategies.breakout import BreakoutSetup, FastEntry, MinuteBars
from supervisor.market import Bar, Quote

PRICE = 100.0
_START = 1_710_426_600.0  # 2024-03-14 14:30 UTC, 09:30 in New York


class _Clock:
    """The market source the desk reads while arming (no history, no quotes needed: no fire)."""

    def __init__(self) -> None:
        self.time = _START

    def now(self) -> float:
        return self.time

    def history(self) -> list[Bar]:
        return []

    def latest_quote(self, symbol: str) -> Quote | None:
        return None


def watchers_lag(watchers: int, seconds: int) -> Figure:
    market = _Clock()
    symbols = [f"W{k:04d}" for k in range(watchers)]
    with tempfile.TemporaryDirectory(prefix="bench-watchers-") as folder:
        broker = SimBroker([Bar(_START, PRICE, PRICE, PRICE, PRICE, 1000.0, 60.0)])
        desk = Desk.open(Path(folder) / "watchers.journal.sqlite", broker, market)
        try:
            for symbol in symbols:
                desk.arm(BreakoutSetup(trade_id=f"w-{symbol}", symbol=symbol, level=PRICE * 2, quantity=100,
                                       take_profits=(PRICE * 2.1,), stop_losses=(PRICE * 1.9,),
                                       fast=FastEntry(0.05)))
            minutes = {symbol: MinuteBars(symbol) for symbol in symbols}
            lags: list[int] = []
            decided = 0
            for s in range(seconds):
                market.time = _START + s + 1
                burst = [Bar(_START + s, PRICE, PRICE, PRICE, PRICE, 100.0, 1.0, symbol=sym) for sym in symbols]
                arrived = time.perf_counter_ns()
                for symbol, bar in zip(symbols, burst, strict=True):
                    desk.on_fast_bar(symbol, bar)
                    lags.append(time.perf_counter_ns() - arrived)
                    for minute in minutes[symbol].push(bar):
                        desk.on_bar(symbol, minute)
                        lags.append(time.perf_counter_ns() - arrived)
                decided += len(burst)
            watching = sum(1 for watch in desk.watches.values() if watch.active)
        finally:
            desk.close()
    if watching != watchers:
        raise RuntimeError(f"watchers_lag: {watching} of {watchers} watchers still watching at the end")
    return timed("watchers_lag", lags, budget=f"p99 <= 50 ms, {watchers:,} watchers on 1-second bars",
                 limit_p99_us=50_000,
                 reason="a bar waits for the watchers before it; profile the desk (`broker.desk`, `WatcherBook`)",
                 details={"watchers": watchers, "seconds": seconds, "bars": decided})
