"""The append-only journal: every broker event, command and supervisor event, in order, on disk.

How it works: `append(kind, value)` encodes the value (supervisor.codec; a meta dict straight to
its JSON text, which is also its copy), stamps it with the next
`seq` and both clocks under a lock, puts it in an in-memory buffer and returns: no disk I/O on the
caller's path (except under fsync="always"). A background writer thread takes the whole buffer at
most `batch_delay` seconds after its first record arrived (sooner when it holds `max_batch`
records, when someone calls `flush()`, or on `close()`), and commits it to SQLite in one
transaction (journal_store), then writes the same records to the optional JSONL stream
(journal_jsonl). Batches commit in seq order, so what survives any crash is a gap-free prefix.
The writer looks for records every `batch_delay` rather than being woken by the first one of a
batch: a woken thread takes the interpreter lock at the caller's next system call, which on the
order path is the write of the order to the socket (on a busy machine it then holds it for
milliseconds). Below 5 ms of delay the first record still wakes it.

fsync policies, and what each risks (SQLite in WAL mode; "committed" means the writer's COMMIT):

- "always": `append` returns only after its record is committed with synchronous=FULL, which
  fsyncs the WAL on every commit. Process crash: nothing that `append` returned for is lost.
  Power loss / OS crash: nothing acknowledged is lost either (as far as the disk honours fsync).
  Cost: one fsync per append on the caller's path (appends from several threads share commits).
- "batch" (default): committed by the writer within `batch_delay`, synchronous=NORMAL (the WAL
  is fsynced only at checkpoints). Process crash: the records still in the buffer, at most the
  last `batch_delay` seconds (or `max_batch` records), are lost; committed ones survive, being
  in the OS's cache. Power loss / OS crash: additionally the transactions committed since the last
  checkpoint may roll back; the database stays consistent (WAL + NORMAL cannot corrupt it).
- "off": like "batch" but synchronous=OFF: SQLite never fsyncs. Process crash: same as "batch".
  Power loss / OS crash: recent transactions can be lost AND the database file can be corrupted;
  the next open then refuses it (`JournalCorruptError` from `PRAGMA quick_check`). For tests and
  throwaway runs.

The JSONL stream is never fsynced: a crash can tear its last line (repaired on the next open)
and a power loss can lose its tail; the SQLite file is the journal of record.

Opening checks the file (see journal_store: quick_check, schema version, checksums, seq gaps; a
closed trade's history before its newest checkpoint as one sealed block, see journal_seal, its rows
verified when read or by `verify()`; it also notes what a restart replays) and the JSONL tail, and returns what
it found in `Journal.report`; anything unusual is also logged as a warning. A JSONL stream that
is behind the database (a crash between the commit and the JSONL write) is caught up from the database on open.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, Literal, Self

import attrs
from loguru import logger

from supervisor import codec
from supervisor.journal_jsonl import JsonlStream, TailCorruption
from supervisor.journal_record import Index, Record, meta_text, to_record, to_row
from supervisor.journal_store import (
    ChecksumFailure,
    JournalCorruptError,
    JournalError,
    JournalVersionError,
    SeqGap,
    Store,
    read_restore_rows,
    read_rows,
    read_rows_at,
    row_is_intact,
)

__all__ = [
    "ChecksumFailure",
    "FsyncPolicy",
    "Journal",
    "JournalClosedError",
    "JournalCorruptError",
    "JournalError",
    "JournalVersionError",
    "JournalWriteError",
    "Kind",
    "OpenReport",
    "Record",
    "SeqGap",
    "TailCorruption",
    "journal_path",
]

# checkpoint: a finished trade's whole state (supervisor.checkpoint), so a restart skips its history
Kind = Literal["broker_event", "command", "supervisor_event", "meta", "checkpoint"]
FsyncPolicy = Literal["always", "batch", "off"]
KINDS: frozenset[str] = frozenset(("broker_event", "command", "supervisor_event", "meta", "checkpoint"))
_SYNCHRONOUS = {"always": "FULL", "batch": "NORMAL", "off": "OFF"}
_POLL_FLOOR = 0.005  # a batch delay under this wakes the writer on a batch's first record instead
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class JournalClosedError(JournalError):
    """An append to a journal that was closed."""


class JournalWriteError(JournalError):
    """The writer thread failed; the journal accepts nothing more (the cause is chained)."""


@attrs.frozen
class OpenReport:
    """What opening found. `clean` is True when nothing needed reporting."""

    path: Path
    created: bool
    schema_version: int
    migrated_from: int | None
    quick_check: tuple[str, ...]
    records: int
    last_seq: int
    gaps: tuple[SeqGap, ...]
    checksum_failure: ChecksumFailure | None
    jsonl_tail: TailCorruption | None
    jsonl_backfilled: int

    @property
    def clean(self) -> bool:
        return not (self.gaps or self.checksum_failure or self.jsonl_tail)

    def summary(self) -> str:
        parts = [f"{self.records} records, last seq {self.last_seq}"]
        if self.migrated_from is not None:
            parts.append(f"migrated from schema v{self.migrated_from}")
        if self.gaps:
            parts.append("seq gaps " + ", ".join(f"{g.after}->{g.next}" for g in self.gaps))
        if self.checksum_failure:
            f = self.checksum_failure
            parts.append(f"checksum failed at seq {f.seq}: {f.quarantined} record(s) quarantined")
        if self.jsonl_tail:
            t = self.jsonl_tail
            parts.append(
                f"JSONL {t.path.name} torn at line {t.line_number} (byte {t.byte_offset}): "
                f"{t.dropped_lines} line(s), {t.dropped_bytes} bytes truncated"
            )
        if self.jsonl_backfilled:
            parts.append(f"{self.jsonl_backfilled} record(s) re-written to the JSONL stream")
        return "; ".join(parts)


def journal_path(directory: str | os.PathLike[str], account: str) -> Path:
    """The journal file of one account: `<directory>/<account>.journal.sqlite`."""
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"account {account!r} is not a safe file name (letters, digits, _ . -)")
    return Path(directory) / f"{account}.journal.sqlite"


# seq, kind, mono_ns, wall, codec payload (None for meta), meta JSON text and index fields
_Pending = tuple[int, str, int, float, dict[str, Any] | None, tuple[str, Index] | None]


class Journal:
    """Use `Journal.open(...)`; thread-safe for appends from any number of threads."""

    def __init__(
        self,
        store: Store,
        jsonl: JsonlStream | None,
        *,
        fsync: FsyncPolicy,
        batch_delay: float,
        max_batch: int,
        clock_mono: Callable[[], int],
        clock_wall: Callable[[], float],
        report: OpenReport,
    ) -> None:
        self.path = store.path
        self.report = report
        self.fsync: FsyncPolicy = fsync
        self._store, self._jsonl = store, jsonl
        self._batch_delay, self._max_batch = batch_delay, max_batch
        self._clock_mono, self._clock_wall = clock_mono, clock_wall
        self._lock = threading.Lock()  # the buffer, the seq counter and the writer's state
        self._db_lock = threading.Lock()  # the SQLite connection: the writer's inserts, pragma(), close()
        self._wake_writer = threading.Condition(self._lock)
        self._committed_cond = threading.Condition(self._lock)
        self._buffer: list[_Pending] = []
        self._first_pending_at = 0.0
        self._next_seq = report.last_seq + 1
        self._committed = report.last_seq
        self._urgent = 0  # flush() or fsync="always" waits until this seq is committed
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._writer = threading.Thread(target=self._run, name=f"journal-writer:{self.path.name}", daemon=True)
        self._writer.start()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = "batch",
        batch_delay: float = 0.05,
        max_batch: int = 1000,
        jsonl_path: str | os.PathLike[str] | None = None,
        jsonl_rotation: str | int | None = "50 MB",
        jsonl_retention: str | int | None = 10,
        jsonl_level: str = "TRACE",
        clock_mono: Callable[[], int] = time.monotonic_ns,
        clock_wall: Callable[[], float] = time.time,
    ) -> Journal:
        if fsync not in _SYNCHRONOUS:
            raise ValueError(f"fsync must be one of {sorted(_SYNCHRONOUS)}, got {fsync!r}")
        if not batch_delay >= 0 or max_batch < 1:
            raise ValueError(f"batch_delay must be >= 0 and max_batch >= 1, got {batch_delay!r}, {max_batch!r}")
        store = Store.open(Path(path), _SYNCHRONOUS[fsync])
        jsonl, backfilled = None, 0
        try:
            if jsonl_path is not None:
                jsonl = JsonlStream(
                    Path(jsonl_path), rotation=jsonl_rotation, retention=jsonl_retention, level=jsonl_level
                )
                if jsonl.last_seq is not None and jsonl.last_seq < store.findings.last_seq:
                    missing = list(read_rows(store.path, jsonl.last_seq))
                    jsonl.emit(missing)
                    backfilled = len(missing)
        except BaseException:
            if jsonl is not None:
                jsonl.close()
            store.close()
            raise
        report = OpenReport(
            path=store.path,
            **attrs.asdict(store.findings, recurse=False),  # the store's findings, field for field
            jsonl_tail=None if jsonl is None else jsonl.tail_corruption,
            jsonl_backfilled=backfilled,
        )
        if not report.clean:
            logger.warning("journal {}: {}", store.path, report.summary())
        return cls(
            store,
            jsonl,
            fsync=fsync,
            batch_delay=batch_delay,
            max_batch=max_batch,
            clock_mono=clock_mono,
            clock_wall=clock_wall,
            report=report,
        )

    # -- the caller's side ---------------------------------------------------------------------

    def append(self, kind: Kind, value: Any) -> int:
        """Buffer one record and return its seq. Under fsync="always", return once it is committed."""
        payload: dict[str, Any] | None = None
        meta: tuple[str, Index] | None = None
        if kind == "meta":
            if not isinstance(value, dict):
                raise TypeError(f"a meta record is a dict, got {type(value).__name__}")
            meta = meta_text(value)  # checked (strict JSON), and a copy: its text
        elif kind in KINDS:
            payload = codec.encode(value)
        else:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        return self._buffered(kind, payload, meta)

    def append_call(self, call: object) -> int:
        """A caller's call (a registered value, `supervisor.calls`) as a meta record. Its encoded
        dict is made here and shared with no one, and the codec makes only strict JSON: it is
        neither copied nor checked, and the writer serializes it (the recorder journals every
        trigger this way, on the order's path)."""
        return self._buffered("meta", codec.encode(call), None)

    def _buffered(self, kind: str, payload: dict[str, Any] | None, meta: tuple[str, Index] | None) -> int:
        with self._lock:
            if self._closing:
                raise JournalClosedError(f"journal {self.path} is closed")
            if self._error is not None:
                raise JournalWriteError(f"journal {self.path}: the writer failed") from self._error
            seq = self._next_seq
            self._next_seq = seq + 1
            self._buffer.append((seq, kind, self._clock_mono(), self._clock_wall(), payload, meta))
            pending = len(self._buffer)
            if pending == 1:
                self._first_pending_at = time.monotonic()
                if self._batch_delay < _POLL_FLOOR:
                    self._wake_writer.notify()
            elif pending == self._max_batch:
                self._wake_writer.notify()
            if self.fsync == "always":
                self._wait_committed(seq)
        return seq

    def flush(self) -> None:
        """Return once every record appended before the call is committed to SQLite."""
        with self._lock:
            if self._error is not None:
                raise JournalWriteError(f"journal {self.path}: the writer failed") from self._error
            self._wait_committed(self._next_seq - 1)

    def _wait_committed(self, seq: int) -> None:  # called holding the lock
        if self._committed >= seq:
            return
        self._urgent = max(self._urgent, seq)
        self._wake_writer.notify()
        while self._committed < seq:
            if self._error is not None:
                raise JournalWriteError(f"journal {self.path}: the writer failed") from self._error
            self._committed_cond.wait()

    @property
    def last_seq(self) -> int:
        """The seq of the last record appended (committed or still buffered)."""
        with self._lock:
            return self._next_seq - 1

    @property
    def committed_seq(self) -> int:
        with self._lock:
            return self._committed

    def restore_records(self) -> Iterator[Record]:
        """What a restart replays: every input, except those of a trade recorded before its newest
        checkpoint, which comes instead, in its place. Decided in SQL, so a long history of closed
        trades is neither read nor decoded. Right after opening (nothing appended since), the open's
        scan already noted which rows these are: they are fetched by seq, the table is not scanned
        again."""
        if not self._closing:
            self.flush()
        seqs = self._store.restore_seqs
        with self._lock:
            fresh = seqs is not None and self._next_seq - 1 == self.report.last_seq
        rows = read_rows_at(self.path, seqs) if fresh and seqs is not None else read_restore_rows(self.path)
        for row in rows:
            yield to_record(row)

    def records(self, after_seq: int = 0, *, kinds: Collection[Kind] | None = None) -> Iterator[Record]:
        """The records with seq > after_seq, in order, decoded (flushes first when open); only
        those of `kinds` when given (a replay reads the inputs and skips decoding the outputs)."""
        if not self._closing:
            self.flush()
        for row in read_rows(self.path, after_seq, kinds=kinds):
            yield to_record(row)

    def verify(self) -> int | None:
        """Read every row and check its checksum, closed trades' sealed histories too (opening
        checks those as blocks, see journal_seal): the seq of the first row that fails, or None."""
        if not self._closing:
            self.flush()
        for row in read_rows(self.path, verify=False):
            if not row_is_intact(row):
                return row[0]
        return None

    def pragma(self, name: str) -> object:
        """A PRAGMA read on the writing connection (e.g. "synchronous", "journal_mode")."""
        with self._db_lock:
            if self._closed:
                raise JournalClosedError(f"journal {self.path} is closed")
            return self._store.pragma(name)

    def close(self) -> None:
        """Commit everything buffered, stop the writer, close the files. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._wake_writer.notify()
        self._writer.join()
        with self._db_lock:
            self._store.close()
            self._closed = True
        if self._jsonl is not None:
            self._jsonl.close()
        if self._error is not None:
            raise JournalWriteError(f"journal {self.path}: the writer failed") from self._error

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                idle = self._batch_delay if self._batch_delay >= _POLL_FLOOR else None
                while not self._buffer and not self._closing:
                    self._wake_writer.wait(idle)  # polls: the first record of a batch does not wake it
                if not self._buffer:
                    return  # closing, and everything is written
                deadline = self._first_pending_at + self._batch_delay
                while not (self._closing or self._urgent > self._committed or len(self._buffer) >= self._max_batch):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake_writer.wait(remaining)
                batch, self._buffer = self._buffer, []
            try:
                rows = [to_row(seq, kind, mono, wall, payload, meta=meta)
                        for seq, kind, mono, wall, payload, meta in batch]
                with self._db_lock:
                    self._store.insert(rows)
            except BaseException as exc:
                with self._lock:
                    self._error = exc
                    self._committed_cond.notify_all()
                return
            with self._lock:
                self._committed = batch[-1][0]
                self._committed_cond.notify_all()
            if self._jsonl is not None:
                self._jsonl.emit(rows)

