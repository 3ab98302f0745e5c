"""Connecting a real `ib_async.IB()`: the handshake, everything its connect sequence waits for,
client ids in use (326), the client limit, and a server that stops by its handle and frees its port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable

import pytest
from ib_async import IB, Stock
from tws_helpers import CONNECT_TIMEOUT, WireLog, barrier, client, gateway

from broker.tws import TwsSimServer, run_in_thread
from broker.tws.wire import SERVER_VERSION


def test_connect_completes_with_every_startup_reply() -> None:
    with gateway() as server, client(server) as ib:
        assert ib.isConnected()
        assert ib.client.serverVersion() == SERVER_VERSION
        assert ib.managedAccounts() == ["DU1234567"]
        # the startup requests were all answered (a timeout would have been logged and raised here)
        assert ib.positions() == []
        assert ib.openTrades() == []
        assert {v.tag for v in ib.accountValues()} >= {"NetLiquidation", "TotalCashValue", "BuyingPower"}
        assert server.clients() == [1]


def test_connect_with_raise_sync_errors_does_not_time_out() -> None:
    # raiseSyncErrors turns any unanswered startup request into a ConnectionError
    with gateway() as server:
        ib = IB()
        ib.connect(server.host, server.port, clientId=3, timeout=CONNECT_TIMEOUT, raiseSyncErrors=True)
        try:
            assert ib.isConnected()
        finally:
            ib.disconnect()


def test_next_valid_id_is_answered_when_asked_and_follows_the_client_ids() -> None:
    with gateway() as server, client(server) as ib:
        log = WireLog(ib)
        ib.client.reqIds(1)
        barrier(ib)
        assert log.of(9) == [["9", "1", "1"]]


def test_account_summary_is_served() -> None:
    with gateway() as server, client(server) as ib:
        summary = {v.tag: v.value for v in ib.accountSummary()}
        assert float(summary["NetLiquidation"]) == pytest.approx(1_000_000.0)


async def _refused_connect(port: int, client_id: int) -> tuple[list[int], str]:
    """Connect and wait (on events, not on a timeout) until the gateway closes the socket: the
    error codes the client received before, and what ib_async said when the socket closed."""
    ib = IB()
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, message, contract: codes.append(code)
    closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    ib.client.apiError += lambda message: closed.done() or closed.set_result(message)
    attempt = asyncio.ensure_future(ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=CONNECT_TIMEOUT))
    message = await asyncio.wait_for(closed, CONNECT_TIMEOUT)
    attempt.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await attempt
    assert not ib.isConnected()
    return codes, message


def test_a_second_client_with_a_client_id_in_use_gets_326(client_loop: asyncio.AbstractEventLoop) -> None:
    with gateway() as server, client(server, client_id=7) as first:
        codes, message = client_loop.run_until_complete(_refused_connect(server.port, 7))
        assert codes == [326]
        assert "already in use" in message
        assert server.clients() == [7]  # the first client is untouched and still served
        barrier(first)


def test_the_client_limit_refuses_one_client_more(client_loop: asyncio.AbstractEventLoop) -> None:
    with gateway(client_limit=1) as server, client(server, client_id=1):
        codes, _ = client_loop.run_until_complete(_refused_connect(server.port, 2))
        assert codes == [502]
        assert server.clients() == [1]


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


def test_the_server_stops_by_its_handle_and_frees_the_port() -> None:
    with run_in_thread() as server:
        port = server.port
        ib = IB()
        ib.connect(server.host, port, clientId=1, timeout=CONNECT_TIMEOUT)
        assert not _refused(port)
    # leaving the block stopped the server: nothing listens, no thread is left, and a new
    # gateway can listen on the same port at once
    assert _refused(port)
    assert not [t for t in threading.enumerate() if t.name == "tws-sim"]
    ib.disconnect()
    with run_in_thread(port=port) as again:
        assert again.port == port


def test_async_server_serves_a_client_on_the_same_loop() -> None:
    async def scenario() -> list[str]:
        async with TwsSimServer(port=0) as server:
            ib = IB()
            await ib.connectAsync("127.0.0.1", server.port, clientId=1, timeout=CONNECT_TIMEOUT)
            accounts = ib.managedAccounts()
            ib.disconnect()
            return accounts

    assert asyncio.run(scenario()) == ["DU1234567"]


def test_a_paced_clock_moves_the_market_by_itself() -> None:
    # 100 bars a second (the day in 4 s): the test waits on bars arriving (events), not on a duration
    with gateway(speed=100.0) as server, client(server) as ib:
        bars = ib.reqHistoricalData(Stock("AAPL", "SMART", "USD"), "", "1 D", "1 min", "TRADES", True,
                                    keepUpToDate=True)
        first = len(bars)
        while len(bars) < first + 10:
            assert ib.waitOnUpdate(timeout=CONNECT_TIMEOUT), "the paced clock stopped"
        assert len(bars) >= first + 10


def _until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait for `condition()` (a bound, not a duration: it returns as soon as the condition holds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        threading.Event().wait(0.005)


def test_a_paced_clock_can_wait_for_the_first_client() -> None:
    # a bot started after the gateway must see the day from its open: with wait_for_client the
    # paced clock stands still until an API client connects. Beside it, a gateway without the option
    # runs the same day at the same pace to its end, which shows the waiting one had the time to move
    with gateway(speed=1000.0, wait_for_client=True) as waiting, gateway(speed=1000.0) as running:
        start = waiting.now()
        _until(lambda: running.call(lambda s: s.engine.exchange.ended), "the other gateway's day to end")
        assert waiting.now() == start
        with client(waiting) as ib:
            _until(lambda: waiting.now() > start, "the clock to start")  # a first price to build bars on
            bars = ib.reqHistoricalData(Stock("AAPL", "SMART", "USD"), "", "1 D", "1 min", "TRADES", False,
                                        keepUpToDate=True)
            while len(bars) < 3:
                assert ib.waitOnUpdate(timeout=CONNECT_TIMEOUT), "the paced clock did not start"
            assert bars[0].date.timestamp() == start  # the day's first bar: nothing ran before the client came
