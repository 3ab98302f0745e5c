"""The IB adapter end to end, over the wire: the TWS simulator in a thread on a free loopback port,
an `IBBroker` on its own connection to it, and a supervisor with a runner pushing the adapter's
events into it (`Runner.run`, as a live bot runs it).

The test holds the market clock (speed 0): `await wire.advance(bars=n)` moves the market one price
point at a time and lets the adapter and the gateway answer each other after each (`settle`). `settle` is a
round-trip barrier repeated until a round trip brings nothing new: the gateway answers requests in
order, so once its answer to `reqCurrentTime` is in, the client has handled everything written
before it; orders the supervisor wrote while handling it are answered by the next round trip.
Nothing sleeps for synchronisation; the one real-time wait, a reconnection, waits for its condition
with a bound (`until`).

`Desk` reads what came over the wire at the simulator: every placeOrder the TWS desk received
(modifications included, recorded by wrapping the desk's `place` on the server's loop), the orders
as the exchange works them, its executions and positions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from broker.ib import Backoff, IBBroker, IBConfig
from broker.sim import Bar, SimConfig
from broker.tws import ServerThread, TwsSimServer, run_in_thread
from broker.tws.requests import PlaceOrderRequest
from supervisor.core import Supervisor
from supervisor.events import SupervisorEvent
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.port import ExecutionReported, OpenOrder
from supervisor.runner import Runner, SupervisorLike
from supervisor.snapshots import TradeSnapshot

BOUND = 10.0  # seconds: a failure bound for real-time waits, never a duration anything waits out
NY = ZoneInfo("America/New_York")


def steady_day(plateau: int = 0) -> list[Bar]:
    """09:30-16:00 on 2024-03-14: under the 100.49 level until the 10:20 bar closes at 100.60; then
    `plateau` bars between 100.60 and 100.70 (under every target); then a climb to 103.00 (over the
    101.2/101.7/102.4 targets) held to the close. With a paced clock, a trade on it ends the same
    however far a client lags (a market entry; a limit entry at the ask within the plateau)."""
    start = dt.datetime(2024, 3, 14, 9, 30, tzinfo=NY).timestamp()
    closes = [100.0 + 0.1 * (k % 3) for k in range(50)] + [100.60]
    closes += [100.60 + 0.1 * (k % 2) for k in range(plateau)]
    closes += [round(100.60 + 0.24 * k, 2) for k in range(1, 11)]
    closes += [103.0] * (390 - len(closes))
    day, previous = [], closes[0]
    for k, close in enumerate(closes):
        day.append(Bar(start + 60 * k, previous, max(previous, close) + 0.02, min(previous, close) - 0.02, close,
                       1000.0))
        previous = close
    return day


@contextlib.contextmanager
def gateway(day: Sequence[Bar] | None = None, *, config: SimConfig | None = None, **options: Any,
            ) -> Iterator[ServerThread]:
    """The TWS simulator on 127.0.0.1, a free port, in its own thread; stopped by its handle on exit."""
    with run_in_thread(day, config=config, **options) as server:
        server.step()  # the open: a first price, so bar streams start with a bar
        yield server


def _step(server: TwsSimServer) -> tuple[bool, bool]:
    """One price point on the server's loop: (the market moved, that point closed a bar)."""
    moved = server.step()
    visited = server.engine.exchange.visited_points()
    return moved, bool(moved and visited and visited[-1].closes_bar)


@attrs.frozen
class Received:
    """A placeOrder as the TWS desk received it: who sent it and what it said."""

    client_id: int
    request: PlaceOrderRequest

    @property
    def ref(self) -> str:
        return self.request.order_ref

    @property
    def quantity(self) -> int:
        return int(self.request.quantity or 0)


class Desk:
    """The simulator's side of the wire, read on the server's loop."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.received: list[Received] = []
        server.call(self._tap)

    def _tap(self, s: TwsSimServer) -> None:
        desk = s.engine.desk
        place = desk.place

        def recording(client_id: int, request: PlaceOrderRequest) -> Any:
            self.received.append(Received(client_id, request))
            return place(client_id, request)

        desk.place = recording  # type: ignore[method-assign]

    def placed(self, ref: str) -> list[Received]:
        return [r for r in self.received if r.ref == ref]

    def refs(self) -> list[str]:
        return [r.ref for r in self.received]

    def order(self, ref: str) -> OpenOrder | None:
        """The order `ref` as the exchange works it now (its figures after every modification)."""
        def find(s: TwsSimServer) -> OpenOrder | None:
            for tws in s.engine.desk.all_orders():
                if tws.request.order_ref == ref:
                    return s.engine.exchange.order(tws.contract.symbol, tws.sim_ref)
            return None

        return self.server.call(find)

    def executions(self) -> list[tuple[str, ExecutionReported]]:
        """Every execution of the exchange's ledger, with the client's order ref of its order."""
        def read(s: TwsSimServer) -> list[tuple[str, ExecutionReported]]:
            out = []
            for execution in s.engine.exchange.executions():
                tws = s.engine.desk.by_ref(execution.order_ref)
                out.append((tws.request.order_ref if tws is not None else "", execution))
            return out

        return self.server.call(read)

    def filled(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ref, execution in self.executions():
            out[ref] = out.get(ref, 0) + execution.qty
        return out

    def position(self, symbol: str = "SIM") -> int:
        return sum(p.quantity for p in self.server.call(lambda s: s.engine.exchange.positions()) if p.symbol == symbol)


class WireLog:
    """The messages the gateway sent to the adapter's client, as field lists in arrival order (hooked
    on the client's socket: exactly what ib_async's decoder read)."""

    def __init__(self, broker: IBBroker) -> None:
        self.messages: list[list[str]] = []
        self._buffer = b""
        broker.ib.client.conn.hasData += self._feed

    def _feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 4:
            (length,) = struct.unpack(">I", self._buffer[:4])
            if len(self._buffer) < 4 + length:
                return
            self.messages.append(self._buffer[4:4 + length].decode().split("\0")[:-1])
            self._buffer = self._buffer[4 + length:]

    def story(self, order_id: int) -> list[str]:
        """One order on the wire: openOrder / orderStatus <status> / execDetails / error <code>."""
        out: list[str] = []
        for m in self.messages:
            if m[0] == "5" and m[1] == str(order_id):
                out.append("openOrder")
            elif m[0] == "3" and m[1] == str(order_id):
                out.append(f"orderStatus {m[2]}")
            elif m[0] == "11" and m[2] == str(order_id):
                out.append("execDetails")
            elif m[0] == "4" and m[2] == str(order_id):
                out.append(f"error {m[3]}")
        return out


@attrs.define
class Wire:
    server: ServerThread
    broker: IBBroker
    supervisor: SupervisorLike
    runner: Runner
    events: list[SupervisorEvent]

    async def barrier(self) -> None:
        await asyncio.wait_for(self.broker.ib.reqCurrentTimeAsync(), BOUND)

    async def settle(self, rounds: int = 20) -> None:
        """Round trips until one brings nothing new (at most `rounds`)."""
        for _ in range(rounds):
            before = len(self.events)
            await self.barrier()
            if len(self.events) == before:
                return
        raise AssertionError(f"still busy after {rounds} round trips; last events: {self.events[-5:]}")

    async def advance(self, *, bars: int = 0, points: int = 0) -> None:
        """Move the market `points` price points, then `bars` more bar closes, one price point at a
        time: both sides settle after each (a live client answers long before the next price)."""
        await self.settle()
        for _ in range(points):
            self.server.step()
            await self.settle()
        closed = 0
        while closed < bars:
            moved, closes = self.server.call(_step)
            if not moved:
                break
            closed += closes
            await self.settle()

    async def until(self, condition: Callable[[], object], what: str) -> None:
        """A real-time wait (a reconnection): for `condition`, bounded by BOUND seconds."""
        deadline = time.monotonic() + BOUND
        while not condition():
            assert time.monotonic() < deadline, f"gave up waiting for {what}"
            await asyncio.sleep(0.005)

    def execute(self, commands: list[Any]) -> None:
        self.runner.execute(commands)

    def arm(self, plan: TradePlan) -> None:
        self.execute(self.supervisor.arm(plan))

    def trigger(self, trade_id: str) -> None:
        self.execute(self.supervisor.trigger(trade_id))

    def trade(self, trade_id: str) -> TradeSnapshot:
        return self.supervisor.trade(trade_id)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@contextlib.asynccontextmanager
async def wired(server: ServerThread, *, client_id: int = 1, journal: Path | None = None,
                policy: Policy | None = None) -> AsyncIterator[Wire]:
    """An adapter connected to `server` (reconnecting at once when dropped), a supervisor (journaled
    to `journal` when given) and a runner pushing events into it until the block ends."""
    broker = IBBroker(config=IBConfig(port=server.port, client_id=client_id, timeout=BOUND,
                                      backoff=Backoff(base=0.01, cap=0.05)),
                      sleep=lambda _seconds: asyncio.sleep(0), environ={})
    await broker.connect()
    broker.ib.client.MaxRequests = 0  # no client-side pacing: the barriers come in bursts
    recorder = JournalRecorder.open(journal, time.time, policy) if journal is not None else None
    supervisor: SupervisorLike = recorder if recorder is not None else Supervisor(time.time, policy)
    events: list[SupervisorEvent] = []
    runner = Runner(supervisor, broker, on_event=events.append)
    stop = asyncio.Event()
    task = asyncio.ensure_future(runner.run(stop, 0.05))
    await asyncio.sleep(0)  # the runner takes over delivery
    try:
        yield Wire(server, broker, supervisor, runner, events)
    finally:
        stop.set()
        await task
        broker.close()
        if recorder is not None:
            recorder.close()
