"""`broker.ib.session`: the regular session of a day, and how `LiveLoop` waits when nothing comes
(the market data stops: it looks once per interval until `idle_timeout`, it does not spin)."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from ib_wire import BOUND, gateway

from broker.ib import IBBroker, IBConfig
from broker.ib.session import LiveLoop, Stopped, regular_session
from broker.tws import ServerThread
from supervisor.core import Supervisor
from supervisor.runner import Runner

NY = ZoneInfo("America/New_York")


def test_the_regular_session_is_the_exchanges_day_in_its_time_zone() -> None:
    # 2024-03-14 02:00 UTC is still the 13th in New York; the 11th (a Monday) is the first day of
    # daylight saving time there: 09:30 is 13:30 UTC, as on the 13th
    late = dt.datetime(2024, 3, 14, 2, 0, tzinfo=dt.UTC).timestamp()
    opens, closes = regular_session(late)
    assert dt.datetime.fromtimestamp(opens, NY) == dt.datetime(2024, 3, 13, 9, 30, tzinfo=NY)
    assert closes - opens == 6.5 * 3600
    winter = dt.datetime(2024, 3, 8, 15, 0, tzinfo=dt.UTC).timestamp()
    assert dt.datetime.fromtimestamp(regular_session(winter)[0], dt.UTC).hour == 14  # 09:30 EST
    assert dt.datetime.fromtimestamp(regular_session(late)[0], dt.UTC).hour == 13  # 09:30 EDT


def test_a_quiet_feed_ends_the_loop_after_its_idle_timeout_without_spinning() -> None:
    async def scenario(server: ServerThread) -> tuple[Stopped, int]:
        broker = IBBroker(config=IBConfig(port=server.port, client_id=3, timeout=BOUND), environ={})
        await broker.connect()
        looks = [0]
        poll_bars = broker.poll_bars

        def counted() -> list:  # type: ignore[type-arg]
            looks[0] += 1
            return poll_bars()

        broker.poll_bars = counted  # type: ignore[method-assign]
        try:
            broker.subscribe_bars("SIM", 60)
            await broker.market.started()
            runner = Runner(Supervisor(lambda: 0.0), broker)
            async with LiveLoop(broker, runner, interval=0.05, idle_timeout=0.3, session_end=None) as loop:
                why = await loop.bars(lambda _bars: None, lambda: False)
            return why, looks[0]
        finally:
            broker.close()

    with gateway() as server:  # nobody moves the market: no bar update ever comes
        why, looks = asyncio.run(scenario(server))
    assert why is Stopped.IDLE
    assert 3 <= looks <= 20  # about one look per 0.05 s interval over 0.3 s
