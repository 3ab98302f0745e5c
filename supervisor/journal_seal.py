"""Seals: a closed trade's history checked as one block, so opening a journal need not read it.

Why: opening used to read and checksum every row (about 140 a closed trade), so a journal of
10,000 closed trades spent most of its restart reading history that a restart never replays (a
closed trade comes back from its checkpoint). Now a trade's newest checkpoint is sealed: when the
writer commits a checkpoint row it records, in the same transaction, in the `seals` table, how many
non-checkpoint rows of that trade come before it and the sum of their row checksums (`crc`
column). Those rows are the trade's sealed block.

How opening uses it (`fast_scan`): SQL counts the rows and finds the first and last seq (a gap
sends the open to the full scan, which names it), then one aggregate pass in SQLite gives, per
trade, its newest checkpoint and the count and crc sum of its non-checkpoint rows. Every row
outside the sealed blocks (rows of no trade, of trades with no checkpoint, after a trade's newest
checkpoint, and every checkpoint row) is read and its checksum verified, as before; each sealed
block is checked against its seal (count and crc sum, from the aggregate less the unsealed rows).
A row moved into or out of a block (its trade_id, kind or seq changed), deleted, or replaced,
changes its block's figures. Anything unusual (a gap, a failed checksum, a trade whose newest
checkpoint has no seal or a seal that disagrees) and `fast_scan` returns None: the full scan
(`journal_store._scan`) then reads every row in seq order as it always did, quarantines the tail
from the first bad row, and seals every newest checkpoint again (so a journal written before seals
existed, or by a build without them, is fully checked once and sealed).

What is verified later: a sealed row's contents are not hashed at open. A row changed in place
(its crc left as it was) is found when it is read: every read (`read_rows`, `read_rows_at`,
`read_restore_rows`, `Journal.records`, `Journal.verify`) checks each row's checksum and names its seq.
Replaying never reads a sealed row (its checkpoint stands for it).

The `seals` table is additive: a build without it ignores it, and this one creates it on open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence

SEALS_TABLE = """CREATE TABLE IF NOT EXISTS seals (
    seq      INTEGER PRIMARY KEY,  -- the checkpoint row's seq
    trade_id TEXT    NOT NULL,
    rows     INTEGER NOT NULL,     -- the trade's non-checkpoint rows before it
    crc_sum  INTEGER NOT NULL      -- the sum of their crc column
)"""

_BLOCK = ("SELECT COUNT(*), COALESCE(SUM(crc), 0) FROM records "
          "WHERE trade_id = ? AND seq < ? AND kind != 'checkpoint'")
_NEWEST = "SELECT trade_id, MAX(seq) FROM records WHERE kind = 'checkpoint' AND trade_id IS NOT NULL GROUP BY trade_id"
_PER_TRADE = """SELECT trade_id, MAX(CASE WHEN kind = 'checkpoint' THEN seq END), SUM(kind = 'checkpoint'),
       SUM(kind != 'checkpoint'), COALESCE(SUM(CASE WHEN kind != 'checkpoint' THEN crc END), 0)
    FROM records WHERE trade_id IS NOT NULL GROUP BY trade_id"""


def seal(conn: sqlite3.Connection, checkpoints: Iterable[tuple[int, str]]) -> None:
    """Seal these checkpoints (seq, trade_id) from the rows now in the table; inside the caller's
    transaction (the writer's, right after it inserted them)."""
    for seq, trade_id in checkpoints:
        rows, crc_sum = conn.execute(_BLOCK, (trade_id, seq)).fetchone()
        conn.execute("INSERT OR REPLACE INTO seals (seq, trade_id, rows, crc_sum) VALUES (?, ?, ?, ?)",
                     (seq, trade_id, rows, crc_sum))


def seal_newest(conn: sqlite3.Connection) -> None:
    """Seal every trade's newest checkpoint (after the full scan verified every row), in one
    transaction; seals of checkpoints no longer in the table are dropped."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM seals WHERE seq NOT IN (SELECT seq FROM records WHERE kind = 'checkpoint')")
        seal(conn, [(seq, trade_id) for trade_id, seq in conn.execute(_NEWEST).fetchall()])
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


Row = tuple[int, str, int, float, str | None, str | None, str | None, int | None, str | None, str, int]


def fast_scan(conn: sqlite3.Connection, columns: str, intact: Callable[[Row], bool], inputs: frozenset[str]
              ) -> tuple[int, int, list[int]] | None:
    """(records, last seq, the seqs a restart replays) when every check above passes; None when
    the full scan must decide. `intact` is the row checksum test, `inputs` the kinds replayed."""
    count, first, last = conn.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM records").fetchone()
    if count == 0:
        return 0, 0, []
    if first != 1 or last != count:
        return None  # a gap: the full scan reports where
    seals = {seq: (trade_id, rows, crc_sum)
             for seq, trade_id, rows, crc_sum in conn.execute("SELECT seq, trade_id, rows, crc_sum FROM seals")}
    unsealed: list[Row] = list(conn.execute(f"SELECT {columns} FROM records WHERE trade_id IS NULL"))
    expected: dict[str, tuple[int, int, int]] = {}  # trade -> its newest checkpoint, block rows and crc sum
    after = f"SELECT {columns} FROM records WHERE trade_id = ? AND seq >= ?"
    older = f"SELECT {columns} FROM records WHERE trade_id = ? AND seq < ? AND kind = 'checkpoint'"
    whole = f"SELECT {columns} FROM records WHERE trade_id = ?"
    for trade_id, newest, checkpoints, total_rows, total_crc in conn.execute(_PER_TRADE).fetchall():
        if newest is None:
            unsealed += conn.execute(whole, (trade_id,))
            continue
        found = seals.get(newest)
        if found is None or found[0] != trade_id:
            return None  # not sealed (written before seals, or by a build without them)
        tail = conn.execute(after, (trade_id, newest)).fetchall()
        rows, crc_sum = total_rows, total_crc  # less the rows after the checkpoint: the block
        for row in tail:
            if row[1] != "checkpoint":
                rows, crc_sum = rows - 1, crc_sum - row[10]
        if (rows, crc_sum) != found[1:]:
            return None  # the block is not what was sealed
        unsealed += tail
        if checkpoints > 1:
            unsealed += conn.execute(older, (trade_id, newest))
        expected[trade_id] = newest, rows, crc_sum
    unsealed.sort()
    if not all(map(intact, unsealed)):
        return None
    return count, last, _restore_seqs(unsealed, expected, inputs)


def _restore_seqs(rows: Sequence[Row], sealed: dict[str, tuple[int, int, int]], inputs: frozenset[str]) -> list[int]:
    """Exactly what the full scan notes: inputs of no trade and of trades with no checkpoint, a
    trade's inputs after its newest checkpoint, and that checkpoint."""
    restore = []
    for row in rows:
        seq, kind, trade_id = row[0], row[1], row[4]
        newest = None if trade_id is None else sealed.get(trade_id)
        if kind in inputs:
            if newest is None or seq > newest[0]:
                restore.append(seq)
        elif kind == "checkpoint" and newest is not None and seq == newest[0]:
            restore.append(seq)
    return restore
