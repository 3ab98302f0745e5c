"""Every subset of the simulated exchange's nine faults on the bundled day: 512 runs, each with
seeded arguments (which order is rejected and with what code, which acknowledgement is dropped,
when the line goes down, the exchange's latencies and fill sizes, the exit mode; see `sweep.case`).
Each must end flat, every leg final, the trade closed or never entered, and the broker watched
after every price point must never be short, never hold more exits than shares for longer than it
takes to answer, never leave shares without a stop past the grace period.

A failure prints the case, with the command that replays its faults: `python tests/e2e/sweep.py`
runs the same sweep on more days and seeds.
"""

from __future__ import annotations

import pytest
from sweep import case, run


@pytest.mark.parametrize("mask", range(512))
def test_every_combination_of_faults_keeps_every_promise(mask: int) -> None:
    c = case(mask, seed=0, day="bundled")
    problems = run(c)
    assert not problems, f"{c}\n  replay: {c.command}\n  " + "\n  ".join(problems[:5])
