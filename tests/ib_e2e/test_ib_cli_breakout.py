"""`order-supervisor breakout arm ... --broker ib` against the TWS simulator: the breakout desk (its
watcher, supervisor, journal, live table and audit) on the IB adapter, ending by itself with the
command's exit codes. As in test_ib_cli_run.py, the simulator's paced clock starts when the
command's client connects, and the days traded do not make the outcome hang on a client's lag."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ib_wire import Desk, gateway, steady_day

from broker.audit import read_journal
from broker.cli import main
from broker.sim_session import bundled_day

FAST = 100.0
QUICK = ("SIM", "--level", "100.49", "--qty", "100", "--tp", "101.2-101.7-102.4", "--tp-alloc", "40-30-30",
         "--sl", "99.95", "--watch-after", "30")


def arm(port: int, *args: str) -> Result:
    return CliRunner().invoke(main, ["breakout", "arm", *args, "--broker", "ib", "--port", str(port)])


def assert_clean_exit(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_a_market_entry_ladder_over_ib_closes_flat(tmp_path: Path) -> None:
    journal = tmp_path / "desk.sqlite"
    with gateway(steady_day(), speed=FAST, wait_for_client=True) as server:
        desk = Desk(server)
        result = arm(server.port, *QUICK, "--entry", "market", "--journal", str(journal))
        position = desk.position()
        filled = desk.filled()
    assert_clean_exit(result, 0)
    assert result.output.strip().splitlines()[-1].startswith("OK: closed, flat")
    assert position == 0
    assert filled == {"sim-100.49:entry": 100, "sim-100.49:tp1": 40, "sim-100.49:tp2": 30, "sim-100.49:tp3": 30}
    records = read_journal(journal)
    session = next(r.value["session"] for r in records if r.kind == "meta" and "session" in r.value)
    assert (session["broker"], session["port"], session["symbols"]) == ("ib", server.port, ["SIM"])
    watcher = [r.value["watcher"]["event"] for r in records if r.kind == "meta" and "watcher" in r.value]
    assert watcher == ["armed", "fired"]
    # the bars the watcher saw are journaled (the chart reads them): history before arming, then live
    bars = [r.value["bar"]["time"] for r in records if r.kind == "meta" and "bar" in r.value]
    assert bars == sorted(set(bars))
    assert bars[-1] >= steady_day()[50].time  # the breakout bar


def test_a_limit_entry_is_priced_at_the_ask_from_ib_quotes(tmp_path: Path) -> None:
    # the default entry: a limit at the ask when the breakout is seen (the simulator quotes
    # last + one tick); the price stays between the level and the first target for a while
    with gateway(steady_day(plateau=60), speed=FAST, wait_for_client=True) as server:
        desk = Desk(server)
        result = arm(server.port, *QUICK)
        entry = desk.placed("sim-100.49:entry")
        position = desk.position()
    assert_clean_exit(result, 0)
    assert "OK: closed, flat" in result.output
    (placed,) = entry
    assert placed.request.order_type == "LMT"
    assert placed.request.limit_price is not None
    assert 100.49 < placed.request.limit_price < 101.2
    assert position == 0


def test_a_watcher_that_never_fires_expires_at_the_close_and_a_rerun_does_not_arm_it_again(tmp_path: Path) -> None:
    journal = tmp_path / "desk.sqlite"
    never = ("SIM", "--level", "150", "--qty", "100", "--tp", "151", "--sl", "149", "--entry", "market")
    with gateway(speed=1000.0, wait_for_client=True) as server:
        desk = Desk(server)
        first = arm(server.port, *never, "--journal", str(journal))
        second = arm(server.port, *never, "--journal", str(journal))
        received = desk.received
    assert_clean_exit(first, 0)
    assert first.output.strip().splitlines()[-1].startswith("EXPIRED")
    assert_clean_exit(second, 0)
    assert "resumed from the journal (expired" in second.output
    assert received == []


def test_a_rejected_entry_exits_3() -> None:
    with gateway(steady_day(), speed=FAST, wait_for_client=True, faults=["reject:201"]) as server:
        result = arm(server.port, *QUICK, "--entry", "market")
    assert_clean_exit(result, 3)
    assert "REFUSED: the broker rejected entry (201)" in result.output


def test_the_live_guard_and_an_unreachable_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDER_SUPERVISOR_LIVE", raising=False)
    live = arm(7496, *QUICK)
    assert_clean_exit(live, 2)
    assert "--live" in live.output
    assert "ORDER_SUPERVISOR_LIVE=1" in live.output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = arm(port, *QUICK)
    assert_clean_exit(gone, 3)
    assert f"cannot connect to IB at 127.0.0.1:{port}" in gone.output
    assert "nothing was sent" in gone.output


@pytest.mark.parametrize(("args", "option"), [
    (["--broker", "ib", "--bars", str(bundled_day())], "--bars"),
    (["--broker", "ib", "--sim-fault", "reject:201"], "--sim-fault"),
    (["--broker", "ib", "--until", "10:30"], "--until"),
    (["--client-id", "3"], "--client-id"),
    (["--broker", "ib", "--fast"], "--fast"),
])
def test_options_of_the_other_broker_are_refused_by_name(args: list[str], option: str) -> None:
    result = CliRunner().invoke(main, ["breakout", "arm", *QUICK, *args])
    assert_clean_exit(result, 2)
    assert option in result.output
