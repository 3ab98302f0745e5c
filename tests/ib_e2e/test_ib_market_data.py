"""The adapter's 1-minute bars over the wire: what a live loop reads from `IBBroker` while the TWS
simulator's clock moves. Each bar is the simulator's bar again, delivered once, oldest first; a
stream asked for before the first trade of the day streams all the same (ib_async 2.1.0 would drop
every update to a list that came back empty); the session's last bar, which no next bar completes,
is delivered by `flush_bars`; and bars that closed while the connection was down are history, not
news, once the adapter subscribes again (a watcher never sees them late)."""

from __future__ import annotations

import asyncio
import time

from ib_wire import BOUND, gateway

from broker.ib import Backoff, IBBroker, IBConfig
from broker.sim import Bar, load_bars
from broker.sim_session import bundled_day
from broker.tws import ServerThread, run_in_thread

DAY = load_bars(bundled_day())[:12]  # 09:30 - 09:41


async def connect(server: ServerThread) -> IBBroker:
    broker = IBBroker(config=IBConfig(port=server.port, client_id=2, timeout=BOUND,
                                      backoff=Backoff(base=0.01, cap=0.05)),
                      sleep=lambda _seconds: asyncio.sleep(0), environ={})
    await broker.connect()
    return broker


async def barrier(broker: IBBroker) -> None:
    await asyncio.wait_for(broker.ib.reqCurrentTimeAsync(), BOUND)


def same(bar: Bar, day_bar: Bar) -> bool:
    return (bar.time, bar.open, bar.high, bar.low, bar.close, bar.seconds) == (
        day_bar.time, day_bar.open, day_bar.high, day_bar.low, day_bar.close, 60.0)


def test_a_stream_asked_for_before_the_first_trade_streams_every_bar_once() -> None:
    async def scenario(server: ServerThread) -> tuple[list[Bar], list[Bar], list[Bar]]:
        broker = await connect(server)
        try:
            broker.subscribe_bars("SIM", 60)  # the clock is before the open: the history is empty
            await broker.market.started()
            assert broker.market.history("SIM") == []
            delivered: list[Bar] = []
            for _ in range(5):
                server.advance_bars(1)
                await barrier(broker)
                delivered += broker.poll_bars()
            server.advance_bars(1)
            await barrier(broker)
            delivered += broker.poll_bars()
            return delivered, broker.poll_bars(), broker.market.history("SIM")
        finally:
            broker.close()

    with run_in_thread(DAY) as server:  # not a single step: no price exists yet
        delivered, again, history = asyncio.run(scenario(server))
    # a bar is complete once the next one starts: six closes, five complete bars (and nothing twice)
    assert len(delivered) == 5
    assert all(same(bar, day) for bar, day in zip(delivered, DAY, strict=False))
    assert [bar.symbol for bar in delivered] == ["SIM"] * 5
    assert again == []
    assert history == delivered


def test_the_sessions_last_bar_is_flushed_once_the_clock_has_passed_it() -> None:
    async def scenario(server: ServerThread) -> tuple[list[Bar], list[Bar], list[Bar], list[Bar]]:
        broker = await connect(server)
        try:
            broker.subscribe_bars("SIM", 60)
            await broker.market.started()
            server.run_to_end()  # the data ends: the clock stands at the last bar's end
            await barrier(broker)
            streamed = broker.poll_bars()
            clock = (await broker.ib.reqCurrentTimeAsync()).timestamp()
            too_early = broker.market.flush_bars(clock - 1)
            flushed = broker.market.flush_bars(clock)
            return streamed, too_early, flushed, broker.poll_bars() + broker.market.flush_bars(clock)
        finally:
            broker.close()

    with gateway(DAY) as server:
        streamed, too_early, flushed, after = asyncio.run(scenario(server))
    assert [bar.time for bar in streamed] == [bar.time for bar in DAY[:-1]]
    assert too_early == []
    assert len(flushed) == 1
    assert same(flushed[0], DAY[-1])
    assert after == [flushed[0]]  # handed to poll_bars once; a second flush adds nothing


def test_bars_that_closed_while_the_connection_was_down_are_history_not_news() -> None:
    async def scenario(server: ServerThread) -> tuple[list[Bar], list[Bar], list[Bar]]:
        broker = await connect(server)
        try:
            broker.subscribe_bars("SIM", 60)
            await broker.market.started()
            server.advance_bars(3)
            await barrier(broker)
            before = broker.poll_bars()
            ups: list[bool] = []
            broker.ib.connectedEvent += lambda: ups.append(True)
            server.drop_connections()
            server.advance_bars(4)  # four bars close while the client is away
            deadline = time.monotonic() + BOUND
            while not ups:  # the adapter reconnects and asks for the stream again
                assert time.monotonic() < deadline, "no reconnection"
                await asyncio.sleep(0.005)
            await broker.market.started()
            server.advance_bars(2)
            await barrier(broker)
            return before, broker.poll_bars(), broker.market.history("SIM")
        finally:
            broker.close()

    with gateway(DAY) as server:
        before, after, history = asyncio.run(scenario(server))
    assert [bar.time for bar in before] == [DAY[0].time, DAY[1].time]  # 09:32 completes when 09:33 starts
    # away, 09:32 to 09:36 closed. On subscribing again, 09:32 to 09:35 come as history, and the
    # newest, 09:36, as the bar in progress (IB cannot say it is complete): it is news once 09:37
    # starts, as any bar is. 09:32 to 09:35 are never handed out: the watcher missed them
    assert [bar.time for bar in after] == [DAY[6].time, DAY[7].time]
    assert [bar.time for bar in history] == [bar.time for bar in DAY[:8]]
