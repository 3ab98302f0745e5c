"""The order-path rig: a real `ib_async.IB` over loopback to the project's TWS simulator, with stamps
on the client's side of the socket.

How it works: the simulator (`broker.tws.TwsSimServer`) and the client share ONE asyncio loop in
this thread, bound to 127.0.0.1 on a free port and closed by its handle when the rig ends. One
loop, not a server thread: a server thread would take the GIL while the client is still writing
and its work would be charged to the measured path. Nothing runs beside the measured path: the
simulator reads what the client wrote only when the loop next runs.

`WireStamps` instruments the client's socket, all on `time.perf_counter_ns`:
- every message the client writes: the moment `transport.write` returned (the bytes are in the
  kernel's socket buffer: "on the wire"), its message id (3 = placeOrder, also a modify) and order
  id, and how many reads the client had done by then;
- every execution report as it enters ib_async's wrapper (`wrapper.execDetails`, before ib_async
  and the adapter handle it): the moment, its orderRef, its cumulative quantity, the read it came in.
A write made in a later read than the execution that started a path answers something the broker
said in between: that is a broker round trip.

Client pacing (ib_async's 45 requests per second) is off on this connection: both the supervised
path and the bare reference would be held back by it alike, and a benchmark runs thousands.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import attrs
from ib_async import IB, Contract, Execution, MarketOrder, Stock

from broker.ib import IBBroker
from broker.sim import Bar, SimConfig
from broker.tws import TwsSimServer
from supervisor.core import Supervisor
from supervisor.journal import Journal
from supervisor.journal_recorder import JournalRecorder
from supervisor.port import BrokerEvent
from supervisor.runner import Runner

PLACE_ORDER = "3"
SYMBOL = "SIM"
PRICE = 100.0
MAX_FILL = 50  # the simulator fills at most this many shares per price point (two pieces of 100)
_OPEN = dt.datetime(2024, 3, 14, 9, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()


class EpochMonotonic:
    """Seconds since the epoch that never go back: the wall clock read once, then `perf_counter`.
    The supervisor, the adapter and the journal all read this one clock, so every latency stamp
    of a trade compares with every other."""

    def __init__(self) -> None:
        self._base = time.time() - time.perf_counter()

    def __call__(self) -> float:
        return self._base + time.perf_counter()


def flat_day(seconds: int = 23_400) -> list[Bar]:
    """A regular session of one-second bars at one price: every price point fills a market order,
    and the day is long enough for thousands of iterations."""
    return [Bar(_OPEN + i, PRICE, PRICE, PRICE, PRICE, 1000.0, 1.0) for i in range(seconds)]


@attrs.frozen
class Write:
    ns: int
    msg_id: str
    order_id: int
    read: int


@attrs.frozen
class Arrival:
    ns: int
    order_ref: str
    cum_qty: float
    read: int


class WireStamps:
    def __init__(self, ib: IB) -> None:
        self.writes: list[Write] = []
        self.arrivals: list[Arrival] = []
        self.reads = 0
        conn = ib.client.conn
        # ib_async leaves these two untyped
        send = cast(Callable[[bytes], None], conn.sendMsg)
        received = cast(Callable[[bytes], None], conn.data_received)
        clock = time.perf_counter_ns

        def send_stamped(msg: bytes) -> None:
            send(msg)
            self.writes.append(_write(clock(), msg, self.reads))

        def received_counted(data: bytes) -> None:
            self.reads += 1
            received(data)

        execution = ib.wrapper.execDetails

        def exec_stamped(req_id: int, contract: Contract, fill: Execution) -> None:
            self.arrivals.append(Arrival(clock(), fill.orderRef, fill.cumQty, self.reads))
            execution(req_id, contract, fill)

        self._originals: list[tuple[object, str, object]] = [
            (conn, "sendMsg", send), (conn, "data_received", received), (ib.wrapper, "execDetails", execution)]
        conn.sendMsg = send_stamped  # type: ignore[method-assign]
        conn.data_received = received_counted  # type: ignore[method-assign]
        ib.wrapper.execDetails = exec_stamped  # type: ignore[method-assign,assignment]

    def clear(self) -> None:
        self.writes.clear()
        self.arrivals.clear()

    def orders_after(self, ns: int) -> list[Write]:
        return [w for w in self.writes if w.msg_id == PLACE_ORDER and w.ns >= ns]

    def first_order_after(self, ns: int) -> int:
        found = self.orders_after(ns)
        if not found:
            raise BenchError("no order was written to the socket")
        return found[0].ns

    def arrival(self, order_ref: str, cum_qty: float) -> Arrival:
        for arrival in self.arrivals:
            if arrival.order_ref == order_ref and arrival.cum_qty >= cum_qty:
                return arrival
        raise BenchError(f"no execution of {order_ref} reached {cum_qty} shares")

    def close(self) -> None:
        for owner, name, original in self._originals:
            setattr(owner, name, original)


def _write(ns: int, msg: bytes, read: int) -> Write:
    fields = msg[4:64].split(b"\0", 2)
    order_id = int(fields[1]) if len(fields) > 2 and fields[1].isdigit() else 0
    return Write(ns, fields[0].decode(), order_id, read)


class BenchError(RuntimeError):
    """A measured path did not do what it measures (an order never written, a trade not protected)."""


class Stack:
    """What a bot runs: a supervisor behind a journal recorder, a runner, the IB adapter pushing
    events into it (the supervisor answers inside ib_async's callback). A fresh one per iteration
    keeps every iteration's supervisor in the same state; the adapter and connection are shared."""

    def __init__(self, broker: IBBroker, journal: Journal, clock: Callable[[], float]) -> None:
        self.supervisor = Supervisor(clock)
        self.recorder = JournalRecorder(self.supervisor, journal)
        self.runner = Runner(self.recorder, broker)
        self.broker = broker

    def attach(self) -> None:
        """Push delivery into the runner, as `Runner.run` sets it up for a pushing adapter."""
        self.broker.set_event_handler(self.runner.answer)


@attrs.define
class Rig:
    server: TwsSimServer
    ib: IB
    broker: IBBroker
    stamps: WireStamps
    journal: Journal
    contract: Contract
    clock: Callable[[], float]

    def stack(self) -> Stack:
        return Stack(self.broker, self.journal, self.clock)

    def detach(self) -> list[BrokerEvent]:
        """Back to queued delivery; what was queued is dropped (a finished iteration's tail)."""
        self.broker.set_event_handler(None)
        return self.broker.poll()

    async def settle(self, rounds: int = 10) -> None:
        """Round trips to the simulator until one brings no new order from the client: the
        simulator has everything, the client has handled every answer."""
        for _ in range(rounds):
            before = len(self.stamps.orders_after(0))
            await self.ib.reqCurrentTimeAsync()
            if len(self.stamps.orders_after(0)) == before:
                return
        raise BenchError(f"the client still sends orders after {rounds} round trips")

    async def clean(self) -> None:
        """Cancel every working order and flatten, so the next iteration starts from nothing."""
        self.detach()
        self.ib.reqGlobalCancel()  # type: ignore[no-untyped-call]
        await self.ib.reqCurrentTimeAsync()
        positions = await self.ib.reqPositionsAsync()
        held = sum(p.position for p in positions if p.contract.symbol == SYMBOL)
        if held:
            self.ib.placeOrder(self.contract, MarketOrder("SELL" if held > 0 else "BUY", abs(held)))
            await self.ib.reqCurrentTimeAsync()
            self.server.step()
            await self.ib.reqCurrentTimeAsync()
        self.detach()


@contextlib.asynccontextmanager
async def rig(journal_path: Path | None = None) -> AsyncIterator[Rig]:
    """The rig; its journal is kept at `journal_path` when given (else a temporary file)."""
    quiet = logging.getLogger("ib_async")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # every cancel of a clean-up is an ib_async error log line
    server = TwsSimServer(flat_day(), config=SimConfig(max_fill_qty=MAX_FILL))
    await server.start()
    ib = IB()
    ib.client.MaxRequests = 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-wire-") as folder:
            await ib.connectAsync(server.host, server.port, clientId=1, timeout=10)
            server.step()  # a first price
            clock = EpochMonotonic()
            broker = IBBroker(ib, environ={}, clock=clock)
            stamps = WireStamps(ib)
            journal = Journal.open(journal_path or Path(folder) / "wire.journal.sqlite", clock_wall=clock)
            try:
                yield Rig(server, ib, broker, stamps, journal, Stock(SYMBOL, "SMART", "USD"), clock)
            finally:
                journal.close()
                stamps.close()
                broker.close()
                ib.disconnect()
    finally:
        await server.close()
        quiet.setLevel(level)


def run(coroutine: Callable[[], Any]) -> Any:
    """Run a rig coroutine on a fresh loop (the caller's thread; nothing left running after)."""
    return asyncio.run(coroutine())
