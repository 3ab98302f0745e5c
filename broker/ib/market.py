"""Market data for strategies over ib_async: completed bars and quotes as `supervisor.market` values.

How it works:
- 1-minute bars: `reqHistoricalData(keepUpToDate=True)`. IB keeps re-sending the bar in progress;
  a bar is delivered once it completes, which IB shows by starting the next one (ib_async's
  `hasNewBar`): then the bar before the newest is final. Each bar is delivered once, oldest first.
- 5-second bars: `reqRealTimeBars`. Each one arrives complete.
- quotes: `reqMktData`, for a qualified contract only (`qualify()` first: ib_async keys tickers by
  conId). Every ticker update with a valid bid and ask (both positive, not crossed) becomes the
  symbol's latest `Quote`, stamped with the injected clock at arrival, so a strategy knows its age
  on the same clock (`quote.age(now)`).
Bar times are bar starts in UTC epoch seconds (historical data asked with formatDate=2).
ib_async forgets every subscription when the socket drops: `resubscribe()` asks again after a
reconnect, and after IB's 1101 ("connectivity restored, data lost").
Requests that need an answer before they stream (historical data) are started as tasks when an
event loop runs, and run to completion otherwise.

For a live loop: `await started()` waits for the first answers of the subscriptions (the history
a 1-minute stream starts with); `history(symbol)` is every complete 1-minute bar of the stream (what IB sent
before it started streaming included); `last_update` is the clock's time of the last bar update of
any stream (a feed that went quiet); `flush_bars(until)` delivers a bar in progress that ended by
`until` (the session's last bar: no next bar will start to complete it); `on_data` is called after
bars are delivered (a loop waiting for bars wakes up).

ib_async quirk (2.1.0, `Wrapper.historicalDataUpdate`): a keepUpToDate list that came back empty
(nothing traded in the window yet: before the open) drops every later update, so the stream would
never start. The adapter taps that method and puts the first update into an empty keepUpToDate
list itself; ib_async handles every update after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Callable, Coroutine
from typing import Any

from ib_async import IB, BarData, BarDataList, Contract, RealTimeBarList, Ticker
from ib_async.util import parseIBDatetime
from loguru import logger

from supervisor.market import Bar, Quote

HISTORY_WINDOW = "1800 S"  # enough to start the stream; strategies read completed bars from now on


class IBMarketData:
    def __init__(self, ib: IB, contract_for: Callable[[str], Contract], clock: Callable[[], float]) -> None:
        self._ib = ib
        self._contract_for = contract_for
        self._clock = clock
        self._bars: list[Bar] = []
        self._quotes: dict[str, Quote] = {}
        self._wanted_bars: dict[tuple[str, int], None] = {}
        self._wanted_quotes: dict[str, None] = {}
        self._delivered: dict[tuple[str, int], float] = {}  # last bar start handed out
        self._tickers: dict[str, Ticker] = {}
        self._streams: dict[tuple[str, int], BarDataList | RealTimeBarList] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last_update: float | None = None  # the clock's time of the last bar update, any stream
        self.on_data: Callable[[], None] | None = None  # called after bars are delivered
        self._history_update = ib.wrapper.historicalDataUpdate
        setattr(ib.wrapper, "historicalDataUpdate", self._tap_history_update)  # noqa: B010 (as the adapter's taps)

    # -- MarketDataPort ------------------------------------------------------------------------
    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None:
        if bar_seconds not in (5, 60):
            raise ValueError(f"bar_seconds must be 60 (1-minute bars) or 5 (real-time bars), got {bar_seconds!r}")
        self._wanted_bars[(symbol, bar_seconds)] = None
        self._start_bars(symbol, bar_seconds)

    def subscribe_quotes(self, symbol: str) -> None:
        self._wanted_quotes[symbol] = None
        self._start_quotes(symbol)

    def poll_bars(self) -> list[Bar]:
        bars, self._bars = self._bars, []
        return bars

    def latest_quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    # -- for a live loop -----------------------------------------------------------------------
    async def started(self) -> None:
        """Wait until the subscriptions under way have their first answer (historical data)."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    def history(self, symbol: str) -> list[Bar]:
        """Every complete 1-minute bar of `symbol`'s stream, oldest first (the bar in progress left out)."""
        stream = self._streams.get((symbol, 60))
        if not isinstance(stream, BarDataList):
            return []
        return [bar for raw in stream[:-1] if (bar := _bar(symbol, 60, raw)) is not None]

    def flush_bars(self, until: float) -> list[Bar]:
        """Deliver each 1-minute bar in progress that ended by `until` (epoch seconds): at the end of
        a session no next bar starts to complete the last one. Returns what was delivered."""
        delivered: list[Bar] = []
        for (symbol, seconds), stream in list(self._streams.items()):
            if seconds != 60 or not isinstance(stream, BarDataList) or not stream:
                continue
            start = _epoch(stream[-1].date)
            if start + 60 <= until and self._deliver(symbol, 60, start, stream[-1]):
                delivered.append(self._bars[-1])
        if delivered:
            self._notify()
        return delivered

    # -- subscriptions -------------------------------------------------------------------------
    def resubscribe(self) -> None:
        """Ask again for everything subscribed (ib_async dropped it with the connection)."""
        for symbol, seconds in self._wanted_bars:
            self._start_bars(symbol, seconds)
        for symbol in self._wanted_quotes:
            self._start_quotes(symbol)

    def close(self) -> None:
        if self._ib.wrapper.__dict__.get("historicalDataUpdate") == self._tap_history_update:
            del self._ib.wrapper.historicalDataUpdate
        for task in self._tasks:
            task.cancel()
        for (_, seconds), stream in self._streams.items():
            if not self._ib.isConnected():
                break
            if seconds == 5 and isinstance(stream, RealTimeBarList):
                self._ib.cancelRealTimeBars(stream)
            elif isinstance(stream, BarDataList):
                self._ib.cancelHistoricalData(stream)
        if self._ib.isConnected():
            for ticker in self._tickers.values():
                self._ib.cancelMktData(ticker.contract)  # type: ignore[arg-type]
        self._streams.clear()
        self._tickers.clear()

    def _start_bars(self, symbol: str, seconds: int) -> None:
        contract = self._contract_for(symbol)
        if seconds == 5:
            stream = self._ib.reqRealTimeBars(contract, 5, "TRADES", False)
            stream.updateEvent += lambda bars, _new: self._on_realtime(symbol, bars)
            self._streams[(symbol, 5)] = stream
            return
        self._run(self._start_history(symbol, contract))

    async def _start_history(self, symbol: str, contract: Contract) -> None:
        stream = await self._ib.reqHistoricalDataAsync(
            contract, "", HISTORY_WINDOW, "1 min", "TRADES", useRTH=False, formatDate=2, keepUpToDate=True)
        stream.updateEvent += lambda bars, has_new: self._on_history(symbol, bars, has_new)
        self._streams[(symbol, 60)] = stream
        key = (symbol, 60)
        if stream:  # what IB sent before the stream started is history (after a reconnect too: the
            # bars that closed while away are not news); its newest bar is still in progress
            self._delivered[key] = max(self._delivered.get(key, -math.inf), _epoch(stream[-1].date) - 60)
        else:  # nothing yet: every bar the stream brings is news
            self._delivered.setdefault(key, -math.inf)

    def _start_quotes(self, symbol: str) -> None:
        contract = self._contract_for(symbol)
        if not contract.conId:  # ib_async keys its tickers by the contract's conId
            raise ValueError(f"subscribe_quotes({symbol!r}): the contract is not qualified; "
                             f"call qualify(Instrument({symbol!r})) first")
        ticker = self._ib.reqMktData(contract, "", False, False)
        self._tickers[symbol] = ticker
        ticker.updateEvent += lambda t: self._on_ticker(symbol, t)

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._ib.run(coroutine)
            return
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("IB market data request failed: {!r}", task.exception())

    # -- updates -------------------------------------------------------------------------------
    def _tap_history_update(self, req_id: int, bar: BarData) -> None:
        bars = self._ib.wrapper.reqId2Subscriber.get(req_id)
        if isinstance(bars, BarDataList) and bars.keepUpToDate and not bars:
            # ib_async would drop it (and every update after it): the stream's first bar, put in here
            # (any keepUpToDate list of this connection: it may arrive before ours is known by id)
            bar.date = parseIBDatetime(bar.date)  # type: ignore[arg-type]
            bars.append(bar)
            self._ib.barUpdateEvent.emit(bars, True)
            bars.updateEvent.emit(bars, True)
            return
        self._history_update(req_id, bar)

    def _on_history(self, symbol: str, bars: BarDataList, has_new_bar: bool) -> None:
        self.last_update = self._clock()
        if not has_new_bar or len(bars) < 2:
            return  # the bar in progress changed: not complete yet
        # every bar but the newest is final; deliver those not delivered yet, oldest first (updates
        # that came in one read with the history's answer were applied before this listener was on)
        newest = self._delivered.get((symbol, 60), -math.inf)
        fresh = [raw for raw in bars[-2::-1] if _epoch(raw.date) > newest][::-1]
        delivered = [self._deliver(symbol, 60, _epoch(raw.date), raw) for raw in fresh]  # each one, in order
        if any(delivered):
            self._notify()

    def _on_realtime(self, symbol: str, bars: RealTimeBarList) -> None:
        self.last_update = self._clock()
        if bars and self._deliver(symbol, 5, bars[-1].time.timestamp(), bars[-1]):
            self._notify()

    def _deliver(self, symbol: str, seconds: int, start: float, raw: Any) -> bool:
        key = (symbol, seconds)
        if start <= self._delivered.get(key, -math.inf):
            return False
        bar = _bar(symbol, seconds, raw, start)
        if bar is None:
            return False
        self._delivered[key] = start
        self._bars.append(bar)
        return True

    def _notify(self) -> None:
        if self.on_data is not None:
            self.on_data()

    def _on_ticker(self, symbol: str, ticker: Ticker) -> None:
        bid, ask = ticker.bid, ticker.ask
        if not (_valid(bid) and _valid(ask)) or bid > ask:
            return
        last = ticker.last if _valid(ticker.last) else None
        self._quotes[symbol] = Quote(self._clock(), bid, ask, symbol, last)


def _bar(symbol: str, seconds: int, raw: Any, start: float | None = None) -> Bar | None:
    """An IB bar (historical or real-time) as a `Bar`, or None when it holds no trade."""
    if start is None:
        start = raw.time.timestamp() if seconds == 5 else _epoch(raw.date)
    opening = raw.open_ if seconds == 5 else raw.open
    try:
        return Bar(start, opening, raw.high, raw.low, raw.close, max(float(raw.volume), 0.0), float(seconds), symbol)
    except ValueError as exc:  # no trade in the bar (IB sends -1 / 0 prices): nothing to deliver
        logger.debug("IB bar of {} at {} left out: {}", symbol, start, exc)
        return None


def _epoch(when: dt.date | dt.datetime) -> float:
    """IB bar dates: datetimes in UTC (formatDate=2), or plain dates for daily bars."""
    if not isinstance(when, dt.datetime):
        when = dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC)
    return when.timestamp()


def _valid(price: float | None) -> bool:
    return price is not None and math.isfinite(price) and price > 0
