"""`order-supervisor trades`: the audit from the journal, executions only, table and JSON schema 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import QUICK, assert_clean_exit, invoke

from supervisor.clock import ManualClock
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import Side, TradePlan
from supervisor.port import OrderAccepted, OrderSent, StatusObserved


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    journal = tmp_path_factory.mktemp("day") / "day.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *QUICK, "--journal", str(journal)), 0)
    return journal


def status_filled_without_executions(path: Path) -> Path:
    """A journal where the broker's status says Filled 100 and no share ever executed."""
    clock = ManualClock(1_700_000_000.0)
    recorder = JournalRecorder.open(path, clock)
    plan = TradePlan(trade_id="t1", symbol="ABC", side=Side.LONG, quantity=100, entry_price=10.0,
                     take_profits=(11.0,), stop_losses=(9.0,))
    recorder.arm(plan)
    recorder.trigger("t1")
    recorder.handle(OrderSent("t1:entry", 1, clock.now))
    recorder.handle(OrderAccepted("t1:entry", 1, 100, limit_price=10.0, time=clock.now))
    recorder.handle(StatusObserved("t1:entry", 1, "Filled", filled=100, remaining=0, avg_price=10.0, time=clock.now))
    clock.advance(10)
    recorder.tick()
    recorder.close()
    return path


def test_the_table_shows_every_leg_from_executions(day: Path) -> None:
    result = invoke("trades", "--journal", str(day))
    assert_clean_exit(result, 0)
    lines = result.output.splitlines()
    assert lines[0] == ("trade sim-100.49 (long SIM): closed, position 0, entry filled 100, exits filled 100, "
                        "realized P&L 105.30, commission 1.00")
    assert "  tp2      filled                        30/30      30     101.71       0.15  status Filled (30), " \
           "30 executed" in lines


def test_the_json_is_schema_1_and_commissions_add_up(day: Path) -> None:
    result = invoke("trades", "--journal", str(day), "--json")
    assert_clean_exit(result, 0)
    data = json.loads(result.output)
    assert data["schema"] == 1
    [trade] = data["trades"]
    assert {"trade_id", "symbol", "state", "position", "realized_pnl", "legs"} <= set(trade)
    assert [leg["leg"] for leg in trade["legs"]] == ["entry", "tp1", "sl1", "tp2", "sl2", "tp3", "sl3"]
    for leg in trade["legs"]:
        assert {"leg", "state", "intended_qty", "broker_qty", "executed_qty", "avg_price", "commission",
                "mismatches"} <= set(leg)
    assert sum(leg["commission"] for leg in trade["legs"]) == pytest.approx(trade["commission"]) == 1.0
    sl1 = trade["legs"][2]
    assert (sl1["state"], sl1["executed_qty"], sl1["avg_price"]) == ("cancelled", 0, None)
    assert data["watchers"][0]["status"] == "fired"


def test_a_status_filled_with_nothing_executed_is_never_shown_filled(tmp_path: Path) -> None:
    journal = status_filled_without_executions(tmp_path / "claim.sqlite")
    table = invoke("trades", "--journal", str(journal))
    assert_clean_exit(table, 0)
    entry = next(line for line in table.output.splitlines() if line.startswith("  entry"))
    assert "filled " not in entry.split("status")[0]  # the state column is not "filled"
    assert entry.rstrip().endswith("status Filled (100), 0 executed")
    assert "StatusFillMismatch" in table.output
    data = json.loads(invoke("trades", "--journal", str(journal), "--json").output)
    leg = data["trades"][0]["legs"][0]
    assert (leg["state"], leg["executed_qty"], leg["avg_price"]) == ("working", 0, None)
    assert (leg["broker_status"], leg["broker_status_filled"]) == ("Filled", 100)
    assert [m["event"] for m in leg["mismatches"]] == ["StatusFillMismatch"]


def test_one_trade_can_be_chosen(day: Path) -> None:
    result = invoke("trades", "--journal", str(day), "--trade", "sim-100.49", "--json")
    assert_clean_exit(result, 0)
    assert [t["trade_id"] for t in json.loads(result.output)["trades"]] == ["sim-100.49"]


@pytest.mark.parametrize(("make", "args", "named"), [
    (None, ("--journal", "/nonexistent/j.sqlite"), "no such journal"),
    ("garbage", (), "not a readable journal"),
    ("day", ("--trade", "nope"), "nope not in"),
])
def test_bad_input_exits_2(day: Path, tmp_path: Path, make: str | None, args: tuple[str, ...], named: str) -> None:
    journal = {"garbage": tmp_path / "g.sqlite", "day": day}.get(make or "")
    if make == "garbage":
        journal.write_text("not a database")  # type: ignore[union-attr]
    full = (*(("--journal", str(journal)) if journal else ()), *args)
    result = invoke("trades", *full)
    assert_clean_exit(result, 2)
    assert "--" in result.output
    assert named in result.output


def test_a_mismatch_tied_to_no_trade_is_listed_too(tmp_path: Path) -> None:
    from supervisor.port import BrokerTruth, Position

    journal = tmp_path / "pos.sqlite"
    clock = ManualClock(1_700_000_000.0)
    recorder = JournalRecorder.open(journal, clock)
    recorder.reconcile(BrokerTruth(positions=(Position(symbol="XYZ", quantity=50),)))  # nobody's shares
    recorder.close()
    data = json.loads(invoke("trades", "--journal", str(journal), "--json").output)
    assert [(m["event"], m["detail"]) for m in data["mismatches"]] == [
        ("PositionMismatch", "symbol=XYZ broker_position=50 executed_position=0")]
    assert "PositionMismatch symbol=XYZ" in invoke("trades", "--journal", str(journal)).output
