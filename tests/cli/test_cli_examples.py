"""The examples a bot author copies from run, and end where they say (each in its own process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, f"examples/{name}", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_your_own_signal_with_the_supervisor() -> None:
    out = run_example("own_signal.py")
    assert out.startswith("signal at 100.09: 100 DEMO, targets (100.39, 100.69)")
    assert out.strip().splitlines()[-1] == "momentum: closed, position 0 (broker 0), realized P&L 38.70"


def test_restoring_after_a_crash(tmp_path: Path) -> None:
    out = run_example("restore_after_crash.py", str(tmp_path / "ladder.sqlite"))
    lines = out.strip().splitlines()
    assert lines[0] == "11:00 crash: scaling_out, position 60, working 4 orders"
    assert lines[1] == "restored from the journal: scaling_out, position 60"
    assert lines[2] == "after reconciliation: scaling_out, position 30 (broker 30)"  # TP2's missed fill applied
    assert lines[-1].startswith("ladder: closed, position 0 (broker 0)")


@pytest.mark.parametrize("given", [False, True])
def test_reading_the_journal(tmp_path: Path, given: bool) -> None:
    args: tuple[str, ...] = ()
    if given:
        from click.testing import CliRunner

        from broker.cli import main

        journal = tmp_path / "j.sqlite"
        CliRunner().invoke(main, ["breakout", "arm", "SIM", "--level", "100.49", "--qty", "10", "--tp", "101.2",
                                  "--sl", "99.95", "--entry", "market", "--watch-after", "30", "--journal",
                                  str(journal)])
        args = (str(journal),)
    out = run_example("read_journal.py", *args)
    assert "watcher sim-100.49 fired close at 100.61" in out
    assert "execution sim-100.49:entry BUY" in out
    assert out.strip().splitlines()[-1].startswith("audit (schema 1): sim-100.49 closed, position 0")
