"""`order-supervisor run --broker ib` against the TWS simulator: the same breakout ladder as on the
embedded simulated exchange, through the IB adapter, ending by itself with the same exit codes.

The simulator runs its paced clock fast and starts it when the command's client connects
(`wait_for_client`): the command sees the day from its open however long it took to start, and the
day passes in seconds. The command runs in this thread (click's CliRunner), the simulator in its
own. A paced clock does not wait for a slow client, so the trading tests use a day on which the
outcome does not depend on how far behind the client runs: after the breakout the price climbs
over every target and stays there, and the entry is a market order.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ib_async import IB
from ib_wire import BOUND, Desk, gateway, steady_day

from broker.audit import read_journal
from broker.cli import main
from broker.sim import load_bars
from broker.sim_session import bundled_day
from supervisor.port import PlaceOrder

FAST = 100.0  # bars a second: the trade is over in about a second


MARKET = ("--entry", "market")


def run(port: int, *args: str) -> Result:
    return CliRunner().invoke(main, ["run", "--broker", "ib", "--port", str(port), *args])


def assert_clean_exit(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def free_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_run_over_ib_trades_the_ladder_and_ends_flat(tmp_path: Path) -> None:
    journal = tmp_path / "run.sqlite"
    with gateway(steady_day(), speed=FAST, wait_for_client=True) as server:
        desk = Desk(server)
        result = run(server.port, "--client-id", "7", "--journal", str(journal), *MARKET)
        position = desk.position()
        received = desk.refs()
        filled = desk.filled()
    assert_clean_exit(result, 0)
    assert "OK: closed, flat, every leg final" in result.output
    assert "position: supervisor 0, broker 0" in result.output
    assert position == 0
    assert {ref: filled.get(ref) for ref in ("breakout:entry", "breakout:tp1", "breakout:tp2", "breakout:tp3")} == {
        "breakout:entry": 100, "breakout:tp1": 40, "breakout:tp2": 30, "breakout:tp3": 30}
    # what the simulator received is what the journal says was sent, each order once
    commands = [r.value for r in read_journal(journal) if r.kind == "command"]
    placed = [c.order_ref for c in commands if isinstance(c, PlaceOrder)]
    assert len(placed) == len(set(placed))
    assert sorted(set(received)) == sorted(placed)
    assert {"breakout:entry", "breakout:tp1", "breakout:sl1"} <= set(placed)


def test_a_rejected_entry_exits_3_with_nothing_held() -> None:
    with gateway(steady_day(), speed=FAST, wait_for_client=True, faults=["reject:201"]) as server:
        desk = Desk(server)
        result = run(server.port, "--quiet")
        position = desk.position()
    assert_clean_exit(result, 3)
    assert "the broker refused the entry" in result.output
    assert position == 0


def test_a_watcher_that_never_fires_expires_when_the_session_closes() -> None:
    # the simulator's data ends at 16:00: its clock stops there, the command reads it and ends
    with gateway(speed=1000.0, wait_for_client=True) as server:
        desk = Desk(server)
        result = run(server.port, "--level", "150", "--entry-price", "150.1", "--tp", "151", "--sl", "149", "--quiet")
        received = desk.received
    assert_clean_exit(result, 0)
    assert "OK: expired, nothing sent" in result.output
    assert received == []


def test_market_data_that_stops_before_the_close_ends_the_run(tmp_path: Path) -> None:
    # the bundled day's first ten bars: no close is reached, the bars stop; --idle-timeout ends the wait
    morning = tmp_path / "morning.csv"
    morning.write_text("\n".join(bundled_day().read_text().splitlines()[:11]) + "\n")
    with gateway(load_bars(morning), speed=1000.0, wait_for_client=True) as server:
        result = run(server.port, "--idle-timeout", "0.5", "--quiet")
    assert_clean_exit(result, 0)
    assert "OK: expired, nothing sent" in result.output


def test_the_live_guard_refuses_a_live_port_naming_both_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDER_SUPERVISOR_LIVE", raising=False)
    for args in ([], ["--live"]):
        result = CliRunner().invoke(main, ["run", "--broker", "ib", "--port", "7496", *args])
        assert_clean_exit(result, 2)
        assert "--live" in result.output
        assert "ORDER_SUPERVISOR_LIVE=1" in result.output
        assert "nothing was sent" in result.output


def test_the_live_guard_refuses_a_live_account_unless_both_switches_are_on(monkeypatch: pytest.MonkeyPatch) -> None:
    with gateway(steady_day(), speed=FAST, wait_for_client=True, account="U7654321") as server:
        desk = Desk(server)
        monkeypatch.delenv("ORDER_SUPERVISOR_LIVE", raising=False)
        flag_only = run(server.port, "--live", "--quiet")
        monkeypatch.setenv("ORDER_SUPERVISOR_LIVE", "1")
        env_only = run(server.port, "--quiet")
        nothing_sent = list(desk.received)
        both = run(server.port, "--live", "--quiet", *MARKET)
        position = desk.position()
    for refused in (flag_only, env_only):
        assert_clean_exit(refused, 2)
        assert "is not a paper account" in refused.output
        assert "--live" in refused.output
        assert "ORDER_SUPERVISOR_LIVE=1" in refused.output
    assert nothing_sent == []
    assert_clean_exit(both, 0)
    assert "OK: closed, flat" in both.output
    assert position == 0


def test_a_symbol_ib_does_not_know_is_bad_input_and_nothing_is_sent() -> None:
    with gateway() as server:
        desk = Desk(server)
        result = run(server.port, "--symbol", "BAD SYM", "--quiet")
        received = desk.received
    assert_clean_exit(result, 2)
    assert "--symbol" in result.output
    assert "IB has no contract for 'BAD SYM'" in result.output
    assert received == []


def test_a_gateway_out_of_reach_is_one_line_and_exit_3(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    result = run(port, "--quiet")
    # ib_async logs its own "API connection failed" on stderr (here: to pytest's log capture)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("ib_async")] == []
    assert_clean_exit(result, 3)
    (line,) = result.output.strip().splitlines()  # one line: ib_async's own complaint is not repeated
    assert line.startswith(f"Error: cannot connect to IB at 127.0.0.1:{port} (client id 1)")
    assert line.endswith("nothing was sent")


def test_a_client_id_in_use_is_exit_3_naming_the_option() -> None:
    with gateway() as server:
        other = IB()
        other.connect(server.host, server.port, clientId=4, timeout=BOUND)
        try:
            result = run(server.port, "--client-id", "4", "--quiet")
        finally:
            other.disconnect()
    assert_clean_exit(result, 3)
    assert "client id 4 is already in use" in result.output
    assert "--client-id" in result.output


@pytest.mark.parametrize(("args", "option"), [
    (["--broker", "ib", "--sim-fault", "reject:201"], "--sim-fault"),
    (["--broker", "ib", "--csv", str(bundled_day())], "--csv"),
    (["--port", "7497"], "--port"),
    (["--live"], "--live"),
    (["--broker", "ib", "--port", "70000"], "--port"),
    (["--broker", "ib", "--idle-timeout", "0"], "--idle-timeout"),
])
def test_options_of_the_other_broker_or_out_of_range_are_refused_by_name(args: list[str], option: str) -> None:
    result = CliRunner().invoke(main, ["run", *args])
    assert_clean_exit(result, 2)
    assert option in result.output


def test_with_broker_sim_nothing_changes() -> None:
    result = CliRunner().invoke(main, ["run", "--quiet"])
    assert_clean_exit(result, 0)
    assert "OK: closed, flat, every leg final" in result.output

