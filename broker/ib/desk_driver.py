"""`IBDeskDriver`: drives a `Desk` (breakout watchers, their supervisor and journal) on IB.

How it works: it is broker/desk_sim.py's `SimDriver` for the live broker, on an event loop.
- `IBMarket` is the desk's market source: the adapter's clock for `now()` (quotes are stamped with
  it too, so their age is read on one clock), the symbol's complete 1-minute bars for `history()`
  (what IB sent before the stream started included: automatic targets read their ATR there) and
  the adapter's quotes.
- `await start(symbols, quotes=...)` subscribes 1-minute bars (and quotes, for limit entries priced
  at the ask) and waits for the history the streams start with.
- `await catch_up()`: a desk restarted from its journal reconciles through `fetch_truth` (the
  desk's own `catch_up` asks `query()`, which cannot block inside the loop).
- `await wait_bars(symbol, n)`: until `n` complete bars are there (automatic targets need them).
- `await run(on_bar)`: the desk's runner pushes every IB message into the supervisor (`LiveLoop`);
  each completed bar of a watched or followed symbol goes to `desk.on_bar`, then to `on_bar` (a live
  table). It ends when every watcher has ended and every trade is finished, when the session
  closes, or when the market data stops; then `desk.end_of_data()` expires the watchers still
  watching and the runner drains what follows. Returns why it ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from broker.desk import Desk
from broker.ib.adapter import IBBroker
from broker.ib.session import DEFAULT_IDLE_TIMEOUT, LiveLoop, Stopped
from broker.sim_session import FINAL_LEG_STATES
from supervisor.market import Bar, Quote


class IBMarket:
    """The desk's `MarketSource` on IB, for one symbol's bars (every symbol's quotes)."""

    def __init__(self, broker: IBBroker, symbol: str, clock: Callable[[], float] = time.time) -> None:
        self._broker = broker
        self._symbol = symbol
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def history(self) -> list[Bar]:
        return self._broker.market.history(self._symbol)

    def latest_quote(self, symbol: str) -> Quote | None:
        return self._broker.latest_quote(symbol)


class IBDeskDriver:
    def __init__(self, desk: Desk, broker: IBBroker, *, session_end: float | None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT, interval: float = 0.25) -> None:
        self.desk = desk
        self.broker = broker
        self.session_end = session_end
        self.idle_timeout = idle_timeout
        self.interval = interval

    async def start(self, symbols: Iterable[str], *, quotes: bool) -> None:
        for symbol in symbols:
            self.broker.subscribe_bars(symbol, 60)
            if quotes:
                self.broker.subscribe_quotes(symbol)  # the contract is qualified by now
        await self.broker.market.started()

    async def catch_up(self) -> bool:
        """Reconcile restored trades with the broker's truth. False when it cannot answer now (the
        runner reconciles again after the reconnect)."""
        if not self.desk.recorder.trades():
            return True
        return await self.desk.runner.reconcile_async()

    async def wait_bars(self, symbol: str, count: int) -> None:
        """Until `count` complete bars of `symbol` are there (the runner delivers events meanwhile)."""
        async with self._loop() as loop:
            await loop.bars(lambda _bars: None, lambda: len(self.broker.market.history(symbol)) >= count)

    def finished(self) -> bool:
        """Every watcher ended, every trade over: closed or aborted, flat, every leg final."""
        if any(watch.active for watch in self.desk.watches.values()):
            return False
        return all(trade.state in ("closed", "aborted") and trade.position == 0
                   and all(leg.state in FINAL_LEG_STATES for leg in trade.legs)
                   for trade in self.desk.recorder.trades())

    async def run(self, on_bar: Callable[[], None] = lambda: None) -> Stopped:
        def on_bars(bars: list[Bar]) -> None:
            wanted = self.desk.watched_symbols() | self.desk.followed_symbols()
            for bar in bars:
                if bar.symbol in wanted:
                    self.desk.on_bar(bar.symbol, bar)
            on_bar()

        async with self._loop() as loop:
            why = await loop.bars(on_bars, self.finished)
            if why is not Stopped.FINISHED:
                self.desk.end_of_data()
                await loop.drain(self.finished)
        return why

    def _loop(self) -> LiveLoop:
        return LiveLoop(self.broker, self.desk.runner, interval=self.interval, idle_timeout=self.idle_timeout,
                        session_end=self.session_end)
