"""Appending, reading back, seq numbering, the fsync policies and the writer thread."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from journal_values import execution, mixed

from supervisor import codec, events, port
from supervisor.journal import (
    Journal,
    JournalClosedError,
    JournalError,
    JournalWriteError,
    Record,
    journal_path,
)


def count_rows(path: Path) -> int:
    """How many records another process (a fresh connection) sees committed."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
    finally:
        conn.close()


def test_append_returns_increasing_seqs_and_records_read_back_decoded(tmp_path: Path) -> None:
    appended = [mixed(i) for i in range(40)]
    with Journal.open(tmp_path / "j.sqlite") as journal:
        seqs = [journal.append(kind, value) for kind, value in appended]  # type: ignore[arg-type]
        assert seqs == list(range(1, 41))
        assert journal.last_seq == 40
        records = list(journal.records())
    assert [(r.kind, r.value) for r in records] == appended
    assert [r.seq for r in records] == seqs
    assert all(r.payload == (r.value if r.kind == "meta" else codec.encode(r.value)) for r in records)


def test_records_after_a_seq_and_reading_after_close(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite") as journal:
        for i in range(10):
            journal.append("broker_event", execution(i))
    assert [r.seq for r in journal.records(after_seq=7)] == [8, 9, 10]


def test_each_record_carries_both_clocks_and_its_index_fields(tmp_path: Path) -> None:
    mono = itertools.count(1_000, 10)
    wall = itertools.count(1_700_000_000)
    with Journal.open(tmp_path / "j.sqlite", clock_mono=lambda: next(mono), clock_wall=lambda: float(next(wall))) as j:
        j.append("broker_event", execution(1, trade="T7", leg="tp2"))
        j.append("supervisor_event", events.CoverageGap(trade_id="T7", position=70, stop_coverage=30, uncovered=40))
        j.append("command", port.CancelOrder("T7:sl1", order_id=55))
        j.append("meta", {"started": True})
        records = list(j.records())
    assert [(r.mono_ns, r.wall) for r in records] == [(1000 + 10 * n, 1.7e9 + n) for n in range(4)]
    assert [(r.trade_id, r.leg, r.order_ref, r.order_id) for r in records] == [
        ("T7", "tp2", "T7:tp2", 101),  # a broker event's trade and leg come from its orderRef
        ("T7", "", None, None),  # a whole-trade supervisor event has an empty leg
        ("T7", "sl1", "T7:sl1", 55),
        (None, None, None, None),
    ]


def test_reopening_keeps_everything_and_continues_the_seq(tmp_path: Path) -> None:
    path = journal_path(tmp_path, "DU1234567")
    with Journal.open(path) as journal:
        for i in range(25):
            journal.append("broker_event", execution(i))
    with Journal.open(path) as journal:
        assert journal.report.clean
        assert (journal.report.created, journal.report.records, journal.report.last_seq) == (False, 25, 25)
        assert journal.append("broker_event", execution(25)) == 26
        values = [r.value for r in journal.records()]
    assert values == [execution(i) for i in range(26)]


def test_journal_path_is_one_file_per_account(tmp_path: Path) -> None:
    assert journal_path(tmp_path, "DU1234567") == tmp_path / "DU1234567.journal.sqlite"
    with pytest.raises(ValueError, match="not a safe file name"):
        journal_path(tmp_path, "../other")


@pytest.mark.parametrize(("fsync", "synchronous"), [("always", 2), ("batch", 1), ("off", 0)])
def test_wal_mode_and_synchronous_follow_the_fsync_policy(tmp_path: Path, fsync: Any, synchronous: int) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, fsync=fsync) as journal:
        assert journal.pragma("journal_mode") == "wal"
        assert journal.pragma("synchronous") == synchronous  # 0 OFF, 1 NORMAL, 2 FULL
        other = sqlite3.connect(path)
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # WAL is a property of the file
        other.close()


def test_always_commits_before_append_returns(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, fsync="always", batch_delay=60.0) as journal:
        for n in range(1, 6):
            journal.append("broker_event", execution(n))
            assert count_rows(path) == n


def test_batch_buffers_until_the_writer_flushes(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, fsync="batch", batch_delay=60.0) as journal:
        for n in range(5):
            journal.append("broker_event", execution(n))
        assert count_rows(path) == 0  # still in memory: the writer waits up to batch_delay
        assert journal.committed_seq == 0
        journal.flush()
        assert count_rows(path) == 5
        assert journal.committed_seq == 5


def test_batch_commits_by_itself_within_the_delay(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, fsync="batch", batch_delay=0.01) as journal:
        journal.append("broker_event", execution(1))
        waited = threading.Event()
        for _ in range(5000):  # bounded poll: the writer commits within batch_delay, not on flush()
            if journal.committed_seq == 1:
                break
            waited.wait(0.001)
        assert journal.committed_seq == 1
        assert count_rows(path) == 1


def test_a_full_buffer_is_written_without_waiting_for_the_delay(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, batch_delay=60.0, max_batch=10) as journal:
        for n in range(10):
            journal.append("broker_event", execution(n))
        waited = threading.Event()
        for _ in range(5000):
            if journal.committed_seq == 10:
                break
            waited.wait(0.001)
        assert count_rows(path) == 10


def test_close_writes_everything_buffered(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, batch_delay=60.0)
    for n in range(7):
        journal.append("broker_event", execution(n))
    journal.close()
    journal.close()  # idempotent
    assert count_rows(path) == 7
    with pytest.raises(JournalClosedError):
        journal.append("broker_event", execution(8))


def test_appends_from_many_threads_while_the_writer_flushes(tmp_path: Path) -> None:
    threads, per_thread = 4, 1500
    seen: dict[int, list[tuple[int, port.ExecutionReported]]] = {t: [] for t in range(threads)}
    start = threading.Barrier(threads)
    with Journal.open(tmp_path / "j.sqlite", batch_delay=0.0, max_batch=16) as journal:

        def work(t: int) -> None:
            start.wait()
            for i in range(per_thread):
                value = execution(i, trade=f"T{t}")
                seen[t].append((journal.append("broker_event", value), value))

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        by_seq: dict[int, Record] = {r.seq: r for r in journal.records()}
    assert sorted(by_seq) == list(range(1, threads * per_thread + 1))
    for pairs in seen.values():
        assert [seq for seq, _ in pairs] == sorted(seq for seq, _ in pairs)  # each thread's order kept
        assert all(by_seq[seq].value == value for seq, value in pairs)
    monos = [by_seq[s].mono_ns for s in sorted(by_seq)]
    assert monos == sorted(monos)  # clocks are read under the same lock as the seq


def test_bad_appends_are_refused_without_using_a_seq(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite") as journal:
        with pytest.raises(ValueError, match="kind must be one of"):
            journal.append("note", execution(1))  # type: ignore[arg-type]
        with pytest.raises(codec.CodecError, match="not a registered type"):
            journal.append("broker_event", object())
        with pytest.raises(TypeError, match="meta record is a dict"):
            journal.append("meta", ["x"])
        with pytest.raises(ValueError, match="Out of range float"):
            journal.append("meta", {"x": float("nan")})
        assert journal.append("broker_event", execution(1)) == 1


def test_a_meta_dict_is_copied_when_appended(tmp_path: Path) -> None:
    note: dict[str, Any] = {"levels": [1]}
    with Journal.open(tmp_path / "j.sqlite", batch_delay=60.0) as journal:
        journal.append("meta", note)
        note["levels"].append(2)
        assert [r.value for r in journal.records()] == [{"levels": [1]}]


def test_a_failing_writer_makes_the_journal_refuse_further_work(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, batch_delay=60.0)
    other = sqlite3.connect(path)
    other.execute("DROP TABLE records")  # the writer's next insert fails
    other.close()
    journal.append("broker_event", execution(1))
    with pytest.raises(JournalWriteError, match="the writer failed"):
        journal.flush()
    with pytest.raises(JournalWriteError):
        journal.append("broker_event", execution(2))
    with pytest.raises(JournalWriteError):
        journal.close()
    assert issubclass(JournalWriteError, JournalError)


def test_open_refuses_a_bad_policy(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fsync must be one of"):
        Journal.open(tmp_path / "j.sqlite", fsync="sometimes")  # type: ignore[arg-type]
