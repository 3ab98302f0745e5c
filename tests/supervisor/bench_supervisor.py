"""Benchmark: what the supervisor costs on the trigger path and per broker event.

Run: python tests/supervisor/bench_supervisor.py   (not collected by pytest)
Prints the median and p99 of arm (machines built), trigger (bar in -> entry command out),
and a whole 3-level ladder's broker conversation per event.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from factories import execution, plan
from harness import Harness


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)]


def main(n: int = 2000) -> None:
    arm, trigger, per_event = [], [], []
    for i in range(n):
        h = Harness()
        trade_plan = plan(trade_id=f"T{i}", tps=(11.0, 12.0, 13.0))
        t0 = time.perf_counter_ns()
        h.sup.arm(trade_plan)
        t1 = time.perf_counter_ns()
        commands = h.sup.trigger(trade_plan.trade_id)
        t2 = time.perf_counter_ns()
        arm.append((t1 - t0) / 1e3)
        trigger.append((t2 - t1) / 1e3)
        events_before = len(h.events)
        t3 = time.perf_counter_ns()
        h.settle(commands)
        h.settle(h.feed(execution("entry", 100, 10.0, trade_id=trade_plan.trade_id)))
        for leg, qty, price in (("tp1", 60, 11.0), ("tp2", 30, 12.0), ("tp3", 10, 13.0)):
            h.feed(execution(leg, qty, price, trade_id=trade_plan.trade_id))
        t4 = time.perf_counter_ns()
        inbound = 2 + 2 + 12 + 3  # entry send/ack, fill; 6 exits send+ack; 3 TP fills
        per_event.append((t4 - t3) / 1e3 / inbound)
        assert h.sup.trade(trade_plan.trade_id).position == 0, len(h.events) - events_before
    for name, values in (("arm (build machines)", arm), ("trigger (bar -> entry command)", trigger),
                         ("per inbound broker event, whole ladder", per_event)):
        print(f"{name:42s} median {statistics.median(values):8.1f} us   p99 {pct(values, 0.99):8.1f} us")


if __name__ == "__main__":
    main()
