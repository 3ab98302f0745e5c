"""What a restart replays is noted by the open's one scan: exactly the rows the SQL selection picks
(inputs of trades without a checkpoint and of no trade, a trade's inputs after its newest
checkpoint, that checkpoint), also after a tampered row's tail was quarantined, and also once more
records were appended after opening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from journal_values import execution

from supervisor import events, port
from supervisor.journal import Journal, JournalCorruptError
from supervisor.journal_store import read_restore_rows


def closed(trade: str, i: int) -> events.TradeClosed:  # stands in for a checkpoint: it names its trade
    return events.TradeClosed(trade_id=trade, leg="", entry_filled=1, exit_filled=1, realized_pnl=float(i))


def commission(i: int) -> port.CommissionReported:  # a broker event of no trade (it names an exec id)
    return port.CommissionReported(exec_id=f"0001f4e8.{i:08d}.01", commission=0.5, currency="USD", time=float(i))


def write_day(path: Path) -> None:
    """Three trades: A checkpointed twice (a late fill reopened it), B once, C never; loose inputs."""
    with Journal.open(path) as journal:
        for i in range(3):
            journal.append("broker_event", execution(i, trade="A"))
            journal.append("broker_event", execution(10 + i, trade="B"))
            journal.append("command", port.CancelOrder("A:tp1"))
        journal.append("checkpoint", closed("A", 1))
        journal.append("broker_event", commission(1))
        journal.append("meta", {"type": "Tick"})
        journal.append("broker_event", execution(3, trade="A"))  # after A's first checkpoint
        journal.append("checkpoint", closed("B", 2))
        journal.append("broker_event", execution(13, trade="B"))  # after B's checkpoint: replayed
        journal.append("checkpoint", closed("A", 3))  # A's newest: A's inputs before it are skipped
        journal.append("broker_event", execution(20, trade="C"))
        journal.append("supervisor_event", closed("C", 4))  # an output: never replayed
        journal.append("meta", {"note": "no trade"})


def selected(path: Path) -> list[int]:
    return [row[0] for row in read_restore_rows(path)]


def test_the_scan_notes_exactly_what_the_selection_reads(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    with Journal.open(path) as journal:
        noted = [record.seq for record in journal.restore_records()]
        assert journal._store.restore_seqs == noted  # it came from the scan
    assert noted == selected(path)
    assert noted == [11, 12, 14, 15, 16, 17, 19]


def test_after_a_tampered_row_the_notes_stop_where_the_quarantine_starts(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE records SET payload = replace(payload, '0.5', '0.6') WHERE seq = 11")
    conn.close()
    with Journal.open(path) as journal:
        assert journal.report.checksum_failure is not None
        assert journal.report.checksum_failure.seq == 11
        noted = [record.seq for record in journal.restore_records()]
    assert noted == selected(path) == [2, 5, 8, 10]  # A's first checkpoint stands for A; B has none left


def test_records_appended_after_opening_are_replayed_too(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    with Journal.open(path) as journal:
        journal.append("broker_event", execution(30, trade="D"))
        journal.append("checkpoint", closed("C", 5))
        noted = [record.seq for record in journal.restore_records()]
    assert noted == selected(path) == [11, 12, 14, 15, 16, 19, 20, 21]  # C's exec now before its checkpoint


def test_a_row_changed_between_the_open_and_the_restore_is_never_silently_read(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    with Journal.open(path) as journal:
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE records SET wall = wall + 1 WHERE seq = 15")
        conn.close()
        with pytest.raises(JournalCorruptError, match="record seq 15 fails its checksum"):
            list(journal.restore_records())
