"""The benchmark suite: every figure of issue 10, in one process, quick or full.

`run(quick, only)` measures the figures in a fixed order (the order path over the TWS simulator,
then the supervisor alone, the journal, the watchers) and returns them with the notes printed
under the table: the bare python-statemachine transition measured in the same run, the machine,
and how long each figure took. `Settings` holds the iteration counts of each mode: `--quick`
keeps the whole run well under a minute on 2 cores (CI runs it once), the full run is what the
README's table comes from.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from broker.bench import NAMES, core_figures, journal_figures, order_path, watchers
from broker.bench.figures import Figure


@attrs.frozen
class Settings:
    wire: int  # interleaved iterations of each order-path figure (two-piece: half)
    wire_warmup: int
    events: int
    memory_trades: int
    arm_trades: int
    arm_runs: int
    appends: int
    replay_trades: int
    replay_runs: int
    watchers: int
    watch_seconds: int
    transitions: int


QUICK = Settings(wire=20, wire_warmup=5, events=300, memory_trades=30, arm_trades=1000, arm_runs=1, appends=2000,
                 replay_trades=200, replay_runs=1, watchers=1000, watch_seconds=3, transitions=5000)
FULL = Settings(wire=400, wire_warmup=20, events=4000, memory_trades=1000, arm_trades=1000, arm_runs=3,
                appends=50_000, replay_trades=10_000, replay_runs=3, watchers=1000, watch_seconds=60,
                transitions=50_000)


@attrs.frozen
class Result:
    figures: tuple[Figure, ...]
    notes: tuple[str, ...]
    transition_median_us: float
    transition_p99_us: float
    quick: bool
    machine: str
    seconds: float


def machine() -> str:
    cpus = os.cpu_count() or 0
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} at the start"
    return (f"{platform.machine()} {_cpu_name()}, {cpus} cores{load}; Python {sys.version.split()[0]} on "
            f"{platform.system()} {platform.release()}")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def run(*, quick: bool, only: Sequence[str] = (), progress: Callable[[str], None] | None = None,
        journal: Path | None = None) -> Result:
    settings = QUICK if quick else FULL
    wanted = set(only or NAMES)
    where = machine()
    started = time.perf_counter()
    figures: list[Figure] = []
    timings: list[str] = []

    def step(names: Sequence[str], measure: Callable[[], list[Figure]]) -> None:
        if not wanted.intersection(names):
            return
        if progress is not None:
            progress(f"measuring {', '.join(n for n in names if n in wanted)} ...")
        began = time.perf_counter()
        figures.extend(f for f in measure() if f.name in wanted)
        timings.append(f"{'/'.join(n for n in names if n in wanted)} {time.perf_counter() - began:.1f} s")

    s = settings
    step(NAMES[:3], lambda: order_path.order_path_figures(s.wire, s.wire_warmup, journal, wanted))
    step(["supervisor_event"], lambda: [core_figures.supervisor_event(s.events)])
    step(["memory_per_trade"], lambda: [core_figures.memory_per_trade(s.memory_trades)])
    step(["arm"], lambda: [core_figures.arm(s.arm_trades, s.arm_runs)])
    step(["journal_append"], lambda: [journal_figures.journal_append(s.appends)])
    step(["journal_replay"], lambda: [journal_figures.journal_replay(s.replay_trades, s.replay_runs)])
    step(["watchers_lag"], lambda: [watchers.watchers_lag(s.watchers, s.watch_seconds)])
    transition, transition_p99 = core_figures.statemachine_transition(s.transitions)
    notes = [
        f"python-statemachine: one bare transition (two states, `send`) median {transition:.1f} us, "
        f"p99 {transition_p99:.1f} us, measured in this run",
        f"machine: {where}",
        f"mode: {'--quick (few iterations: figures are indicative)' if quick else 'full'}; "
        f"took {'; '.join(timings)}",
    ]
    return Result(tuple(figures), tuple(notes), transition, transition_p99, quick, where,
                  time.perf_counter() - started)
