"""`order-supervisor trades` over a journal whose closed trade is sealed and checkpointed packed:
the audit is the same as from the tagged checkpoint of an older journal, and a row changed inside
the closed trade's sealed history is named when the audit reads it (exit 2)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import QUICK, assert_clean_exit, invoke

from supervisor import codec
from supervisor.checkpoint import stored
from supervisor.journal_record import _to_json
from supervisor.journal_store import checksum


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    journal = tmp_path_factory.mktemp("sealed") / "day.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *QUICK, "--journal", str(journal)), 0)
    return journal


def with_tagged_checkpoints(source: Path, target: Path) -> int:
    """A copy of the journal whose checkpoints are tagged TradeCheckpoints, as an older build
    wrote them (checksums recomputed); returns how many were rewritten."""
    shutil.copy(source, target)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        rows = conn.execute("SELECT seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, payload "
                            "FROM records WHERE type = 'PackedCheckpoint'").fetchall()
        for *head, payload in rows:
            text = _to_json(codec.encode(stored(codec.decode(json.loads(payload)))))
            full = (*head, "TradeCheckpoint")
            conn.execute("UPDATE records SET type = ?, payload = ?, crc = ? WHERE seq = ?",
                         ("TradeCheckpoint", text, checksum(full, text), head[0]))
    finally:
        conn.close()
    return len(rows)


def test_the_audit_of_a_packed_checkpoint_is_the_audit_of_a_tagged_one(day: Path, tmp_path: Path) -> None:
    older = tmp_path / "older.sqlite"
    assert with_tagged_checkpoints(day, older) == 1
    packed = invoke("trades", "--journal", str(day), "--json")
    tagged = invoke("trades", "--journal", str(older), "--json")
    assert_clean_exit(packed, 0)
    assert_clean_exit(tagged, 0)
    assert json.loads(packed.output) == json.loads(tagged.output)
    (trade,) = json.loads(packed.output)["trades"]
    assert trade["state"] == "closed"
    assert {leg["leg"] for leg in trade["legs"]} >= {"entry", "tp1", "sl1"}


def test_a_row_changed_in_a_closed_trades_sealed_history_is_named_by_the_audit(day: Path, tmp_path: Path) -> None:
    journal = tmp_path / "tampered.sqlite"
    shutil.copy(day, journal)
    conn = sqlite3.connect(journal, isolation_level=None)
    try:
        seq = conn.execute("SELECT MIN(seq) FROM records WHERE type = 'ExecutionReported'").fetchone()[0]
        sealed = conn.execute("SELECT COUNT(*) FROM seals WHERE seq > ?", (seq,)).fetchone()[0]
        conn.execute("UPDATE records SET wall = wall + 1 WHERE seq = ?", (seq,))
    finally:
        conn.close()
    assert sealed == 1  # the execution is inside the closed trade's sealed history
    result = invoke("trades", "--journal", str(journal))
    assert_clean_exit(result, 2)
    assert f"record seq {seq} fails its checksum" in result.output
