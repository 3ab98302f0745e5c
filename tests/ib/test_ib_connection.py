"""Connecting, reconnecting and the live guard. No socket, no sleeping: the connector is a fake
gateway, the sleep a fake that records what it was asked to wait."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator

import pytest
from conftest import FakeClock
from ib_fakes import PAPER, FakeClient, fake_ib
from ib_steps import limit
from loguru import logger

from broker.ib import Backoff, ClientIdInUseError, IBBroker, IBConfig, LiveTradingRefusedError, mask_account
from broker.ib.connection import IBConfig as Config
from supervisor.port import BrokerNotice, ConnectionLost, ConnectionRestored

LIVE = {"ORDER_SUPERVISOR_LIVE": "1"}


class FakeGateway:
    """A connector: each attempt fails with the next of `failures`, or comes up like connectAsync
    (handshake state, then connectedEvent)."""

    def __init__(self, fake: FakeClient, failures: list[BaseException] | None = None) -> None:
        self.fake = fake
        self.failures = failures or []
        self.calls = 0

    async def __call__(self, ib: object, config: Config) -> None:
        del config
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.fake.come_up()
        ib.connectedEvent.emit()  # type: ignore[attr-defined]


class FakeSleep:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def owned(config: IBConfig, *, environ: dict[str, str] | None = None, accounts: tuple[str, ...] = (PAPER,),
          **kwargs: object) -> tuple[IBBroker, FakeClient, FakeGateway]:
    ib, fake = fake_ib(accounts=accounts, port=config.port, up=False)
    gateway = FakeGateway(fake)
    broker = IBBroker(config=config, ib_factory=lambda: ib, connector=gateway, environ=environ or {},
                      clock=FakeClock(), **kwargs)  # type: ignore[arg-type]
    return broker, fake, gateway


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    handler = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(handler)


# -- the live guard --------------------------------------------------------------------------


@pytest.mark.parametrize(("port", "allow", "environ"), [
    (7496, False, {}), (4001, False, {}), (7496, True, {}), (4001, False, LIVE),
    (7496, True, {"ORDER_SUPERVISOR_LIVE": "0"}),
])
def test_a_live_port_is_refused_before_any_socket_opens(port: int, allow: bool, environ: dict[str, str]) -> None:
    broker, fake, gateway = owned(IBConfig(port=port, allow_live=allow), environ=environ)
    with pytest.raises(LiveTradingRefusedError) as refused:
        asyncio.run(broker.connect())
    assert "allow_live=True" in str(refused.value)
    assert "ORDER_SUPERVISOR_LIVE=1" in str(refused.value)
    assert (gateway.calls, fake.sent) == (0, [])


def test_both_switches_open_a_live_port() -> None:
    broker, _, gateway = owned(IBConfig(port=7496, allow_live=True), environ=LIVE, accounts=("U7654321",))
    asyncio.run(broker.connect())
    assert (gateway.calls, broker.connected) == (1, True)


def test_a_live_account_is_refused_and_named_masked(logs: list[str]) -> None:
    broker, fake, _ = owned(IBConfig(port=4002), accounts=("U7654321",))
    with pytest.raises(LiveTradingRefusedError, match=r"\*\*\*\*\*321 is not a paper account") as refused:
        asyncio.run(broker.connect())
    assert "U7654321" not in str(refused.value)
    assert not broker.connected  # an adapter-owned connection is dropped at once
    assert [f for f in fake.sent if f[0] == "3"] == []
    assert not any("U7654321" in line for line in logs)


def test_a_bots_ib_on_a_live_account_or_port_is_refused() -> None:
    ib, _ = fake_ib(accounts=("U7654321",))
    with pytest.raises(LiveTradingRefusedError):
        IBBroker(ib, environ={})
    ib, _ = fake_ib(port=4001)
    with pytest.raises(LiveTradingRefusedError, match="port 4001 is a live IB port"):
        IBBroker(ib, environ={})
    ib, _ = fake_ib(accounts=("U7654321",))
    assert IBBroker(ib, config=IBConfig(allow_live=True), environ=LIVE).connected


def test_an_order_for_a_live_account_is_refused_and_nothing_of_its_batch_is_sent() -> None:
    ib, fake = fake_ib()
    broker = IBBroker(ib, environ={})
    with pytest.raises(LiveTradingRefusedError, match=r"PlaceOrder\.account of t1:b"):
        broker.execute_all([limit("t1:a"), limit("t1:b", account="U7654321")])
    assert fake.sent == []


def test_a_gateway_back_on_a_live_account_is_refused_from_then_on() -> None:
    ib, fake = fake_ib()
    broker = IBBroker(ib, environ={})
    fake.drop()
    fake.accounts = ("U7654321",)
    fake.come_up()
    ib.connectedEvent.emit()
    assert [type(e) for e in broker.poll()] == [ConnectionLost]  # no ConnectionRestored
    with pytest.raises(LiveTradingRefusedError):
        broker.execute(limit())
    assert fake.sent == []


def test_mask_account() -> None:
    assert (mask_account("DU1234567"), mask_account("U12"), mask_account("")) == ("******567", "***", "")


def test_logs_never_carry_an_account_in_full(logs: list[str]) -> None:
    broker, _, _ = owned(IBConfig())
    asyncio.run(broker.connect())
    assert any("******567" in line for line in logs)
    assert not any(PAPER in line for line in logs)


# -- connecting ------------------------------------------------------------------------------


def test_a_client_id_in_use_fails_the_connect_at_once_naming_it() -> None:
    ib, _ = fake_ib(up=False)

    async def gateway_says_326(ib_: object, config: Config) -> None:
        del ib_, config
        ib.wrapper.error(-1, 326, "Unable to connect as the client id is already in use.", "")
        await asyncio.Event().wait()  # the handshake would hang until the timeout

    broker = IBBroker(config=IBConfig(client_id=7), ib_factory=lambda: ib, connector=gateway_says_326, environ={})
    with pytest.raises(ClientIdInUseError, match=r"client id 7 is already in use at 127\.0\.0\.1:7497"):
        asyncio.run(asyncio.wait_for(broker.connect(), 5))


def test_the_first_connect_says_nothing_and_a_bots_ib_is_never_connected_by_the_adapter() -> None:
    broker, _, _ = owned(IBConfig())
    asyncio.run(broker.connect())
    assert broker.poll() == []
    ib, _ = fake_ib()
    with pytest.raises(RuntimeError, match="never opens a second"):
        asyncio.run(IBBroker(ib, environ={}).connect())


# -- reconnecting ----------------------------------------------------------------------------


def test_the_schedule_is_exponential_bounded_and_jittered() -> None:
    backoff = Backoff(base=0.5, factor=2.0, cap=12.0, jitter=0.2, max_attempts=8)
    delays = list(backoff.delays(random.Random(42)))
    assert len(delays) == 8
    assert [backoff.envelope(k) for k in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    for k, delay in enumerate(delays):
        assert backoff.envelope(k) * 0.8 <= delay <= backoff.envelope(k) * 1.2 <= 12.0
    assert len(set(delays[5:])) == 3  # jittered: capped waits still differ
    assert delays == list(backoff.delays(random.Random(42)))  # seeded: the same schedule again
    assert list(itertools.islice(Backoff().delays(random.Random(1)), 100))[-1] <= Backoff().cap


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)
    with pytest.raises(ValueError, match="max_attempts"):
        Backoff(max_attempts=0)


def test_a_lost_connection_is_reconnected_on_the_schedule() -> None:
    sleep = FakeSleep()
    backoff = Backoff(max_attempts=6)
    broker, fake, gateway = owned(IBConfig(backoff=backoff), sleep=sleep, rng=random.Random(7))

    async def scenario() -> None:
        await broker.connect()
        gateway.failures = [ConnectionRefusedError(61, "refused"), TimeoutError()]
        fake.drop()
        task = broker.reconnect_task
        assert task is not None
        await task

    asyncio.run(scenario())
    assert sleep.asked == list(itertools.islice(backoff.delays(random.Random(7)), 3))
    assert gateway.calls == 4
    assert [type(e) for e in broker.poll()] == [ConnectionLost, ConnectionRestored]


def test_a_schedule_that_runs_out_says_so() -> None:
    sleep = FakeSleep()
    broker, fake, gateway = owned(IBConfig(backoff=Backoff(max_attempts=3)), sleep=sleep)

    async def scenario() -> None:
        await broker.connect()
        gateway.failures = [ConnectionRefusedError()] * 3
        fake.drop()
        task = broker.reconnect_task
        assert task is not None
        await task

    asyncio.run(scenario())
    events = broker.poll()
    assert [type(e) for e in events] == [ConnectionLost, BrokerNotice]
    assert events[1].code == 502  # type: ignore[union-attr]
    assert "after 3 attempts" in events[1].message  # type: ignore[union-attr]
    assert len(sleep.asked) == 3


def test_closing_stops_the_reconnection() -> None:
    sleep = FakeSleep()
    broker, fake, gateway = owned(IBConfig(backoff=Backoff(max_attempts=3)), sleep=sleep)

    async def scenario() -> None:
        await broker.connect()
        fake.drop()
        broker.close()
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert gateway.calls == 1
