"""The console, driven by a script on its standard input: several watchers on one simulated
connection, a cancel, flatten (reduce-only), the broker's truth, the audit, quitting with working
orders, and the watchers a journal resumes."""

from __future__ import annotations

import re
from pathlib import Path

from cli_helpers import assert_clean_exit, invoke

from broker.audit import read_journal
from supervisor.port import CancelOrder, PlaceOrder

SIM = "breakout SIM level=100.49 qty=100 tp=101.2-101.7-102.4 tp_alloc=40-30-30 sl=99.95 entry=market watch_after=30"
AAPL = "breakout AAPL level=100.49 qty=50 tp=101.2 sl=99.95 entry=market watch_after=30 trade_id=aapl1"
XRTX = "breakout XRTX level=103 qty=10 tp=104 sl=102"
MSFT = "breakout MSFT level=100.49 qty=10 tp=101.2 sl=99.95 watch_after=30"  # limit at the ask: never fills


def console(script: list[str], *args: str):  # type: ignore[no-untyped-def]
    return invoke("console", *args, input="\n".join(script) + "\n")


def test_several_watchers_a_cancel_a_flatten_and_the_audit(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    result = console([SIM, AAPL, XRTX, MSFT, "breakouts", "step 40", "breakout cancel XRTX", "run 11:00",
                      "orders", "positions", "flatten SIM", "flatten MSFT", "run", "trades", "quit"],
                     "--journal", str(journal))
    assert_clean_exit(result, 0)
    out = result.output
    # four watchers at once, on one connection
    for trade_id in ("sim-100.49", "aapl1", "xrtx-103", "msft-100.49"):
        assert f"{trade_id}  watcher armed" in out
    assert "xrtx-103: watcher cancelled, nothing sent" in out
    assert "10:19:45  aapl1  watcher fired: close at 100.61" in out
    # the broker's truth: our working orders and what is held
    assert "sim-100.49:tp2         SIM    SELL LMT  0/30 at 101.7 Submitted (ours)" in out
    assert "SIM    broker     60  executions     60" in out
    # flatten: everything of the trade is cancelled, then what is held goes out at the market
    assert "flatten SIM: sim-100.49: entry and exits cancelled; 60 shares held go out at the market" in out
    assert "flatten MSFT: msft-100.49: entry and exits cancelled; nothing held" in out
    assert "trade sim-100.49 (long SIM): closed, position 0" in out
    assert "trade aapl1 (long AAPL): closed, position 0, entry filled 50" in out
    assert "trade msft-100.49 (long MSFT): aborted, position 0, entry filled 0" in out
    assert "watcher xrtx-103 (XRTX): cancelled" in out
    commands = [r.value for r in read_journal(journal) if r.kind == "command"]
    assert not [c for c in commands if isinstance(c, PlaceOrder) and c.order_ref.startswith("xrtx")]
    cancels = [c.order_ref for c in commands if isinstance(c, CancelOrder)]
    assert "msft-100.49:entry" in cancels
    assert {"sim-100.49:tp2", "sim-100.49:sl2"} <= set(cancels)
    [flat] = [c for c in commands if isinstance(c, PlaceOrder) and c.order_ref == "sim-100.49:flat1"]
    assert (flat.action.value, flat.order_type.value, flat.quantity) == ("SELL", "MKT", 60)  # what was held
    assert not [c for c in commands if isinstance(c, PlaceOrder) and c.action.value == "BUY"
                and c.order_ref.startswith("sim-100.49:") and not c.order_ref.endswith(":entry")]


def test_kill_stops_every_watcher_and_flattens_every_trade(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    result = console([SIM, AAPL, MSFT, "run 11:00", "kill", "run", "orders", "positions", "trades", "quit"],
                     "--journal", str(journal))
    assert_clean_exit(result, 0)
    out = result.output
    assert "kill: sim-100.49: entry and exits cancelled; 60 shares held go out at the market" in out
    for trade_id, symbol in (("sim-100.49", "SIM"), ("aapl1", "AAPL"), ("msft-100.49", "MSFT")):
        assert re.search(rf"trade {trade_id} \(long {symbol}\): (closed|aborted), position 0", out), trade_id
    commands = [r.value for r in read_journal(journal) if r.kind == "command"]
    placed_after_kill = [c for c in commands if isinstance(c, PlaceOrder) and ":flat" in c.order_ref]
    assert placed_after_kill
    assert all(c.action.value == "SELL" for c in placed_after_kill)


def test_bad_verbs_and_bad_values_are_reported_and_the_console_goes_on() -> None:
    result = console(["bogus", "breakout SIM level=inf qty=1 tp=1 sl=1", "breakout SIM level=100 qty=0",
                      "breakout SIM level=100 qty=1 tp=101 sl=99 fast=true",
                      "step -3", "run noon", "flatten", "breakout cancel NOPE", "time", "quit"])
    assert_clean_exit(result, 0)
    out = result.output
    assert "error: unknown verb 'bogus'" in out
    assert "error: Invalid value for --level: 'inf' is not a finite number" in out
    assert "error: Invalid value for --qty: '0' must be at least 1" in out
    assert "error: Invalid value for --fast: fast entry needs second bars" in out
    assert "step N: N must be a whole number >= 1, got '-3'" in out
    assert "run HH:MM: 'noon' is not a time of day" in out
    assert "error: flatten SYMBOL" in out
    assert "nothing to cancel for NOPE" in out
    assert "09:30:00" in out


def test_quit_asks_before_leaving_working_orders() -> None:
    result = console([SIM, "run 10:30", "quit", "n", "time", "quit", "y"])
    assert_clean_exit(result, 0)
    out = result.output
    assert "6 working orders, 0 watchers watching: leave anyway? [y/N] staying" in out
    assert out.count("leave anyway?") == 2
    assert "10:30:00" in out


def test_a_journal_resumes_its_watchers_and_never_re_arms_one_that_fired(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    first = console([SIM, "breakout XRTX level=103 qty=10 tp=104 sl=102 entry=market", "run 13:00", "quit", "y"],
                    "--journal", str(journal))
    assert_clean_exit(first, 0)
    assert "sim-100.49  watcher fired" in first.output
    second = console(["breakouts", "time", "run", "trades", "quit"], "--journal", str(journal))
    assert_clean_exit(second, 0)
    out = second.output
    assert "xrtx-103  watcher resumed: re-armed from the journal" in out
    assert "xrtx-103  watcher expired" in out  # it goes on watching after the restart, then the day ends
    assert "sim-100.49     SIM    close         level 100.49   fired" in out
    assert "13:00:00" in out  # the replay continued where the journal stopped
    assert "trade sim-100.49 (long SIM): closed" in out
    entries = [r for r in read_journal(journal) if r.kind == "command" and isinstance(r.value, PlaceOrder)
               and r.value.order_ref == "sim-100.49:entry"]
    assert len(entries) == 1


def test_broker_truth_during_an_outage_is_an_error_line_not_a_crash() -> None:
    # the simulated connection drops at 10:00 for 30 seconds (fault disconnect:WHEN, seconds after the open)
    result = console(["run 10:00:15", "orders", "positions", "run 10:01", "orders", "quit"],
                     "--sim-fault", "disconnect:1800")
    assert_clean_exit(result, 0)
    assert result.output.count("error: the broker is out of reach now") == 2
    assert "no working orders" in result.output  # once reconnected, the truth is there again


def test_bad_console_options_exit_2_and_an_unreachable_broker_3(tmp_path: Path) -> None:
    missing = invoke("console", "--bars", str(tmp_path / "none.csv"), input="quit\n")
    assert_clean_exit(missing, 2)
    assert "--bars" in missing.output
    assert "no such file" in missing.output
    fault = invoke("console", "--sim-fault", "explode", input="quit\n")
    assert_clean_exit(fault, 2)
    assert "--sim-fault" in fault.output
    ib = invoke("console", "--broker", "ib", input="quit\n")
    assert_clean_exit(ib, 3)


def test_an_unknown_machine_for_diagram_exits_2() -> None:
    result = invoke("diagram", "NoSuchMachine")
    assert_clean_exit(result, 2)
    assert "MACHINE" in result.output
