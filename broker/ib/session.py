"""Live sessions on IB: a supervisor's runner on an `IBBroker` while the bars come, until it is over.

How it works: `LiveLoop` is entered with `async with`: it starts the runner's push delivery
(`Runner.run`: every IB message is handed to the supervisor inside ib_async's callback, so an
execution's exits are written before the callback returns; ticks every `interval` seconds; broker
truth after a reconnect through `fetch_truth`) and stops it on the way out.

- `await loop.bars(on_bars, finished)` waits for completed bars (the adapter's market data wakes it),
  hands them to `on_bars`, and returns why it stopped:
  * `FINISHED`: `finished()` said so (asked after every bar and every supervisor event);
  * `CLOSED`: the session is over: the broker's clock (`reqCurrentTime`: IB's server time, the
    exchange's clock on the TWS simulator) reached `session_end`. The last bar of the session is
    flushed to `on_bars` first: no next bar starts to complete it;
  * `IDLE`: no bar update for `idle_timeout` seconds (a feed that stopped, or simulated data that
    ended before the close).
- `await loop.drain(finished, quiet)`: after the bars ended, the runner goes on until `finished()`
  or until the supervisor has said nothing for `quiet` seconds (the close expires DAY orders; their
  cancels come back), at most `limit` seconds.

`regular_session(t, timezone, opens, closes)` is the regular session (open, close) of the day `t`
falls on, in the exchange's time zone. `run_breakout_ib` runs a `BreakoutRun` (the same objects the
simulated path uses) this way and sums it up with the broker's position at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import time
from collections.abc import Callable
from types import TracebackType
from zoneinfo import ZoneInfo

from broker.ib.adapter import IBBroker
from broker.sim_session import BreakoutRun, SessionResult, SupervisorFactory
from strategies.breakout import Confirm
from supervisor.market import Bar
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.runner import EventCallback, Runner

DEFAULT_IDLE_TIMEOUT = 300.0  # seconds without a bar update before the feed counts as ended
CLOCK_EVERY = 0.5  # seconds between two looks at the broker's clock


class Stopped(enum.Enum):
    FINISHED = "finished"
    CLOSED = "the session closed"
    IDLE = "the market data stopped"


def regular_session(t: float, timezone: str = "America/New_York", opens: dt.time = dt.time(9, 30),
                    closes: dt.time = dt.time(16, 0)) -> tuple[float, float]:
    """(open, close) as epoch seconds of the regular session on the exchange's date at `t`."""
    zone = ZoneInfo(timezone)
    day = dt.datetime.fromtimestamp(t, zone).date()
    return (dt.datetime.combine(day, opens, tzinfo=zone).timestamp(),
            dt.datetime.combine(day, closes, tzinfo=zone).timestamp())


async def server_time(broker: IBBroker) -> float:
    """The broker's clock (epoch seconds): IB's server time, the exchange's clock on the simulator."""
    when = await asyncio.wait_for(broker.ib.reqCurrentTimeAsync(), broker.config.timeout)
    return when.timestamp()


class LiveLoop:
    def __init__(self, broker: IBBroker, runner: Runner, *, interval: float = 0.25,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT, session_end: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.broker = broker
        self.runner = runner
        self.interval = interval
        self.idle_timeout = idle_timeout
        self.session_end = session_end
        self._monotonic = monotonic
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._said = monotonic()  # when the supervisor last said something
        runner.supervisor.subscribe(self._heard)
        broker.market.on_data = self._wake.set

    async def __aenter__(self) -> LiveLoop:
        self._task = asyncio.ensure_future(self.runner.run(self._stop, self.interval))
        await asyncio.sleep(0)  # the runner takes over delivery (events queued so far go first)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        self.broker.market.on_data = None

    def _heard(self, _event: object) -> None:
        self._said = self._monotonic()
        self._wake.set()

    async def bars(self, on_bars: Callable[[list[Bar]], None], finished: Callable[[], bool]) -> Stopped:
        market = self.broker.market
        seen_update, last_data = market.last_update, self._monotonic()
        next_look = self._monotonic()
        while True:
            delivered = self.broker.poll_bars()
            if delivered:
                on_bars(delivered)
            if finished():
                return Stopped.FINISHED
            now = self._monotonic()
            if market.last_update != seen_update:
                seen_update, last_data = market.last_update, now
            if now - last_data >= self.idle_timeout:
                return Stopped.IDLE
            if self.session_end is not None and now >= next_look:
                next_look = now + CLOCK_EVERY
                clock = await self._broker_clock()
                if clock is not None and clock >= self.session_end:
                    market.flush_bars(clock)
                    last = self.broker.poll_bars()  # what came meanwhile, and the flushed last bar
                    if last:
                        on_bars(last)
                    return Stopped.FINISHED if finished() else Stopped.CLOSED
            pause = self.interval
            if self.session_end is not None:
                pause = min(pause, max(next_look - self._monotonic(), 0.0))
            await self._sleep(pause)

    async def drain(self, finished: Callable[[], bool], quiet: float = 1.0, limit: float = 10.0) -> None:
        start = self._monotonic()
        while not finished():
            now = self._monotonic()
            if now - self._said >= quiet or now - start >= limit:
                return
            await self._sleep(self.interval)

    async def _broker_clock(self) -> float | None:
        if not self.broker.connected:
            return None  # reconnecting: the clock is asked again once it is back
        try:
            return await server_time(self.broker)
        except (TimeoutError, ConnectionError):
            return None

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


async def run_breakout_ib(
    plan: TradePlan,
    level: float,
    broker: IBBroker,
    make_supervisor: SupervisorFactory,
    *,
    policy: Policy | None = None,
    confirm: Confirm = "close",
    watch_after: float = 30 * 60.0,
    max_bars: int | None = None,
    on_event: EventCallback | None = None,
    timezone: str = "America/New_York",
    interval: float = 0.25,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    clock: Callable[[], float] = time.time,
) -> SessionResult:
    """Supervise `plan` on a connected `broker`, triggered by a breakout of `level` on the symbol's
    1-minute bars (watched from `watch_after` seconds after the regular open), until the trade is
    over or the session ends. Raises `LookupError` for a symbol IB does not know (nothing sent), and
    `ConnectionError` when the broker's position cannot be read at the end."""
    started = time.perf_counter()
    await broker.qualify_async(plan.instrument)  # once per instrument: a caller's qualify is cached
    opens, closes = regular_session(await server_time(broker), timezone)
    supervisor = make_supervisor(clock, policy or Policy())
    run = BreakoutRun(plan, level, supervisor, broker, watch_from=opens + watch_after, confirm=confirm,
                      max_bars=max_bars, on_event=on_event, trigger_time=lambda _found: clock())
    broker.subscribe_bars(plan.symbol, 60)
    run.arm()
    async with LiveLoop(broker, run.runner, interval=interval, idle_timeout=idle_timeout,
                        session_end=closes) as loop:

        def on_bars(bars: list[Bar]) -> None:
            for bar in bars:
                if bar.symbol == plan.symbol:
                    run.on_bar(bar)

        if await loop.bars(on_bars, lambda: run.finished) is not Stopped.FINISHED:
            run.end_of_data()
            await loop.drain(lambda: run.finished)
    if not broker.connected:
        raise ConnectionError(f"the connection to IB was lost and is not back: the trade ended {run.trade.state} "
                              f"with {run.trade.position} shares in its books; the broker's position is unknown")
    truth = await broker.fetch_truth()
    position = sum(p.quantity for p in truth.positions if p.symbol == plan.symbol)
    return run.result(position, time.perf_counter() - started)
