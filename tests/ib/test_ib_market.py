"""Market data for strategies: 1-minute bars once complete, 5-second bars, quotes with their time."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Connected
from ib_async import BarData, Contract, ContractDetails

from supervisor.market import Bar, MarketDataPort, Quote
from supervisor.port import BrokerPort, ContractResolver, Instrument

T0 = 1_710_426_600  # 2024-03-14 14:30 UTC


def test_the_adapter_offers_the_three_ports(rig: Connected) -> None:
    assert isinstance(rig.broker, BrokerPort)
    assert isinstance(rig.broker, MarketDataPort)
    assert isinstance(rig.broker, ContractResolver)


def _bar(start: int, close: float) -> BarData:
    return BarData(date=str(start), open=100.0, high=max(100.5, close), low=99.5, close=close, volume=1200)  # type: ignore[arg-type]


def test_one_minute_bars_are_delivered_once_complete(rig: Connected, sync_loop: asyncio.AbstractEventLoop) -> None:
    rig.fake.history = [_bar(T0 - 120, 100.1), _bar(T0 - 60, 100.2)]  # the newest is still in progress
    rig.broker.subscribe_bars("AAPL", 60)
    req_id = rig.fake.req_id("20")
    assert rig.broker.poll_bars() == []  # history is not news
    rig.ib.wrapper.historicalDataUpdate(req_id, _bar(T0 - 60, 100.3))  # the bar in progress changed
    assert rig.broker.poll_bars() == []
    rig.ib.wrapper.historicalDataUpdate(req_id, _bar(T0, 100.4))  # a new bar started: the last one is final
    rig.ib.wrapper.historicalDataUpdate(req_id, _bar(T0, 100.45))
    assert rig.broker.poll_bars() == [Bar(T0 - 60, 100.0, 100.5, 99.5, 100.3, 1200.0, 60.0, "AAPL")]
    assert rig.broker.poll_bars() == []


def test_five_second_bars_arrive_complete(rig: Connected) -> None:
    rig.broker.subscribe_bars("AAPL", 5)
    req_id = rig.fake.req_id("50")
    rig.ib.wrapper.realtimeBar(req_id, T0, 100.0, 100.2, 99.9, 100.1, 300.0, 100.05, 12)
    rig.ib.wrapper.realtimeBar(req_id, T0 + 5, 100.1, 100.3, 100.0, 100.2, 200.0, 100.15, 9)
    assert rig.broker.poll_bars() == [Bar(T0, 100.0, 100.2, 99.9, 100.1, 300.0, 5.0, "AAPL"),
                                      Bar(T0 + 5, 100.1, 100.3, 100.0, 100.2, 200.0, 5.0, "AAPL")]


def test_other_bar_sizes_are_refused_by_name(rig: Connected) -> None:
    with pytest.raises(ValueError, match="bar_seconds must be 60"):
        rig.broker.subscribe_bars("AAPL", 30)


def test_quotes_carry_the_time_they_arrived(rig: Connected, sync_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(ValueError, match=r"call qualify\(Instrument\('AAPL'\)\) first"):
        rig.broker.subscribe_quotes("AAPL")
    aapl = Contract(secType="STK", symbol="AAPL", exchange="SMART", currency="USD", conId=265598)
    rig.fake.details["AAPL"] = [ContractDetails(contract=aapl, minTick=0.01)]
    rig.broker.qualify(Instrument("AAPL"))
    rig.broker.subscribe_quotes("AAPL")
    req_id = rig.fake.req_id("1")
    assert rig.broker.latest_quote("AAPL") is None
    rig.clock.advance(3.0)
    rig.ib.wrapper.priceSizeTick(req_id, 1, 100.01, 300)
    rig.ib.wrapper.tcpDataProcessed()
    assert rig.broker.latest_quote("AAPL") is None  # no ask yet
    rig.ib.wrapper.priceSizeTick(req_id, 2, 100.03, 200)
    rig.ib.wrapper.priceSizeTick(req_id, 4, 100.02, 100)
    rig.ib.wrapper.tcpDataProcessed()
    quote = rig.broker.latest_quote("AAPL")
    assert quote == Quote(rig.clock.now, 100.01, 100.03, "AAPL", 100.02)
    rig.clock.advance(2.5)
    assert quote is not None
    assert quote.age(rig.clock.now) == 2.5
