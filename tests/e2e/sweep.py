"""The fault sweep: every subset of the simulated exchange's nine faults, with seeded arguments.

`case(mask, seed)` builds one run's faults (reject code and order, the order whose acknowledgement
is dropped, the cancel that loses to a fill, the execution corrected, the moment of the outage),
its exit mode and its exchange latencies, all drawn from `random.Random(seed)`; `run(case)` plays the
bundled day with them and returns what went wrong (nothing, when the run kept every promise).

    python tests/e2e/sweep.py [--days bundled,reversal,...] [--seeds N]   # prints failures
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from days import DAYS
from watch import BrokerWatch

from broker.sim import SimConfig
from broker.sim_session import DEFAULT_LEVEL, default_plan, run_breakout
from supervisor.plan import ExitMode

FAULTS = ("duplicate-executions", "reorder", "status-without-fill", "parent-sized-children", "late-fill", "drop-ack",
          "reject", "disconnect", "correction")


@attrs.frozen
class Case:
    mask: int
    seed: int
    day: str
    faults: tuple[str, ...]
    exit_mode: ExitMode
    ack_latency: float
    fill_latency: float
    max_fill_qty: int | None

    def __str__(self) -> str:
        return (f"day={self.day} mask={self.mask} seed={self.seed} exit_mode={self.exit_mode.value} "
                f"ack_latency={self.ack_latency} fill_latency={self.fill_latency} max_fill_qty={self.max_fill_qty} "
                f"faults={' '.join(self.faults) or '-'}")

    @property
    def command(self) -> str:
        args = " ".join(f"--sim-fault {f}" for f in self.faults)
        return f"order-supervisor run --exit-mode {self.exit_mode.value} {args}".strip()


def case(mask: int, seed: int, day: str = "bundled") -> Case:
    rng = random.Random(seed * 1009 + mask)
    faults: list[str] = []
    for bit, name in enumerate(FAULTS):
        if not mask & (1 << bit):
            continue
        if name == "reject":
            faults.append(f"reject:{rng.choice([201, 202, 110, 135, 201])}@{rng.randint(1, 8)}")
        elif name == "disconnect":
            faults.append(f"disconnect:{rng.randint(2800, 10000)}")
        elif name in ("drop-ack", "late-fill", "correction") or (
                rng.random() < 0.5 and name != "parent-sized-children"):
            faults.append(f"{name}@{rng.randint(1, 6)}")
        else:
            faults.append(name)
    mode = ExitMode.ATTACHED if rng.random() < 0.5 else ExitMode.AUTO
    ack = rng.choice([0.0, 0.0, 0.2, 1.0, 3.0])
    fill = rng.choice([0.0, 0.0, 0.0, 0.5])
    pieces = rng.choice([None, None, 7, 25, 60])
    return Case(mask, seed, day, tuple(faults), mode, ack, fill, pieces)


def run(c: Case) -> list[str]:
    config = SimConfig(ack_latency=c.ack_latency, fill_latency=c.fill_latency, max_fill_qty=c.max_fill_qty)
    plan = default_plan(exit_mode=c.exit_mode)
    lag = (c.fill_latency > 0) + (c.ack_latency > 0)  # price points a report or a command may take
    watch = BrokerWatch(plan.symbol, steps=2 + lag, excess_steps=3 + lag, window=1 + lag)
    result = run_breakout(plan, DEFAULT_LEVEL, bars=DAYS[c.day](), faults=c.faults, config=config, on_step=watch)
    problems = list(watch.problems)
    if not result.ok:
        legs = ", ".join(f"{leg.name}={leg.state}" for leg in result.trade.legs)
        problems.append(f"ended {result.trade.state}, position {result.trade.position}, broker {result.sim_position}"
                        f"; legs {legs}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", default="bundled")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--stop", type=int, default=5, help="stop after this many failures")
    args = parser.parse_args()
    failures = 0
    total = 0
    for day in args.days.split(","):
        for seed in range(args.first, args.first + args.seeds):
            for mask in range(512):
                c = case(mask, seed, day)
                total += 1
                try:
                    problems = run(c)
                except Exception as exc:  # a crash is a failure like any other
                    problems = [f"raised {type(exc).__name__}: {exc}"]
                if problems:
                    failures += 1
                    print(c, "\n   ", "\n    ".join(problems[:4]), flush=True)
                    if failures >= args.stop:
                        print(f"{failures} failures in {total} runs")
                        return 1
    print(f"{failures} failures in {total} runs")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
