"""The journal's JSONL stream: the same records, one JSON object a line, through a loguru file sink.

How it works: `JsonlStream` first repairs the file's tail (a crash can cut the last line in half:
the torn lines are reported as a `TailCorruption` and truncated away, every line before them is
kept), then adds one loguru file sink (rotation and retention are loguru's). Records are logged on
the global loguru logger bound to a token only this sink accepts, so the sink sees nothing else;
the other sinks receive a short human message at the journal's level (TRACE by default, below the
default stderr sink's DEBUG) with `seq`, `kind`, `trade_id`, `leg`, `order_ref`, `order_id` in
`extra`. Closing removes only the handler this stream added.

The line is the record: `{"seq", "kind", "type", "mono_ns", "wall", "time" (ISO UTC), "trade_id",
"leg", "order_ref", "order_id", "payload"}`. The stream is for people and log shippers and is not
fsynced; the SQLite file is the journal of record.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
from loguru import logger

from supervisor.journal_store import Row

_TOKENS = itertools.count(1)
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@attrs.frozen
class TailCorruption:
    """The torn end of a JSONL file, found on open and truncated away."""

    path: Path
    line_number: int  # 1-based number of the first torn line
    byte_offset: int  # where it started: the file was truncated to this length
    dropped_bytes: int
    dropped_lines: int
    excerpt: str  # the first bytes of what was dropped, for the report


def json_line(row: Row) -> str:
    seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, type_, payload, _ = row
    head = {
        "seq": seq,
        "kind": kind,
        "type": type_,
        "mono_ns": mono_ns,
        "wall": wall,
        "time": datetime.datetime.fromtimestamp(wall, datetime.UTC).isoformat(timespec="microseconds"),
        "trade_id": trade_id,
        "leg": leg,
        "order_ref": order_ref,
        "order_id": order_id,
    }
    # the payload is already JSON: splice it in rather than parse and dump it again
    return _to_json(head)[:-1] + ',"payload":' + payload + "}"


def repair_tail(path: Path) -> tuple[TailCorruption | None, int | None]:
    """Truncate the torn lines at the end of `path`; return the report and the last intact seq."""
    if not path.exists():
        return None, None
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete = lines[-1] == b""  # the file ends with a newline
    if complete:
        lines.pop()
    starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    keep = len(lines)  # lines[:keep] are kept
    last_seq: int | None = None
    while keep > 0:
        parsed = _parse(lines[keep - 1])
        if parsed is not None:
            seq = parsed.get("seq")
            last_seq = seq if isinstance(seq, int) else None
            break
        keep -= 1
    report = None
    if keep < len(lines):
        offset = starts[keep]
        report = TailCorruption(
            path=path,
            line_number=keep + 1,
            byte_offset=offset,
            dropped_bytes=len(data) - offset,
            dropped_lines=len(lines) - keep,
            excerpt=data[offset : offset + 80].decode("utf-8", "replace"),
        )
        _truncate(path, offset, add_newline=False)
    elif lines and not complete:  # intact, but the newline was lost: restore it so appends start a line
        _truncate(path, len(data), add_newline=True)
    return report, last_seq


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    return value if isinstance(value, dict) else None


def _truncate(path: Path, length: int, *, add_newline: bool) -> None:
    with path.open("r+b") as f:
        f.truncate(length)
        if add_newline:
            f.seek(0, os.SEEK_END)
            f.write(b"\n")
        f.flush()
        os.fsync(f.fileno())


def _format(record: Any) -> str:
    return "{extra[journal_line]}\n"


class JsonlStream:
    """One loguru file sink carrying the journal's records as JSON lines."""

    def __init__(
        self,
        path: Path,
        *,
        rotation: str | int | datetime.timedelta | None = "50 MB",
        retention: str | int | datetime.timedelta | None = 10,
        level: str = "TRACE",
    ) -> None:
        self.path = path
        self.tail_corruption, self.last_seq = repair_tail(path)
        self._level = level
        token = f"journal-{os.getpid()}-{next(_TOKENS)}"
        self._logger = logger.bind(journal_stream=token)
        self._handler_id: int | None = logger.add(
            str(path),
            format=_format,
            level=0,
            filter=lambda record: record["extra"].get("journal_stream") == token,
            rotation=rotation,
            retention=retention,
            encoding="utf-8",
        )

    def emit(self, rows: Iterable[Row]) -> None:
        log = self._logger.log
        for row in rows:
            log(
                self._level,
                "journal {kind} #{seq} {type} {order_ref}",
                seq=row[0],
                kind=row[1],
                trade_id=row[4],
                leg=row[5],
                order_ref=row[6],
                order_id=row[7],
                type=row[8],
                journal_line=json_line(row),
            )

    def close(self) -> None:
        if self._handler_id is not None:
            logger.remove(self._handler_id)
            self._handler_id = None
