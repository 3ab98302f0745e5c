"""`order-supervisor run` through click: the default day, a bad plan, a fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import main
from supervisor.journal_recorder import JournalRecorder


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["run", *args])


def test_the_default_run_exits_0_and_prints_events_and_the_summary() -> None:
    result = invoke()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("entry  LegFilled" in line and "avg_price=100.66" in line for line in lines)
    assert any("TradeClosed" in line and "realized_pnl=105.3" in line for line in lines)
    assert "trade breakout (long SIM): closed" in result.output
    assert "position: supervisor 0, broker 0" in result.output
    assert "realized P&L: 105.30" in result.output
    assert lines[-1].startswith("OK: closed, flat, every leg final")


def test_quiet_prints_only_the_summary() -> None:
    result = invoke("--quiet")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "trade breakout (long SIM): closed"


@pytest.mark.parametrize(("args", "option", "named"), [
    (("--tp", "100.2"), "--tp", "take_profits[1]=100.2"),
    (("--tp", "101.2,101.7", "--alloc", "50,40"), "--alloc", "allocation=(50, 40)"),
    (("--sl", "101"), "--sl", "stop_losses[1]=101.0"),
    (("--qty", "0"), "--qty", "quantity=0"),
    (("--level", "-1"), "--level", "level=-1.0"),
    (("--tp", "abc"), "--tp", "'abc' is not a number"),
    (("--sim-fault", "explode"), "--sim-fault", "unknown fault"),
])
def test_a_bad_plan_is_refused_naming_the_field_and_nothing_runs(args: tuple[str, ...], option: str,
                                                                 named: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert option in result.output
    assert named in result.output
    assert "LegFilled" not in result.output
    assert "TradeArmed" not in result.output


def test_a_fault_is_injected_and_survived() -> None:
    result = invoke("--sim-fault", "duplicate-executions")
    assert result.exit_code == 0, result.output
    assert result.output.count("DuplicateExecutionIgnored") == 4
    assert "exits filled 100" in result.output


def test_an_entry_the_broker_refused_exits_3() -> None:
    result = invoke("--sim-fault", "reject:201")  # the entry is rejected: the trade is aborted
    assert result.exit_code == 3, result.output
    assert "TradeAborted" in result.output
    assert "the broker refused the entry" in result.output


def test_the_fault_names_are_listed_in_the_help() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    text = " ".join(result.output.split())
    for name in ("duplicate-executions", "reorder", "status-without-fill", "parent-sized-children", "late-fill",
                 "drop-ack", "reject:CODE", "disconnect:WHEN", "correction", "stall:WHEN:SECONDS"):
        assert name in text


def test_the_diagram_command_is_still_there() -> None:
    result = CliRunner().invoke(main, ["diagram", "Leg"])
    assert result.exit_code == 0
    assert "stateDiagram" in result.output


def test_journal_records_the_run_and_rebuilds_the_closed_trade(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    result = invoke("--quiet", "--journal", str(path))
    assert result.exit_code == 0, result.output
    restored = JournalRecorder.open(path, lambda: 0.0)
    try:
        kinds = {record.kind for record in restored.journal.records()}
        assert {"broker_event", "supervisor_event", "command"} <= kinds
        trade = restored.trade("breakout")
        assert (trade.state, trade.position, trade.exit_filled) == ("closed", 0, 100)
    finally:
        restored.close()
    again = invoke("--quiet", "--journal", str(path))  # one journal, one history: never appended to
    assert again.exit_code == 2
    assert "--journal" in again.output
