# How bytes become messages and back, in the TWS socket protocol (sans-IO: no socket here).
# - A message is a 4-byte big-endian length, then its fields, each ended by a NUL byte. Field
#   values are text: ints and floats in decimal, bools as 1/0, "no value" (None) as empty.
# - The client opens with the bare bytes "API\0", then one framed message "v<min>..<max>" (maybe
#   followed by connect options, " +PACEAPI"); the server answers with one framed message of two
#   fields, its version and its time, and from then on everything is framed messages.
# `Framer` takes bytes as they arrive and hands out whole messages as lists of field strings; a
# stream it cannot frame (no "API\0", an absurd length) is a `ProtocolError`: the connection is
# beyond repair and the caller closes it. Anything that frames but means nothing is the engine's
# problem (an IB error back, never a crash).
from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable

# The version this simulator speaks: the message layouts of broker/tws/replies*.py are those of
# ib_async 2.1's decoder at server version 176 (ib_async offers 157..178). Layouts change with the
# version, so a client whose range does not include 176 is not served at all.
SERVER_VERSION = 176
API_PREFIX = b"API\0"
MAX_MESSAGE_BYTES = 1 << 24  # a length above this is not a message but a broken stream
UNSET_DOUBLE = 1.7976931348623157e308  # IB's "no value" for doubles, as ib_async defines it
UNSET_INTEGER = 2**31 - 1

Field = str | int | float | bool | None


class ProtocolError(Exception):
    """The byte stream cannot be framed; the connection must be closed."""


def format_field(value: Field) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isinf(value):
            return "Infinite"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # 100 rather than 100.0: what TWS sends for whole numbers
        return repr(value)
    return str(value)


def encode(fields: Iterable[Field]) -> bytes:
    """One framed message from its fields."""
    payload = "".join(format_field(f) + "\0" for f in fields).encode()
    return frame(payload)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


_VERSION_RANGE = re.compile(r"^v(\d+)(?:\.\.(\d+))?(?:\s.*)?$", re.DOTALL)


def parse_version_range(text: str) -> tuple[int, int]:
    """`v157..178` (and optional connect options) -> (157, 178). Raises ProtocolError."""
    match = _VERSION_RANGE.match(text)
    if match is None:
        raise ProtocolError(f"handshake: expected 'v<min>..<max>', got {text[:40]!r}")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low > high:
        raise ProtocolError(f"handshake: empty version range {text[:40]!r}")
    return low, high


def negotiate(low: int, high: int) -> int:
    """The version both sides speak (always SERVER_VERSION), or ProtocolError."""
    if not low <= SERVER_VERSION <= high:
        raise ProtocolError(f"handshake: client speaks versions {low}..{high}; this simulator speaks "
                            f"{SERVER_VERSION} only")
    return SERVER_VERSION


class Framer:
    """Incremental decoder for one connection: `feed(bytes)` -> whole messages (lists of fields).

    The first message it returns is the handshake's version range, as a one-field list."""

    def __init__(self) -> None:
        self._buffer = b""
        self._greeted = False

    def feed(self, data: bytes) -> list[list[str]]:
        self._buffer += data
        if not self._greeted:
            if len(self._buffer) < len(API_PREFIX):
                if not API_PREFIX.startswith(self._buffer):
                    raise ProtocolError(f"handshake: expected 'API\\0', got {self._buffer[:8]!r}")
                return []
            if not self._buffer.startswith(API_PREFIX):
                raise ProtocolError(f"handshake: expected 'API\\0', got {self._buffer[:8]!r}")
            self._buffer = self._buffer[len(API_PREFIX):]
            self._greeted = True
        messages: list[list[str]] = []
        while len(self._buffer) >= 4:
            (length,) = struct.unpack(">I", self._buffer[:4])
            if length > MAX_MESSAGE_BYTES:
                raise ProtocolError(f"message length {length} exceeds {MAX_MESSAGE_BYTES} bytes")
            if len(self._buffer) < 4 + length:
                break
            payload = self._buffer[4 : 4 + length]
            self._buffer = self._buffer[4 + length :]
            text = payload.decode(errors="backslashreplace")
            fields = text.split("\0")
            if fields and fields[-1] == "":
                fields.pop()  # the terminator of the last field
            messages.append(fields)
        return messages


def split_messages(data: bytes) -> list[list[str]]:
    """Decode framed messages from the server side (tests read what the server wrote)."""
    messages: list[list[str]] = []
    while len(data) >= 4:
        (length,) = struct.unpack(">I", data[:4])
        fields = data[4 : 4 + length].decode().split("\0")
        messages.append(fields[:-1] if fields and fields[-1] == "" else fields)
        data = data[4 + length :]
    return messages
