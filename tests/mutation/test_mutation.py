"""The guard mutation check (`tests/mutation/mutate.py`) on a subset that runs in well under a
minute: a few guards of four machines, one of them with two conjuncts. Every one of these mutants
must be killed, and the script must say so in its report. The whole check runs by hand
(`python tests/mutation/mutate.py`, a quarter of an hour on two cores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("mutate.py")
SUBSET = [
    "Milestones: first --target_filled",  # a single guard: dropped, and never holding
    "OcaPair: armed --repair [leg_lost and can_repair]",  # two conjuncts, each dropped, and never
    "EntryLeg: unknown --accept",
    "Trade: entering --abort",  # a guard with no fallback
]


@pytest.mark.slow
def test_every_mutant_of_the_subset_is_killed() -> None:
    args = [sys.executable, str(SCRIPT), "--jobs", "2"]
    for text in SUBSET:
        args += ["--only", text]
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("mutants: 9, killed: 9, survived: 0\n"), proc.stdout


def test_the_list_of_mutants_covers_every_guarded_transition() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--list"], capture_output=True, text=True, check=True)
    names = proc.stdout.splitlines()
    # one mutant per conjunct plus one "never" per guarded transition; Leg and StopLeg share theirs
    assert len(names) == 185
    assert sum(name.endswith("/ never") for name in names) == 89
    assert "OcaPair: replacing --leg_changed [both_done and all_exited]--> closed_mixed / drop both_done" in names
    assert not [name for name in names if name.startswith("StopLeg")]
    for machine in ("Leg", "EntryLeg", "OcaPair", "Trade", "Ladder", "Milestones", "Account"):
        assert any(name.startswith(f"{machine}: ") for name in names), machine
