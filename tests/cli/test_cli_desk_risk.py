"""`breakout arm` and `console` with the operator's controls: a plan over a limit exits 3 (or is an
error line at the prompt) with nothing sent, the day's counters survive a restart on the same
journal, the console's kill halts the account, and the time exit ends a watched day flat."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import QUICK, assert_clean_exit, invoke

from supervisor.journal import Journal

BREAKOUT = "breakout SIM level=100.49 qty=100 tp=101.2-101.7-102.4 sl=99.95 entry=market watch_after=30"


def test_breakout_arm_refuses_a_plan_over_a_limit_with_exit_3_and_sends_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "refused.sqlite"
    result = invoke("breakout", "arm", *QUICK, "--max-risk", "50", "--journal", str(journal))
    assert_clean_exit(result, 3)
    assert "REFUSED: sim-100.49: refused by the risk policy: max_risk: 100 x |100.49 - 99.95| x 1" in result.output
    with Journal.open(journal) as opened:
        assert [r for r in opened.records() if r.kind in ("command", "broker_event")] == []


def test_the_days_trade_count_survives_a_restart_on_the_same_journal(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    first = invoke("breakout", "arm", *QUICK, "--max-trades-per-day", "1", "--journal", str(journal),
                   "--until", "10:30")
    assert_clean_exit(first, 0)
    second = invoke("breakout", "arm", *QUICK, "--trade-id", "second", "--max-trades-per-day", "1",
                    "--journal", str(journal))
    assert_clean_exit(second, 3)
    assert "max_trades_per_day: 1 today + 1 = 2 > 1" in second.output


def test_breakout_arm_with_a_time_exit_ends_the_day_flat() -> None:
    result = invoke("breakout", "arm", *QUICK, "--flatten-at", "11:10")
    assert_clean_exit(result, 0)
    assert "flat1    filled                        60/60" in result.output
    assert "OK: closed, flat" in result.output


def test_breakout_arm_refuses_bad_control_values_by_name() -> None:
    result = invoke("breakout", "arm", *QUICK, "--max-daily-loss", "-1")
    assert_clean_exit(result, 2)
    assert "--max-daily-loss" in result.output


def test_console_limits_refuse_a_second_trade_and_kill_halts_the_account(tmp_path: Path) -> None:
    script = [BREAKOUT, BREAKOUT.replace("SIM", "XRTX"), "run 10:40", "kill", "step 2", BREAKOUT.replace("SIM", "ABC"),
              "orders", "positions", "quit"]
    result = invoke("console", "--max-open-trades", "1", "--journal", str(tmp_path / "c.sqlite"),
                    input="\n".join(script) + "\n")
    assert_clean_exit(result, 0)
    assert "error: xrtx-100.49: refused by the risk policy: max_open_trades: 1 open + 1 = 2 > 1" in result.output
    assert "kill: the account is halted: no new entry is sent" in result.output
    assert "error: abc-100.49: refused by the risk policy: trading_state: the account is halted" in result.output
    assert "no working orders" in result.output
    assert "SIM    broker      0  executions      0" in result.output


def test_console_refuses_bad_control_values_exit_2() -> None:
    result = invoke("console", "--entry-ttl", "-3", input="quit\n")
    assert_clean_exit(result, 2)
    assert "--entry-ttl" in result.output
