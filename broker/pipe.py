"""The broker port over a pair of pipes: a supervisor in one process, the broker in another.

How it works: both ends speak one JSON object per line (values encoded with `supervisor.codec`),
each carrying an `"op"`. The supervisor's side is `PipeBroker`, a `BrokerPort`:

- `execute(cmd)` writes `{"op": "execute", "command": ...}` and returns (outcomes come back as
  events, as with every adapter);
- `poll()` writes `{"op": "poll"}` and reads `{"op": "events", "now": t, "events": [...]}`;
- `query(since)` writes `{"op": "query", "since": t}` and reads `{"op": "truth", "now": t, ...}`.

The broker's side (`broker.pipe_host.PipeHost`) answers these in the order they were written, so
the supervisor sees exactly what an in-process adapter would. Every message from the host carries
the broker's clock (`"now"`); `PipeBroker.now` returns the latest, so a supervisor in the child
runs on the broker's time (the simulated exchange's bar time, or the wall clock of a live one).
Messages with any other op (a driver's "step", "finish", ...) are handed to `receive()`'s caller.

`LineChannel` is the framing both ends share: lines over raw file descriptors, each read guarded
by a timeout (`select`), so a peer that hangs or dies is an error, never a hang.
"""

from __future__ import annotations

import json
import os
import select
import sys
from collections.abc import Sequence
from typing import Any

from supervisor import codec
from supervisor.port import BrokerEvent, BrokerTruth, Command

Message = dict[str, Any]
DEFAULT_TIMEOUT = 30.0


class PipeClosedError(ConnectionError):
    """The other end closed its pipe (it exited, or was killed)."""


class PipeTimeoutError(TimeoutError):
    """The other end said nothing within the timeout."""


class ProtocolError(ValueError):
    """A line that is not the message expected here."""


class LineChannel:
    """One JSON object per line over two raw file descriptors (no Python-level buffering on the
    read side, so `select` tells the truth about what is waiting)."""

    def __init__(self, read_fd: int, write_fd: int, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.timeout = timeout
        self._pending = bytearray()

    def send(self, message: Message) -> None:
        data = (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    def receive(self) -> Message:
        """The next message; `PipeClosedError` at end of file, `PipeTimeoutError` after `timeout`."""
        while (end := self._pending.find(b"\n")) < 0:
            ready, _, _ = select.select([self.read_fd], [], [], self.timeout)
            if not ready:
                raise PipeTimeoutError(f"no message within {self.timeout} s on fd {self.read_fd}")
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise PipeClosedError(f"fd {self.read_fd} closed ({len(self._pending)} bytes of a partial line)")
            self._pending += chunk
        line = bytes(self._pending[:end])
        del self._pending[: end + 1]
        message = json.loads(line)
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            raise ProtocolError(f"not a message (a JSON object with an 'op'): {line[:200]!r}")
        return message


class PipeBroker:
    """`BrokerPort` over a `LineChannel`: the supervisor's side of the pipe."""

    def __init__(self, channel: LineChannel) -> None:
        self.channel = channel
        self._now = 0.0

    @classmethod
    def stdio(cls, *, timeout: float = DEFAULT_TIMEOUT) -> PipeBroker:
        """Over this process's stdin and stdout (the host started us with pipes on both)."""
        return cls(LineChannel(sys.stdin.fileno(), sys.stdout.fileno(), timeout=timeout))

    def now(self) -> float:
        """The broker's clock, as of its last message."""
        return self._now

    # -- the port -----------------------------------------------------------------------------
    def execute(self, command: Command) -> None:
        self.channel.send({"op": "execute", "command": codec.encode(command)})

    def poll(self) -> Sequence[BrokerEvent]:
        self.channel.send({"op": "poll"})
        reply = self._expect("events")
        return [codec.decode(event) for event in reply["events"]]

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        self.channel.send({"op": "query", "since": executions_since})
        reply = self._expect("truth")
        if "error" in reply:
            raise ConnectionError(f"broker query failed: {reply['error']}")
        truth = codec.decode(reply["truth"])
        if not isinstance(truth, BrokerTruth):
            raise ProtocolError(f"a query answered with {type(truth).__name__}, not BrokerTruth")
        return truth

    # -- the driver's messages ----------------------------------------------------------------
    def send(self, message: Message) -> None:
        """A message for the host's driver (e.g. "done" at the end of a step)."""
        self.channel.send(message)

    def receive(self) -> Message:
        """The host's next message (its clock is taken from it)."""
        message = self.channel.receive()
        now = message.get("now")
        if isinstance(now, (int, float)):
            self._now = float(now)
        return message

    def _expect(self, op: str) -> Message:
        message = self.receive()
        if message["op"] != op:
            raise ProtocolError(f"expected {op!r} from the broker, got {message['op']!r}")
        return message
