"""The journal's SQLite file: schema, version check, integrity checks on open, batched inserts.

How it works: one file per account holds a `meta` table (`schema_version`, written once), a
`records` table keyed by `seq`, and a `seals` table (journal_seal). Each row carries its own CRC-32
over every column (`checksum`), so a row altered behind the journal's back is caught on open or on
read. Opening runs, in order: `PRAGMA quick_check` (a garbage or truncated file is refused with
`JournalCorruptError`), the schema version check (newer or unknown: `JournalVersionError`; older:
migrated step by step or refused), WAL mode and the caller's `synchronous` level, then the row
checks. The fast path (`journal_seal.fast_scan`) verifies every row a restart may read (rows of no
trade, of open trades, after a trade's newest checkpoint, every checkpoint) row by row, and each
closed trade's history before its newest checkpoint as one sealed block (its row count and crc
sum, kept since the checkpoint was written): a closed trade's history is not read at open, and its
rows are verified when they are read. Anything unusual sends the open to the full scan: every row
in seq order, the first row whose checksum fails starts the corrupted tail, which is moved (with
every row after it) into a `quarantine` table, never silently used and never destroyed; gaps in
`seq` are reported and kept; then every newest checkpoint is sealed again. Either way the open
notes which rows a restart replays (`Store.restore_seqs`: the inputs, except those of a trade
recorded before its newest checkpoint, and that checkpoint), so `read_rows_at` then fetches only
those, by primary key, instead of a second scan of the whole table.

Only the journal's writer thread writes, through `insert` (one transaction per batch, which also
seals the checkpoints in it); readers open their own connection (`read_rows`), which WAL lets run
beside the writer.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

import attrs

from supervisor import journal_seal

SCHEMA_VERSION = 1

# (seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, type, payload JSON, crc)
Row = tuple[int, str, int, float, str | None, str | None, str | None, int | None, str | None, str, int]
COLUMNS = "seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, type, payload, crc"

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    seq      INTEGER PRIMARY KEY,  -- 1, 2, 3, ... in append order
    kind     TEXT    NOT NULL,     -- broker_event | command | supervisor_event | meta
    mono_ns  INTEGER NOT NULL,     -- monotonic clock, nanoseconds
    wall     REAL    NOT NULL,     -- wall clock, seconds since the epoch (UTC)
    trade_id TEXT, leg TEXT, order_ref TEXT, order_id INTEGER,  -- lifted from the payload
    type     TEXT,                 -- the payload's codec type name (NULL for meta)
    payload  TEXT    NOT NULL,     -- the codec dict (or the meta dict) as JSON
    crc      INTEGER NOT NULL      -- CRC-32 of all the columns above, see checksum()
);
CREATE INDEX records_by_trade ON records (trade_id, seq);
CREATE INDEX records_by_order_ref ON records (order_ref, seq);
CREATE TABLE quarantine (
    qid INTEGER PRIMARY KEY, seq INTEGER, kind TEXT, mono_ns INTEGER, wall REAL, trade_id TEXT, leg TEXT,
    order_ref TEXT, order_id INTEGER, type TEXT, payload TEXT, crc INTEGER, reason TEXT NOT NULL
);
"""

# version -> the step that migrates a file from it to version + 1 (none yet: there is only v1)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


class JournalError(Exception):
    """Base of the journal's errors."""


class JournalCorruptError(JournalError):
    """The file is not a readable journal (garbage, truncated, or a row fails its checksum on read)."""


class JournalVersionError(JournalError):
    """The file's schema version is newer than this code, unknown, or older with no migration."""


@attrs.frozen
class SeqGap:
    after: int  # the last seq present before the gap
    next: int  # the first seq present after it


@attrs.frozen
class ChecksumFailure:
    seq: int  # the first row whose checksum failed: it and every later row were quarantined
    quarantined: int


@attrs.frozen
class StoreFindings:
    created: bool
    schema_version: int
    migrated_from: int | None
    quick_check: tuple[str, ...]
    records: int
    last_seq: int
    gaps: tuple[SeqGap, ...]
    checksum_failure: ChecksumFailure | None


def checksum(head: tuple[object, ...], payload: str) -> int:
    """CRC-32 of a row's columns: `head` is seq .. type (in COLUMNS order), then the payload JSON."""
    text = "\x1f".join(map(str, head))  # str(float) is its shortest round-trip repr
    return zlib.crc32(payload.encode(), zlib.crc32(text.encode()))


def row_is_intact(row: Row) -> bool:
    """`checksum(row[:9], row[9]) == row[10]`, spelled out: every row of a journal goes through it
    when the journal is opened."""
    seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, type_, payload, crc = row
    head = f"{seq}\x1f{kind}\x1f{mono_ns}\x1f{wall}\x1f{trade_id}\x1f{leg}\x1f{order_ref}\x1f{order_id}\x1f{type_}"
    return zlib.crc32(payload.encode(), zlib.crc32(head.encode())) == crc


def connect(path: Path) -> sqlite3.Connection:
    # autocommit (isolation_level=None): transactions are the explicit BEGIN/COMMIT below
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


class Store:
    """The writing connection. Not thread-safe by itself: the journal serializes every call."""

    def __init__(self, conn: sqlite3.Connection, path: Path, findings: StoreFindings,
                 restore_seqs: list[int] | None = None) -> None:
        self._conn = conn
        self.path = path
        self.findings = findings
        # what a restart replays, noted by the scan on open (in seq order); None when not known
        self.restore_seqs = restore_seqs

    @classmethod
    def open(cls, path: Path, synchronous: str) -> Store:
        conn = connect(path)
        try:
            findings, restore_seqs = _prepare(conn, path, synchronous)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise JournalCorruptError(f"{path}: not a readable journal database ({exc})") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, findings, restore_seqs)

    def insert(self, rows: Sequence[Row]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            journal_seal.seal(conn, [(row[0], row[4]) for row in rows if row[1] == "checkpoint" and row[4] is not None])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def pragma(self, name: str) -> object:
        if not name.replace("_", "").isalpha():
            raise ValueError(f"not a pragma name: {name!r}")
        row = self._conn.execute(f"PRAGMA {name}").fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self._conn.close()


def read_restore_rows(path: Path) -> Iterator[Row]:
    """The inputs a restart replays (broker events, calls), skipping a trade's inputs up to its
    newest checkpoint, and that checkpoint; in seq order, checksums verified."""
    query = f"""
        WITH newest AS (SELECT trade_id, MAX(seq) AS seq FROM records WHERE kind = 'checkpoint' GROUP BY trade_id)
        SELECT {', '.join('r.' + c.strip() for c in COLUMNS.split(','))} FROM records r
        LEFT JOIN newest ON r.trade_id = newest.trade_id
        WHERE (r.kind IN ('broker_event', 'meta') AND (newest.seq IS NULL OR r.seq > newest.seq))
           OR (r.kind = 'checkpoint' AND r.seq = newest.seq)
        ORDER BY r.seq"""
    conn = connect(path)
    try:
        yield from _verified(path, conn.execute(query))
    finally:
        conn.close()


def read_rows_at(path: Path, seqs: Sequence[int]) -> Iterator[Row]:
    """The rows of `seqs` (ascending), by primary key, in that order; checksums verified (a row
    changed since it was scanned is never silently read)."""
    conn = connect(path)
    try:
        for start in range(0, len(seqs), _CHUNK):
            chunk = seqs[start:start + _CHUNK]
            yield from _verified(path, conn.execute(
                f"SELECT {COLUMNS} FROM records WHERE seq IN ({', '.join('?' * len(chunk))}) ORDER BY seq", chunk))
    finally:
        conn.close()


_CHUNK = 900  # seqs per query: well under SQLite's bound on parameters


def _verified(path: Path, cursor: sqlite3.Cursor) -> Iterator[Row]:
    """The cursor's rows, each checksum verified: a row changed since it was written is never read."""
    while batch := cursor.fetchmany(1024):
        for row in batch:
            if not row_is_intact(row):
                raise JournalCorruptError(
                    f"{path}: record seq {row[0]} fails its checksum (changed after it was written); "
                    "reopen the journal to quarantine it and everything after it"
                )
            yield row


def read_rows(
    path: Path, after_seq: int = 0, *, verify: bool = True, kinds: Collection[str] | None = None
) -> Iterator[Row]:
    """Rows with seq > after_seq in order (only of `kinds`, when given), from a connection of their
    own; a failed checksum raises."""
    conn = connect(path)
    try:
        where = "seq > ?"
        params: list[object] = [after_seq]
        if kinds is not None:
            where += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            params += list(kinds)
        cursor = conn.execute(f"SELECT {COLUMNS} FROM records WHERE {where} ORDER BY seq", params)
        while batch := cursor.fetchmany(1024):
            for row in batch:
                if verify and not row_is_intact(row):
                    raise JournalCorruptError(
                        f"{path}: record seq {row[0]} fails its checksum (changed after it was written); "
                        "reopen the journal to quarantine it and everything after it"
                    )
                yield row
    finally:
        conn.close()


def _prepare(conn: sqlite3.Connection, path: Path, synchronous: str) -> tuple[StoreFindings, list[int]]:
    problems = tuple(str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall())
    if problems != ("ok",):
        raise JournalCorruptError(f"{path}: PRAGMA quick_check found damage: {'; '.join(problems[:5])}")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    created, migrated_from = False, None
    if not tables:
        conn.executescript(f"BEGIN; {_SCHEMA_V1} INSERT INTO meta VALUES ('schema_version', '1'); COMMIT;")
        created = True
    elif "meta" not in tables or "records" not in tables:
        raise JournalError(f"{path}: has tables {sorted(tables)} but is not an order-supervisor journal")
    else:
        migrated_from = _check_version(conn, path)
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise JournalError(f"{path}: could not switch to WAL mode (journal_mode is {mode!r})")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(journal_seal.SEALS_TABLE)
    fast = journal_seal.fast_scan(conn, COLUMNS, row_is_intact, _INPUTS)
    if fast is not None:
        records, last, restore = fast
        return StoreFindings(created, SCHEMA_VERSION, migrated_from, problems, records, last, (), None), restore
    records, last, gaps, failure, restore = _scan(conn)
    journal_seal.seal_newest(conn)  # every row before the quarantined tail was verified: seal them
    return StoreFindings(created, SCHEMA_VERSION, migrated_from, problems, records, last, gaps, failure), restore


def _check_version(conn: sqlite3.Connection, path: Path) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    raw = None if row is None else row[0]
    try:
        version = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise JournalVersionError(f"{path}: unknown journal schema version {raw!r}") from None
    if version == SCHEMA_VERSION:
        return None
    if version > SCHEMA_VERSION:
        raise JournalVersionError(
            f"{path}: journal schema v{version} was written by a newer order-supervisor; "
            f"this one reads up to v{SCHEMA_VERSION}. Upgrade order-supervisor to open it."
        )
    if version < 1:
        raise JournalVersionError(f"{path}: unknown journal schema version {version}")
    missing = [v for v in range(version, SCHEMA_VERSION) if v not in MIGRATIONS]
    if missing:
        raise JournalVersionError(
            f"{path}: journal schema v{version} is older than v{SCHEMA_VERSION} and there is no migration "
            f"from v{missing[0]}; open it with the order-supervisor release that wrote it and export it"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](conn)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return version


_INPUTS = frozenset(("broker_event", "meta"))


def _scan(conn: sqlite3.Connection) -> tuple[int, int, tuple[SeqGap, ...], ChecksumFailure | None, list[int]]:
    """Every row once, in seq order: its checksum, the gaps, and what a restart replays (the seqs
    `read_restore_rows` selects: inputs of trades with no checkpoint and of no trade, a trade's
    inputs after its newest checkpoint, and that checkpoint). The scan stops at the first row whose
    checksum fails, so what it noted is exactly what remains once the tail is quarantined."""
    count, last, gaps, bad = 0, 0, [], None
    loose: list[int] = []  # inputs of no trade (a commission report, a tick)
    since: dict[str, list[int]] = {}  # trade -> its inputs after its newest checkpoint so far
    newest: dict[str, int] = {}  # trade -> its newest checkpoint so far
    inputs, intact = _INPUTS, row_is_intact
    cursor = conn.execute(f"SELECT {COLUMNS} FROM records ORDER BY seq")
    while batch := cursor.fetchmany(1024):
        for row in batch:
            seq = row[0]
            if not intact(row):
                bad = seq
                break
            if seq != last + 1:
                gaps.append(SeqGap(last, seq))
            count, last = count + 1, seq
            kind, trade_id = row[1], row[4]
            if kind in inputs:
                if trade_id is None:
                    loose.append(seq)
                else:
                    since.setdefault(trade_id, []).append(seq)
            elif kind == "checkpoint" and trade_id is not None:
                newest[trade_id] = seq
                since[trade_id] = []
        if bad is not None:
            break
    cursor.close()
    restore = [*loose, *newest.values()]
    for seqs in since.values():
        restore += seqs
    restore.sort()
    failure = None
    if bad is not None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            f"INSERT INTO quarantine ({COLUMNS}, reason) SELECT {COLUMNS}, ? FROM records WHERE seq >= ? ORDER BY seq",
            (f"checksum of seq {bad} failed: tail from it quarantined", bad),
        )
        moved = conn.execute("DELETE FROM records WHERE seq >= ?", (bad,)).rowcount
        conn.execute("COMMIT")
        failure = ChecksumFailure(bad, moved)
    return count, last, tuple(gaps), failure, restore
