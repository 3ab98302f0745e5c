"""`order-supervisor kill --journal PATH`: a ladder left in flight by one process is killed by another:
every exit cancelled, what is held sold in one reduce-only market order, nothing working, flat, the
account halted in the journal (so a restart stays halted), every step journaled."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import QUICK, assert_clean_exit, invoke

from supervisor import events as ev
from supervisor.journal import Journal
from supervisor.port import CancelOrder, OrderType, PlaceOrder
from supervisor.risk import RiskBook


def _in_flight(tmp_path: Path) -> Path:
    """The README's ladder stopped at 11:00: TP1 filled, 60 shares under TP2/TP3 and their stops."""
    journal = tmp_path / "day.sqlite"
    result = invoke("breakout", "arm", *QUICK, "--journal", str(journal), "--until", "11:00")
    assert_clean_exit(result, 0)
    assert "STOPPED: 60 shares held" in result.output
    return journal


def test_kill_flattens_a_ladder_in_flight_leaves_nothing_working_and_halts_the_account(tmp_path: Path) -> None:
    journal = _in_flight(tmp_path)
    with Journal.open(journal) as opened:
        before = opened.last_seq

    result = invoke("kill", "--journal", str(journal), "--yes")

    assert_clean_exit(result, 0)
    assert "broker: 4 of their orders working, positions {'SIM': 60}" in result.output
    assert "KILLED: the account is halted; 5 commands sent, nothing working, flat" in result.output
    with Journal.open(journal) as opened:
        records = [r for r in opened.records() if r.seq > before]
        book = RiskBook.replay(None, opened.records())
    sent = [r.value for r in records if r.kind == "command"]
    assert sorted(c.order_ref for c in sent if isinstance(c, CancelOrder)) == [
        "sim-100.49:sl2", "sim-100.49:sl3", "sim-100.49:tp2", "sim-100.49:tp3"]
    placed = [c for c in sent if isinstance(c, PlaceOrder)]
    # nothing that could open a position: one sell of exactly what the executions say is held
    assert [(c.order_ref, c.action.value, c.order_type, c.quantity) for c in placed] == [
        ("sim-100.49:flat1", "SELL", OrderType.MARKET, 60)]
    steps = [r.value["kill"]["step"] for r in records if r.kind == "meta" and "kill" in r.value]
    assert steps == ["started", "flattening", "done"]
    assert [r.value["type"] for r in records if r.kind == "meta" and "type" in r.value][:3] == [
        "Reconcile", "KillSwitch", "Flatten"]
    closed = [r.value for r in records if r.kind == "supervisor_event" and isinstance(r.value, ev.TradeClosed)]
    assert len(closed) == 1
    assert book.state == "halted"  # rebuilt from the journal: the kill survives a restart

    again = invoke("kill", "--journal", str(journal), "--yes")  # pulled twice: nothing more to send
    assert_clean_exit(again, 0)
    assert "0 commands sent, nothing working, flat" in again.output


def test_kill_asks_first_and_a_no_sends_nothing(tmp_path: Path) -> None:
    journal = _in_flight(tmp_path)
    with Journal.open(journal) as opened:
        before = opened.last_seq
    result = invoke("kill", "--journal", str(journal), input="n\n")
    assert_clean_exit(result, 0)
    assert "halt the account and flatten every trade? [y/N]" in result.output
    assert "nothing sent" in result.output
    with Journal.open(journal) as opened:
        assert opened.last_seq == before


@pytest.mark.parametrize("content", [None, b"not a journal at all"])
def test_kill_on_a_missing_or_corrupt_journal_exits_2(tmp_path: Path, content: bytes | None) -> None:
    journal = tmp_path / "bad.sqlite"
    if content is not None:
        journal.write_bytes(content)
    result = invoke("kill", "--journal", str(journal), "--yes")
    assert_clean_exit(result, 2)
    assert "--journal" in result.output
    assert "sent:" not in result.output
