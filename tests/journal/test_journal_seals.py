"""Sealed histories: opening checks a closed trade's history before its newest checkpoint as one
block (journal_seal) instead of reading it; a row changed in place inside it is found when it is
read or verified, and a row moved into or out of it, deleted, or a seal missing or wrong, sends the
open to the full scan (which quarantines, reports and seals again)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from journal_values import execution
from test_journal_restore_rows import selected, write_day

from supervisor import journal_store
from supervisor.journal import Journal, JournalCorruptError, SeqGap


def sql(path: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(statement, args)
    finally:
        conn.close()


def seals(path: Path) -> list[tuple[int, str, int]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT seq, trade_id, rows FROM seals ORDER BY seq"))
    finally:
        conn.close()


def no_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(conn: sqlite3.Connection) -> None:
        raise AssertionError("the full scan ran")

    monkeypatch.setattr(journal_store, "_scan", refuse)


# write_day: A's rows 1, 3, 4, 6, 7, 9, 13 and checkpoints 10, 16; B's 2, 5, 8, 15 and checkpoint 14;
# C's 17, 18 (no checkpoint); rows of no trade 11, 12, 19.


def test_the_writer_seals_each_checkpoint_with_the_rows_before_it(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    # A's first checkpoint covers 1,3,4,6,7,9; B's covers 2,5,8; A's newest adds 13 (checkpoints excluded)
    assert seals(path) == [(10, "A", 6), (14, "B", 3), (16, "A", 7)]


def test_a_sealed_journal_opens_without_the_full_scan_and_replays_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    no_full_scan(monkeypatch)
    with Journal.open(path) as journal:
        assert journal.report.clean
        assert (journal.report.records, journal.report.last_seq) == (19, 19)
        noted = [record.seq for record in journal.restore_records()]
    assert noted == selected(path) == [11, 12, 14, 15, 16, 17, 19]


def test_a_row_changed_in_place_inside_a_sealed_history_is_found_when_read_or_verified(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "UPDATE records SET wall = wall + 1 WHERE seq = 4")  # in A's sealed history
    with Journal.open(path) as journal:
        assert journal.report.checksum_failure is None  # A's history is not read at open ...
        assert [record.seq for record in journal.restore_records()] == [11, 12, 14, 15, 16, 17, 19]
        assert journal.verify() == 4  # ... but verifying it names the row
        with pytest.raises(JournalCorruptError, match="record seq 4 fails its checksum"):
            list(journal.records())  # and so does reading it


def test_a_clean_journal_verifies(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    with Journal.open(path) as journal:
        assert journal.verify() is None


def test_a_row_made_a_checkpoint_inside_a_sealed_history_is_found_at_open(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "UPDATE records SET kind = 'checkpoint' WHERE seq = 13")  # A's block now one row short
    with Journal.open(path) as journal:
        failure = journal.report.checksum_failure
        assert failure is not None
        assert failure.seq == 13


def test_a_row_whose_trade_was_changed_to_a_closed_one_is_found_at_open(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "UPDATE records SET trade_id = 'B' WHERE seq = 1")  # A's first execution, now in B's sealed history
    with Journal.open(path) as journal:
        failure = journal.report.checksum_failure
        assert failure is not None
        assert failure.seq == 1


def test_a_row_deleted_from_a_sealed_history_is_reported_as_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "DELETE FROM records WHERE seq = 4")
    with Journal.open(path) as journal:
        assert journal.report.gaps == (SeqGap(after=3, next=5),)


def test_an_unsealed_journal_is_fully_scanned_once_then_sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "DROP TABLE seals")  # as written by a build without seals
    with Journal.open(path) as journal:
        assert journal.report.clean
        first = [record.seq for record in journal.restore_records()]
    assert seals(path) == [(14, "B", 3), (16, "A", 7)]  # the newest checkpoints
    no_full_scan(monkeypatch)
    with Journal.open(path) as journal:
        assert [record.seq for record in journal.restore_records()] == first == selected(path)


def test_a_wrong_seal_sends_the_open_to_the_full_scan_which_seals_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "UPDATE seals SET crc_sum = crc_sum + 1 WHERE seq = 16")
    scans: list[int] = []
    full_scan = journal_store._scan

    def counted(conn: sqlite3.Connection):  # type: ignore[no-untyped-def]
        scans.append(1)
        return full_scan(conn)

    monkeypatch.setattr(journal_store, "_scan", counted)
    with Journal.open(path) as journal:
        assert journal.report.clean
    with Journal.open(path) as journal:
        assert journal.report.clean
    assert scans == [1]


def test_a_quarantined_tail_takes_its_seals_with_it(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    write_day(path)
    sql(path, "UPDATE records SET payload = replace(payload, '0.5', '0.6') WHERE seq = 11")  # a loose row
    with Journal.open(path) as journal:
        assert journal.report.checksum_failure is not None
        assert journal.report.checksum_failure.seq == 11
        journal.append("broker_event", execution(40, trade="A"))
    assert seals(path) == [(10, "A", 6)]  # 14 and 16 went with the tail
