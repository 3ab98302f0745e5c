"""The journal: what an append costs its caller, and what a restart pays to replay closed trades.

- `journal_append`: `Journal.append("broker_event", ExecutionReported)` under the default fsync
  policy ("batch"), each append a sample: what the order path pays to journal an event (encoding
  and buffering; the commit happens on the writer thread).
- `journal_replay`: a restart over a journal of N closed ladder trades: `JournalRecorder.open`
  (the file's integrity checks, reading what must be replayed, `Supervisor.restore`), every trade
  restored closed. The journal is made from one real trade: a `JournalRecorder` records its whole
  conversation with the scripted exchange (arm, trigger, the entry sent, acknowledged and filled,
  six exits, three take-profits filled, stops repriced, cancels; its checkpoint once closed); its
  rows are then copied N times with new trade ids, execution ids, order ids, times and checksums,
  straight into the SQLite file (writing 10,000 trades through the supervisor would take minutes).
  Budget: 10 s for 10,000 trades; a run over fewer trades is held to the same rate and says so.
  The copies are sealed as the journal's writer seals each checkpoint (journal_seal), and their
  checkpoints are packed as the recorder writes them. Where the time goes: `PRAGMA quick_check`,
  the open's checks (SQL aggregates over the closed trades' sealed histories, and every row a
  restart may read verified row by row: the checkpoints and the inputs of no trade), then per
  closed trade one packed checkpoint read, decoded and loaded (`Supervisor.load_checkpoint`),
  and the inputs of no trade (commission reports, ticks), replayed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from broker.bench.figures import Figure, timed
from broker.bench.script import Exchange, StepClock, protect, take_profits
from supervisor import codec
from supervisor.checkpoint import PackedCheckpoint, stored
from supervisor.journal import Journal
from supervisor.journal_record import _to_json
from supervisor.journal_recorder import JournalRecorder
from supervisor.journal_seal import seal_newest
from supervisor.journal_store import COLUMNS, Row, checksum, read_rows
from supervisor.port import Action, ExecutionReported

TEMPLATE = "R0000001"
EXEC_PREFIX = "E0000001"
_ORDER_ID = re.compile(r'"order_id":(\d+)')


def journal_append(n: int) -> Figure:
    values = [ExecutionReported(f"J{i % 50:03d}:tp1", i, f"0001f4e8.{i:08d}.01.01", Action.SELL, 1, 101.5,
                                1_710_426_600.0 + i, "SIM") for i in range(n)]
    samples: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as folder:
        journal = Journal.open(Path(folder) / "append.journal.sqlite")
        try:
            for value in values:
                started = time.perf_counter_ns()
                journal.append("broker_event", value)
                samples.append(time.perf_counter_ns() - started)
        finally:
            journal.close()
    return timed("journal_append", samples, budget="none in issue 10 (buffered; committed off the path)")


def _template(folder: Path) -> list[Row]:
    """Every row one closed ladder trade leaves in a journal."""
    path = folder / "template.journal.sqlite"
    clock = StepClock()
    recorder = JournalRecorder.open(path, clock, fsync="off")
    exchange = Exchange(recorder, clock, exec_prefix=EXEC_PREFIX)
    protect(recorder, exchange, TEMPLATE)
    take_profits(recorder, exchange, TEMPLATE)
    state = recorder.trade(TEMPLATE).state
    recorder.close()
    if state != "closed":
        raise RuntimeError(f"journal_replay: the template trade ended {state}, not closed")
    rows = list(read_rows(path))
    if not any(row[1] == "checkpoint" for row in rows):
        raise RuntimeError("journal_replay: the closed template trade left no checkpoint")
    return rows


def _copies(rows: list[Row], trades: int) -> Iterator[Row]:
    span_ns = rows[-1][2] - rows[0][2] + 1_000_000
    span_wall = rows[-1][3] - rows[0][3] + 1.0
    orders = max((row[7] or 0 for row in rows), default=0) + 1
    seq = 0
    for k in range(trades):
        trade_id, prefix = f"R{k + 1:07d}", f"E{k + 1:07d}"
        for row in rows:
            seq += 1
            _, kind, mono_ns, wall, tid, leg, ref, oid, type_, text, _ = row
            packed = type_ == "PackedCheckpoint"
            if packed:  # its order ids are positional: renumber them in the tagged form
                text = _to_json(codec.encode(stored(codec.decode(json.loads(text)))))
            text = text.replace(TEMPLATE, trade_id).replace(EXEC_PREFIX, prefix)
            text = _ORDER_ID.sub(_shifted(k * orders), text)
            if packed:
                text = _to_json(codec.encode(PackedCheckpoint.of(codec.decode(json.loads(text)))))
            head = (seq, kind, mono_ns + k * span_ns, wall + k * span_wall,
                    None if tid is None else tid.replace(TEMPLATE, trade_id), leg,
                    None if ref is None else ref.replace(TEMPLATE, trade_id),
                    None if oid is None else oid + k * orders, type_)
            yield (*head, text, checksum(head, text))


def _shifted(by: int) -> Callable[[re.Match[str]], str]:
    def shift(match: re.Match[str]) -> str:
        return f'"order_id":{int(match.group(1)) + by}'

    return shift


def write_journal(path: Path, trades: int) -> int:
    """A journal of `trades` closed ladder trades at `path`; returns its record count."""
    with tempfile.TemporaryDirectory(prefix="bench-template-") as folder:
        rows = _template(Path(folder))
    Journal.open(path).close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", _copies(rows, trades))
        conn.execute("COMMIT")
        seal_newest(conn)  # as the journal's writer seals each checkpoint it commits
    finally:
        conn.close()
    return len(rows) * trades


def journal_replay(trades: int, runs: int) -> Figure:
    samples: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
        path = Path(folder) / "replay.journal.sqlite"
        records = write_journal(path, trades)
        for _ in range(runs):
            started = time.perf_counter_ns()
            recorder = JournalRecorder.open(path, time.time)
            elapsed = time.perf_counter_ns() - started
            closed = sum(1 for t in recorder.trades() if t.state == "closed")
            recorder.close()
            if closed != trades:
                raise RuntimeError(f"journal_replay: {closed} of {trades} trades restored closed")
            samples.append(elapsed)
    limit_s = 10.0 * trades / 10_000
    figure = timed("journal_replay", samples, budget=f"<= 10 s for 10,000 closed trades ({limit_s:g} s for "
                   f"{trades:,})", limit_median_us=limit_s * 1e6,
                   reason="per closed trade, its packed checkpoint decoded (about 0.3 ms) and loaded (0.1 ms), "
                   "and its commission reports replayed; then quick_check and the sealed-block checks of the open",
                   details={"trades": trades, "records": records})
    seconds_per_10k = figure.median_us / 1e6 * 10_000 / trades if figure.median_us is not None else None
    return attrs.evolve(figure, value=seconds_per_10k, unit="s per 10,000 trades")
