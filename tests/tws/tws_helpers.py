"""Helpers for the TWS simulator tests: a gateway in a thread, a connected `ib_async.IB()`, a
round-trip barrier, a wire recorder on the client's side, and small bar days.

`barrier(ib)` asks the gateway for its time and waits for the answer. The gateway reads a client's
messages in order and answers each after everything it wrote before, so once the answer is in,
(1) the gateway has served every request the client sent before, and (2) the client has decoded
every message the gateway sent until then. The market clock is moved from the test's thread, not
through the client's socket, so `advance(server, ib, ...)` puts a barrier on both sides of the move:
nothing sleeps, nothing races."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator, Sequence
from typing import Any

from ib_async import IB, Stock
from ib_async.client import Client
from sim.sim_helpers import T0, bars

from broker.sim import Bar
from broker.tws import ServerThread, run_in_thread
from broker.tws.wire import SERVER_VERSION, encode, frame

CONNECT_TIMEOUT = 5.0  # a failure bound only: a healthy connect takes milliseconds


@contextlib.contextmanager
def gateway(day: Sequence[Bar] | None = None, **options: Any) -> Iterator[ServerThread]:
    with run_in_thread(day, **options) as server:
        yield server


@contextlib.contextmanager
def client(server: ServerThread, client_id: int = 1, **options: Any) -> Iterator[IB]:
    ib = IB()
    ib.client.MaxRequests = 0  # no client-side pacing (45/s): tests send bursts of barriers
    ib.connect(server.host, server.port, clientId=client_id, timeout=CONNECT_TIMEOUT, **options)
    try:
        yield ib
    finally:
        ib.disconnect()


def barrier(ib: IB) -> None:
    """The gateway has served what `ib` sent, and `ib` has handled what the gateway wrote."""
    ib.reqCurrentTime()


def advance(server: ServerThread, ib: IB, *, bars: int = 0, points: int = 0) -> None:
    """Move the market `points` price points, then `bars` whole bars, once `ib`'s requests are in."""
    barrier(ib)
    for _ in range(points):
        server.step()
    if bars:
        server.advance_bars(bars)
    barrier(ib)


def stock(symbol: str = "SIM") -> Stock:
    return Stock(symbol, "SMART", "USD")


class WireLog:
    """The messages the gateway sent to one client, as (message id, fields), in arrival order:
    hooked on the client's socket, so it sees exactly what the client's decoder sees."""

    def __init__(self, ib: IB) -> None:
        self.messages: list[list[str]] = []
        self._buffer = b""
        ib.client.conn.hasData += self._feed

    def _feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 4:
            (length,) = struct.unpack(">I", self._buffer[:4])
            if len(self._buffer) < 4 + length:
                return
            fields = self._buffer[4 : 4 + length].decode().split("\0")[:-1]
            self._buffer = self._buffer[4 + length :]
            self.messages.append(fields)

    def of(self, *msg_ids: int) -> list[list[str]]:
        wanted = {str(m) for m in msg_ids}
        return [m for m in self.messages if m and m[0] in wanted]

    def names(self, order_id: int) -> list[str]:
        """The story of one order on the wire: openOrder / orderStatus <status> / execDetails /
        error <code>, in the order the client received them."""
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


def ramp(*closes: float, start: float = T0, seconds: float = 60.0) -> list[Bar]:
    """Bars that move from one close to the next: open at the previous close, high/low the range."""
    out: list[tuple[float, float, float, float]] = []
    previous = closes[0]
    for close in closes:
        out.append((previous, max(previous, close), min(previous, close), close))
        previous = close
    return bars(*out, start=start, seconds=seconds)


class CapturingClient(Client):
    """ib_async's own client, writing into a list instead of a socket."""

    def __init__(self) -> None:
        super().__init__(wrapper=None)
        self.sent: list[list[str]] = []
        self._serverVersion = SERVER_VERSION
        self.connState = Client.CONNECTED
        self.clientId = 5

    def sendMsg(self, msg: str) -> None:
        self.sent.append(msg.split("\0")[:-1])


def written(call: str, *args: Any) -> list[str]:
    """The fields ib_async's client writes for `call(*args)`."""
    capture = CapturingClient()
    getattr(capture, call)(*args)
    (message,) = capture.sent
    return message


class RawClient:
    """A bare socket speaking the TWS protocol, for what no real client would send."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
        self._buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *fields: object) -> None:
        self.sock.sendall(encode([str(f) for f in fields]))

    def read(self) -> list[str] | None:
        """The next message, or None when the gateway closed the connection."""
        while True:
            if len(self._buffer) >= 4:
                (length,) = struct.unpack(">I", self._buffer[:4])
                if len(self._buffer) >= 4 + length:
                    fields = self._buffer[4 : 4 + length].decode().split("\0")[:-1]
                    self._buffer = self._buffer[4 + length :]
                    return fields
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk

    def handshake(self, client_id: int = 1) -> list[list[str]]:
        """Greet, start the API, and return everything the gateway said on connecting."""
        self.send_raw(b"API\0" + frame(b"v157..178"))
        version = self.read()
        assert version is not None
        assert version[0] == str(SERVER_VERSION)
        self.send(71, 2, client_id, "")
        return self.until(lambda m: m[0] == "9") + self.barrier()  # and the data-farm notices after it

    def until(self, done: Any) -> list[list[str]]:
        out: list[list[str]] = []
        while (message := self.read()) is not None:
            out.append(message)
            if done(message):
                return out
        raise ConnectionError(f"closed by the gateway after {out!r}")

    def barrier(self) -> list[list[str]]:
        """Ask the time; return what arrived before the answer (the connection is still served)."""
        self.send(49, 1)
        return self.until(lambda m: m[0] == "49")[:-1]
