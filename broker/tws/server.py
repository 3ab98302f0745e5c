# The I/O shell around the engine: an asyncio TCP server on 127.0.0.1 whose connections feed the
# engine their bytes and write back what it queued (`flush()` after every engine call), and the
# market clock: paced at `speed` bars per second of wall-clock time (four price points a bar), or
# manual (speed 0: nothing moves until `step()`, `advance_bars(n)` or `advance_to(t)` is called, so
# a test decides exactly when the market moves and never sleeps for it). The clock starts before
# the first bar's open: no price exists until the first step (ib_async ignores keepUpToDate updates
# to a bar list that started empty, so subscribe after the first step). A paced clock starts at
# once, or with `wait_for_client=True` when the first API client has connected (a bot started
# after the gateway then sees the day from its open, however long it took to start).
#
#     async with TwsSimServer(load_bars(path), faults=["reject:201@2"], port=0) as server:
#         ib = IB(); await ib.connectAsync("127.0.0.1", server.port, clientId=1)
#         server.advance_bars(1)
#
# Beside a synchronous client, `run_in_thread(...)` runs the server on its own loop in a thread
# and yields a handle whose methods run on that loop and return once their bytes are written;
# leaving the `with` stops the server by its handle and joins the thread (the port is free again).
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import attrs

from broker.sim import Bar, Fault, Faults, SimConfig, load_bars
from broker.tws.engine import Session, TwsEngine
from broker.tws.exchange import SimExchange

log = logging.getLogger("broker.tws")
T = TypeVar("T")


class _Connection(asyncio.Protocol):
    def __init__(self, server: TwsSimServer) -> None:
        self._server = server
        self._session: Session | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._session = self._server.engine.open_session()
        self._server.transports[self._session.id] = transport

    def data_received(self, data: bytes) -> None:
        if self._session is not None:
            self._server.engine.receive(self._session, data)
            self._server.flush()
            if self._session.client_id is not None and not self._session.closing:
                self._server.client_seen.set()

    def eof_received(self) -> bool:
        return False  # the client is done writing: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._session is not None:
            self._server.engine.close_session(self._session)
            self._server.transports.pop(self._session.id, None)
            self._session = None


class TwsSimServer:
    """A TWS-protocol gateway over the simulated exchange. Use `async with`, or `start()`/`close()`."""

    def __init__(
        self,
        bars: Sequence[Bar] | None = None,
        *,
        faults: Faults | Iterable[Fault | str] = (),
        config: SimConfig | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 0.0,
        account: str = "DU1234567",
        commission_delay: float = 0.0,
        client_limit: int = 32,
        outage: str = "notice",
        wait_for_client: bool = False,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 bars per second, got {speed!r}")
        if bars is None:
            from broker.sim_session import bundled_day

            bars = load_bars(bundled_day())
        config = attrs.evolve(config or SimConfig(), account=account)
        fault_set = faults if isinstance(faults, Faults) else Faults.of(faults)
        exchange = SimExchange(bars, config=config, faults=fault_set, seed=seed)
        self.engine = TwsEngine(exchange, account=account, commission_delay=commission_delay,
                                client_limit=client_limit, outage=outage)
        self.host = host
        self.speed = speed
        self.wait_for_client = wait_for_client
        self.client_seen = asyncio.Event()  # an API client has connected (started the API)
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._clock: asyncio.Task[None] | None = None
        self.transports: dict[int, asyncio.Transport] = {}
        self.port = 0

    async def __aenter__(self) -> TwsSimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self._requested_port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.speed > 0:
            self._clock = loop.create_task(self._run_clock())
        log.info("TWS simulator listening on %s:%d (server version 176, account %s)", self.host, self.port,
                 self.engine.account)

    async def close(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None
        if self._server is not None:
            self._server.close()
            self.drop_connections()
            await self._server.wait_closed()
            await asyncio.sleep(0)  # let the closed connections' callbacks run before the loop ends
            self._server = None

    # -- the market clock ----------------------------------------------------------------------

    def now(self) -> float:
        return self.engine.exchange.now()

    def step(self) -> bool:
        """One price point (a quarter bar). False once the data has ended."""
        moved = self.engine.step()
        self.flush()
        return moved

    def advance_bars(self, n: int = 1) -> int:
        """Step until `n` more bars have closed (or the data ends); returns the bars closed."""
        closed = 0
        while closed < n and self.engine.step():
            visited = self.engine.exchange.visited_points()
            closed += 1 if visited and visited[-1].closes_bar else 0
        self.flush()
        return closed

    def advance_to(self, time: float) -> None:
        """Step through every price point up to `time` (epoch seconds)."""
        exchange = self.engine.exchange
        while (upcoming := exchange.next_time()) is not None and upcoming <= time:
            self.engine.step()
        self.flush()

    def run_to_end(self) -> None:
        while self.engine.step():
            pass
        self.engine.step()
        self.flush()

    async def _run_clock(self) -> None:
        loop = asyncio.get_running_loop()
        if self.wait_for_client:
            await self.client_seen.wait()
        interval = 1.0 / (4 * self.speed)
        started, n = loop.time(), 0
        while not self.engine.exchange.ended:
            n += 1
            # sleep until the next point is due; behind schedule, still yield to the clients
            await asyncio.sleep(max(started + n * interval - loop.time(), 0.0))
            self.step()
        log.info("TWS simulator: the data has ended; still serving")

    # -- connections ---------------------------------------------------------------------------

    def flush(self) -> None:
        for session in list(self.engine.sessions.values()):
            transport = self.transports.get(session.id)
            if transport is None:
                continue
            if session.outgoing:
                transport.write(bytes(session.outgoing))
                session.outgoing.clear()
            if session.closing:
                transport.close()

    def drop_connections(self) -> None:
        """Close every client socket (a Gateway that went away); orders stay at the exchange."""
        for session in self.engine.sessions.values():
            session.closing = True
        self.flush()

    def clients(self) -> list[int]:
        return sorted(self.engine.clients())


class ServerThread:
    """A `TwsSimServer` on its own event loop in a background thread. Every method runs on that
    loop and returns when it has finished (its bytes handed to the sockets)."""

    def __init__(self, server: TwsSimServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self._loop = loop

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.host

    def call(self, fn: Callable[[TwsSimServer], T], timeout: float = 10.0) -> T:
        """Run `fn(server)` on the server's loop and return its result (or raise its exception)."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn(self.server))
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def step(self) -> bool:
        return self.call(lambda s: s.step())

    def advance_bars(self, n: int = 1) -> int:
        return self.call(lambda s: s.advance_bars(n))

    def advance_to(self, time: float) -> None:
        self.call(lambda s: s.advance_to(time))

    def run_to_end(self) -> None:
        self.call(lambda s: s.run_to_end())

    def now(self) -> float:
        return self.call(lambda s: s.now())

    def drop_connections(self) -> None:
        self.call(lambda s: s.drop_connections())

    def clients(self) -> list[int]:
        return self.call(lambda s: s.clients())


@contextlib.contextmanager
def run_in_thread(bars: Sequence[Bar] | None = None, **options: Any) -> Iterator[ServerThread]:
    """Start a `TwsSimServer(bars, **options)` in a thread with its own loop; stop it on exit."""
    loop = asyncio.new_event_loop()
    server = TwsSimServer(bars, **options)
    started: Future[None] = Future()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            started.set_exception(exc)
            loop.close()
            return
        started.set_result(None)
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=main, name="tws-sim", daemon=True)
    thread.start()
    started.result(10.0)
    try:
        yield ServerThread(server, loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10.0)
        if thread.is_alive():
            raise RuntimeError("the TWS simulator's thread did not stop within 10 s")
