"""What opening finds and does: schema versions, torn JSONL tails, tampered rows, broken files, a
process killed mid-stream, and the loguru sink living beside other sinks."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from journal_values import execution
from loguru import logger

from supervisor import journal_store
from supervisor.journal import (
    ChecksumFailure,
    Journal,
    JournalCorruptError,
    JournalError,
    JournalVersionError,
    SeqGap,
)


def write(path: Path, n: int, jsonl: Path | None = None) -> None:
    with Journal.open(path, jsonl_path=jsonl) as journal:
        for i in range(n):
            journal.append("broker_event", execution(i))


def sql(path: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(statement, args)
    finally:
        conn.close()


# -- schema version ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2", "schema v2 was written by a newer order-supervisor"),
        ("0", "unknown journal schema version 0"),
        ("abc", "unknown journal schema version 'abc'"),
    ],
)
def test_a_newer_or_unknown_schema_version_is_refused(tmp_path: Path, version: str, message: str) -> None:
    path = tmp_path / "j.sqlite"
    write(path, 1)
    sql(path, "UPDATE meta SET value = ? WHERE key = 'schema_version'", version)
    with pytest.raises(JournalVersionError, match=message):
        Journal.open(path)


def test_an_older_version_is_migrated_step_by_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.sqlite"
    write(path, 3)
    # pretend this build reads v2 and knows how to get there from v1
    monkeypatch.setattr(journal_store, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(journal_store.MIGRATIONS, 1, lambda conn: conn.execute("CREATE TABLE added_in_v2 (x)"))
    with Journal.open(path) as journal:
        assert (journal.report.migrated_from, journal.report.schema_version, journal.report.records) == (1, 2, 3)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    assert conn.execute("SELECT count(*) FROM added_in_v2").fetchone() == (0,)
    conn.close()


def test_an_older_version_without_a_migration_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.sqlite"
    write(path, 1)
    monkeypatch.setattr(journal_store, "SCHEMA_VERSION", 2)
    with pytest.raises(JournalVersionError, match="older than v2 and there is no migration from v1"):
        Journal.open(path)


# -- the database file -------------------------------------------------------------------------


def test_a_row_changed_behind_the_journal_is_reported_and_it_and_its_tail_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write(path, 10)
    sql(path, "UPDATE records SET payload = replace(payload, '\"qty\":6,', '\"qty\":60,') WHERE seq = 6")
    with Journal.open(path) as journal:
        report = journal.report
        assert not report.clean
        assert report.checksum_failure == ChecksumFailure(seq=6, quarantined=5)
        assert (report.records, report.last_seq) == (5, 5)
        assert "checksum failed at seq 6: 5 record(s) quarantined" in report.summary()
        assert [r.value for r in journal.records()] == [execution(i) for i in range(5)]
        assert journal.append("broker_event", execution(99)) == 6  # the journal goes on from the good prefix
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT seq FROM quarantine ORDER BY qid")] == [6, 7, 8, 9, 10]
    conn.close()


def test_a_row_changed_while_open_is_never_silently_read(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as journal:
        for i in range(4):
            journal.append("broker_event", execution(i))
        journal.flush()
        sql(path, "UPDATE records SET wall = wall + 1 WHERE seq = 3")
        with pytest.raises(JournalCorruptError, match="record seq 3 fails its checksum"):
            list(journal.records())


def test_a_gap_in_the_seqs_is_reported_and_the_records_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write(path, 10)
    sql(path, "DELETE FROM records WHERE seq IN (4, 5)")
    with Journal.open(path) as journal:
        assert journal.report.gaps == (SeqGap(after=3, next=6),)
        assert (journal.report.records, journal.report.last_seq) == (8, 10)
        assert journal.append("broker_event", execution(10)) == 11


def test_a_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"not a database, just bytes\n" * 500)
    with pytest.raises(JournalCorruptError, match="not a readable journal database"):
        Journal.open(path)


def test_a_truncated_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write(path, 3000)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)
    with pytest.raises(JournalCorruptError):
        Journal.open(path)


def test_a_database_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    sql(path, "CREATE TABLE prices (x)")
    with pytest.raises(JournalError, match="is not an order-supervisor journal"):
        Journal.open(path)


# -- the JSONL stream --------------------------------------------------------------------------


def test_a_torn_jsonl_tail_is_reported_and_truncated(tmp_path: Path) -> None:
    db, jsonl = tmp_path / "j.sqlite", tmp_path / "j.jsonl"
    write(db, 5, jsonl)
    intact = jsonl.read_bytes()
    with jsonl.open("ab") as f:
        f.write(b'{"seq":6,"kind":"broker_ev')  # the process died mid-line
    with Journal.open(db, jsonl_path=jsonl) as journal:
        tail = journal.report.jsonl_tail
        assert tail is not None
        assert (tail.line_number, tail.byte_offset, tail.dropped_lines) == (6, len(intact), 1)
        assert tail.excerpt.startswith('{"seq":6')
        assert "torn at line 6" in journal.report.summary()
        assert jsonl.read_bytes() == intact  # everything before the torn line kept
        journal.append("broker_event", execution(5))
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]


def test_garbage_over_several_tail_lines_is_cut_back_to_the_last_valid_line(tmp_path: Path) -> None:
    db, jsonl = tmp_path / "j.sqlite", tmp_path / "j.jsonl"
    write(db, 5, jsonl)
    intact = jsonl.read_bytes()
    with jsonl.open("ab") as f:
        f.write(b"\x00\x00\x00\n{not json}\n\xff\xfe")  # what a power loss can leave
    with Journal.open(db, jsonl_path=jsonl) as journal:
        tail = journal.report.jsonl_tail
        assert tail is not None
        assert (tail.line_number, tail.byte_offset, tail.dropped_lines) == (6, len(intact), 3)
    assert jsonl.read_bytes() == intact


def test_a_jsonl_stream_behind_the_database_is_caught_up(tmp_path: Path) -> None:
    db, jsonl = tmp_path / "j.sqlite", tmp_path / "j.jsonl"
    write(db, 5, jsonl)
    lines = jsonl.read_text().splitlines(keepends=True)
    jsonl.write_text("".join(lines[:3])[:-1])  # lost two lines and the last newline
    with Journal.open(db, jsonl_path=jsonl) as journal:
        assert (journal.report.jsonl_tail, journal.report.jsonl_backfilled) == (None, 2)
    assert jsonl.read_text().splitlines(keepends=True) == lines


def test_each_jsonl_line_carries_the_record_and_its_index_fields(tmp_path: Path) -> None:
    db, jsonl = tmp_path / "j.sqlite", tmp_path / "j.jsonl"
    write(db, 1, jsonl)
    (line,) = (json.loads(text) for text in jsonl.read_text().splitlines())
    assert {k: line[k] for k in ("seq", "kind", "type", "trade_id", "leg", "order_ref", "order_id")} == {
        "seq": 1,
        "kind": "broker_event",
        "type": "ExecutionReported",
        "trade_id": "T1",
        "leg": "entry",
        "order_ref": "T1:entry",
        "order_id": 100,
    }
    assert line["payload"]["exec_id"] == execution(0).exec_id
    assert line["time"].endswith("+00:00")


def test_the_journal_sink_leaves_other_loguru_sinks_alone(tmp_path: Path) -> None:
    debug_lines: list[str] = []
    trace_extras: list[dict[str, object]] = []
    debug_id = logger.add(debug_lines.append, level="DEBUG", format="{message}")
    trace_id = logger.add(lambda m: trace_extras.append(dict(m.record["extra"])), level="TRACE", format="{message}")
    try:
        journal = Journal.open(tmp_path / "j.sqlite", jsonl_path=tmp_path / "j.jsonl")
        assert journal._jsonl is not None
        handler_id = journal._jsonl._handler_id
        journal.append("broker_event", execution(3))
        journal.close()
        with pytest.raises(ValueError, match="no existing handler"):
            logger.remove(handler_id)  # closing removed the journal's handler, and only it
        logger.debug("still here")
        assert debug_lines == ["still here\n"]  # the records stay below DEBUG
        (extra,) = [e for e in trace_extras if "journal_stream" in e]
        assert {k: extra[k] for k in ("seq", "kind", "trade_id", "leg", "order_ref", "order_id")} == {
            "seq": 1,
            "kind": "broker_event",
            "trade_id": "T1",
            "leg": "entry",
            "order_ref": "T1:entry",
            "order_id": 103,
        }
        assert len((tmp_path / "j.jsonl").read_text().splitlines()) == 1  # the journal's sink saw no other line
    finally:
        logger.remove(debug_id)
        logger.remove(trace_id)


# -- a process killed mid-stream ---------------------------------------------------------------

CHILD = """
import sys
from supervisor.journal import Journal
sys.path.insert(0, sys.argv[3])
from journal_values import execution
with Journal.open(sys.argv[1], fsync="always", jsonl_path=sys.argv[2]) as journal:
    i = 0
    while True:
        seq = journal.append("broker_event", execution(i))
        print(seq, flush=True)
        i += 1
"""


@pytest.mark.slow
def test_a_journal_killed_mid_stream_reopens_with_a_gap_free_prefix(tmp_path: Path) -> None:
    db, jsonl = tmp_path / "j.sqlite", tmp_path / "j.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(jsonl), str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acknowledged = 0
    timer = threading.Timer(60.0, child.kill)  # a guard, not a timing: the loop ends on the 300th line
    timer.start()
    try:
        for line in child.stdout:
            acknowledged = int(line)
            if acknowledged >= 300:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        timer.cancel()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert acknowledged >= 300
    with Journal.open(db, jsonl_path=jsonl) as journal:
        report = journal.report
        assert report.gaps == ()
        assert report.checksum_failure is None
        assert report.last_seq >= acknowledged  # fsync="always": every acknowledged append is there
        records = list(journal.records())
    assert [r.seq for r in records] == list(range(1, report.last_seq + 1))
    assert [r.value for r in records] == [execution(i) for i in range(report.last_seq)]
    seqs = [json.loads(text)["seq"] for text in jsonl.read_text().splitlines()]
    assert seqs == list(range(1, report.last_seq + 1))  # repaired and caught up
