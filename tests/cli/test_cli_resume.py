"""`order-supervisor resume --journal PATH`: the operator's way back after the kill switch, and the
daily loss limit on the command line. A killed journal refuses the next `breakout arm` (halted);
`resume` journals a `Resume`, and the same command then arms. A losing trade that reaches
`--max-daily-loss` leaves the account `reducing`: the next entry on the journal is refused with
the rule and the figures, and `resume` will not bring it back while the loss is at the limit."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import QUICK, assert_clean_exit, invoke, write_bars

from supervisor.journal import Journal
from supervisor.risk import RiskBook, RiskPolicy

NEVER = ("SIM", "--level", "150", "--qty", "10", "--tp", "151", "--sl", "149", "--entry", "market")


def _armed(journal: Path) -> list[str]:
    with Journal.open(journal) as opened:
        return [r.value["watcher"]["trade_id"] for r in opened.records()
                if r.kind == "meta" and "watcher" in r.value and r.value["watcher"]["event"] == "armed"]


def _state(journal: Path, policy: RiskPolicy | None = None) -> str:
    with Journal.open(journal) as opened:
        return RiskBook.replay(policy, opened.records()).state


def _last_seq(journal: Path) -> int:
    with Journal.open(journal) as opened:
        return opened.last_seq


def _killed(tmp_path: Path) -> Path:
    journal = tmp_path / "day.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *QUICK, "--journal", str(journal), "--until", "11:00"), 0)
    assert_clean_exit(invoke("kill", "--journal", str(journal), "--yes"), 0)
    return journal


def test_after_a_kill_breakout_arm_is_refused_until_the_operator_resumes(tmp_path: Path) -> None:
    journal = _killed(tmp_path)

    refused = invoke("breakout", "arm", *NEVER, "--journal", str(journal))
    assert_clean_exit(refused, 3)
    assert "REFUSED: sim-150: refused by the risk policy: trading_state: the account is halted (kill switch)" \
        in refused.output
    assert "sim-150" not in _armed(journal)

    resumed = invoke("resume", "--journal", str(journal), "--yes")
    assert_clean_exit(resumed, 0)
    assert "journal: the account is halted (kill switch)" in resumed.output
    assert "RESUMED: the account is active (was halted)" in resumed.output
    assert _state(journal) == "active"  # every book rebuilt from the journal from now on

    armed = invoke("breakout", "arm", *NEVER, "--journal", str(journal))
    assert_clean_exit(armed, 0)
    assert "REFUSED" not in armed.output
    assert "sim-150" in _armed(journal)


def test_resume_asks_first_and_a_no_journals_nothing(tmp_path: Path) -> None:
    journal = _killed(tmp_path)
    before = _last_seq(journal)
    result = invoke("resume", "--journal", str(journal), input="n\n")
    assert_clean_exit(result, 0)
    assert "resume: the account goes halted -> active? [y/N]" in result.output
    assert "nothing journaled" in result.output
    assert _last_seq(journal) == before
    assert _state(journal) == "halted"


def test_resume_refuses_an_account_that_is_not_halted_or_reducing(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *QUICK, "--journal", str(journal), "--until", "10:30"), 0)
    before = _last_seq(journal)
    result = invoke("resume", "--journal", str(journal), "--yes")
    assert_clean_exit(result, 2)
    assert "--journal" in result.output
    assert "the account is active, not halted or reducing: nothing to resume" in result.output
    assert _last_seq(journal) == before


def test_resume_on_a_missing_journal_or_with_a_bad_limit_exits_2(tmp_path: Path) -> None:
    missing = invoke("resume", "--journal", str(tmp_path / "none.sqlite"), "--yes")
    assert_clean_exit(missing, 2)
    assert "--journal" in missing.output
    bad = invoke("resume", "--journal", str(tmp_path / "none.sqlite"), "--max-daily-loss", "-5", "--yes")
    assert_clean_exit(bad, 2)
    assert "--max-daily-loss" in bad.output


def _losing_day(tmp_path: Path) -> Path:
    """10:00-10:11: a breakout over 100.49 at 10:03, then a fall through the 99.95 stop."""
    closes = [100.0, 100.1, 100.2, 100.6, 100.7, 100.5, 100.2, 99.8, 99.5, 99.4, 99.4, 99.4]
    rows, previous = [], closes[0]
    for i, close in enumerate(closes):
        rows.append(f"2024-03-14T10:{i:02d}:00-04:00,{previous},{max(previous, close) + 0.02},"
                    f"{min(previous, close) - 0.02},{close},1000")
        previous = close
    return write_bars(tmp_path / "losing.csv", rows)


def test_a_loss_at_the_daily_limit_leaves_the_account_reducing_and_refuses_the_next_entry(tmp_path: Path) -> None:
    bars, journal = _losing_day(tmp_path), tmp_path / "day.sqlite"
    common = ("--entry", "market", "--watch-after", "0", "--bars", str(bars), "--max-daily-loss", "50",
              "--journal", str(journal))

    losing = invoke("breakout", "arm", "SIM", "--level", "100.49", "--qty", "100", "--tp", "101.5", "--sl", "99.95",
                    *common)
    assert_clean_exit(losing, 0)
    assert "realized P&L -65.00" in losing.output  # 100 x (99.95 - 100.60), and 1.00 of commissions
    assert _state(journal, RiskPolicy(max_daily_loss=50)) == "reducing"

    short = ("SIM", "--side", "short", "--level", "99.0", "--qty", "100", "--tp", "98", "--sl", "99.8")
    refused = invoke("breakout", "arm", *short, *common)
    assert_clean_exit(refused, 3)
    assert ("REFUSED: sim-99: refused by the risk policy: trading_state: the account is reducing (the day's net loss "
            "66.00 reached max_daily_loss 50.00): only exits are sent; nothing was sent") in refused.output
    assert "sim-99" not in _armed(journal)

    # resume does not lift the limit: a reducing account comes back only within it
    kept = invoke("resume", "--journal", str(journal), "--max-daily-loss", "50", "--yes")
    assert_clean_exit(kept, 2)
    assert "the day's net loss 66.00 is at max_daily_loss 50.00" in kept.output
    # killed on top of it: resumed, the account goes back to reducing, not to active
    assert_clean_exit(invoke("kill", "--journal", str(journal), "--yes"), 0)
    resumed = invoke("resume", "--journal", str(journal), "--max-daily-loss", "50", "--yes")
    assert_clean_exit(resumed, 0)
    assert "RESUMED: the account is reducing (was halted)" in resumed.output
