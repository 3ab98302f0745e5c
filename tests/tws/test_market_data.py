"""Market data through a real `ib_async.IB()`, served from the bars the market clock has passed:
historical bars (the data's own bars again, aggregated ones, keepUpToDate updates as the clock
advances), 5-second real-time bars, and quotes (streaming and snapshot)."""

from __future__ import annotations

import datetime as dt

import pytest
from ib_async import BarDataList, ExecutionFilter
from tws_helpers import advance, barrier, client, gateway, stock

from broker.sim import load_bars
from broker.sim_session import bundled_day

DAY = load_bars(bundled_day())


def test_historical_bars_are_the_bars_the_clock_has_passed() -> None:
    with gateway() as server, client(server) as ib:
        advance(server, ib, bars=60)
        bars = ib.reqHistoricalData(stock("AAPL"), "", "1 D", "1 min", "TRADES", True)
        assert len(bars) == 60  # nothing from the future
        for got, want in zip(bars, DAY[:60], strict=True):
            assert got.date.timestamp() == want.time
            assert (got.open, got.high, got.low, got.close, got.volume) == (
                want.open, want.high, want.low, want.close, want.volume)
        five = ib.reqHistoricalData(stock("AAPL"), "", "3600 S", "5 mins", "TRADES", True, formatDate=2)
        assert len(five) == 12
        first = DAY[:5]
        assert (five[0].open, five[0].high, five[0].low, five[0].close, five[0].volume) == (
            first[0].open, max(b.high for b in first), min(b.low for b in first), first[-1].close,
            sum(b.volume for b in first))
        assert five[0].date == dt.datetime.fromtimestamp(DAY[0].time, dt.UTC)  # formatDate 2: UTC


def test_an_end_date_time_cuts_the_window() -> None:
    with gateway() as server, client(server) as ib:
        advance(server, ib, bars=60)
        end = dt.datetime.fromtimestamp(DAY[20].time, dt.UTC)  # 09:50 (the 09:50 bar has begun there)
        bars = ib.reqHistoricalData(stock("AAPL"), end, "600 S", "1 min", "TRADES", True)
        assert [b.date.timestamp() for b in bars] == [b.time for b in DAY[10:21]]


def test_keep_up_to_date_updates_the_forming_bar_and_starts_the_next() -> None:
    with gateway() as server, client(server) as ib:
        advance(server, ib, bars=30)
        bars = ib.reqHistoricalData(stock("AAPL"), "", "1800 S", "1 min", "TRADES", True, keepUpToDate=True)
        assert isinstance(bars, BarDataList)
        assert len(bars) == 30
        updates: list[bool] = []
        bars.updateEvent += lambda bar_list, has_new_bar: updates.append(has_new_bar)
        advance(server, ib, points=1)  # 10:00:00: a new bar opens
        assert updates == [True]
        assert len(bars) == 31
        assert bars[-1].open == bars[-1].close == DAY[30].open
        advance(server, ib, points=3)  # the rest of it: the forming bar grows into the data's bar
        assert updates == [True, False, False, False]
        assert (bars[-1].open, bars[-1].high, bars[-1].low, bars[-1].close, bars[-1].volume) == (
            DAY[30].open, DAY[30].high, DAY[30].low, DAY[30].close, DAY[30].volume)
        ib.cancelHistoricalData(bars)
        advance(server, ib, bars=2)
        assert len(bars) == 31  # no more updates once cancelled


def test_a_historical_request_the_simulator_cannot_serve_ends_with_162_naming_the_field() -> None:
    with gateway() as server, client(server) as ib:
        errors: list[tuple[int, str]] = []
        ib.errorEvent += lambda req_id, code, message, contract: errors.append((code, message))
        assert list(ib.reqHistoricalData(stock("AAPL"), "", "1 D", "7 mins", "TRADES", True)) == []
        assert list(ib.reqHistoricalData(stock("AAPL"), "20240314 10:00:00", "1 D", "1 min", "TRADES", True,
                                         keepUpToDate=True)) == []
        assert [code for code, _ in errors] == [162, 162]
        assert "'barSizeSetting'" in errors[0][1]
        assert "'endDateTime'" in errors[1][1]


def test_real_time_bars_slice_the_market_into_five_seconds() -> None:
    with gateway() as server, client(server) as ib:
        advance(server, ib, bars=60)  # 10:29:45, the close of the 10:29 bar
        rt = ib.reqRealTimeBars(stock("AAPL"), 5, "TRADES", False)
        advance(server, ib, bars=1)  # through 10:30:45
        starts = [bar.time.timestamp() for bar in rt]
        assert starts == [DAY[59].time + 45 + 5 * k for k in range(12)]  # 10:29:45 .. 10:30:40
        assert (rt[0].open_, rt[0].close) == (DAY[59].close, DAY[59].close)
        path = DAY[60].path()
        assert [rt[k].open_ for k in (3, 6, 9)] == list(path[:3])  # the points at :00, :15, :30
        assert rt[4].volume == 0  # no trade between :05 and :10: flat at the last price
        assert rt[4].close == path[0]
        assert sum(bar.volume for bar in rt[3:]) == pytest.approx(0.75 * DAY[60].volume)


def test_quotes_stream_with_the_clock_and_a_snapshot_ends() -> None:
    with gateway() as server, client(server) as ib:
        advance(server, ib, bars=10)
        aapl, msft = ib.qualifyContracts(stock("AAPL"), stock("MSFT"))  # tickers are keyed by conId
        ticker = ib.reqMktData(aapl)
        barrier(ib)
        close = DAY[9].close
        assert (ticker.last, ticker.bid, ticker.ask) == (close, pytest.approx(close - 0.01),
                                                         pytest.approx(close + 0.01))
        assert ticker.marketDataType == 1
        assert ticker.volume == pytest.approx(sum(b.volume for b in DAY[:10]))
        advance(server, ib, points=1)
        assert ticker.last == DAY[10].open
        ib.cancelMktData(aapl)
        advance(server, ib, points=1)
        assert ticker.last == DAY[10].open  # cancelled: no more ticks
        (snapshot,) = ib.reqTickers(msft)  # snapshot: ends with tickSnapshotEnd
        assert snapshot.last == DAY[10].path()[1]


def test_executions_with_a_bad_time_filter_end_with_an_error() -> None:
    with gateway() as server, client(server) as ib:
        errors: list[int] = []
        ib.errorEvent += lambda req_id, code, message, contract: errors.append(code)
        assert ib.reqExecutions(ExecutionFilter(time="yesterday")) == []
        assert errors == [321]
