"""Benchmark: replay the bundled trading day on the simulated exchange alone.

    python tests/sim/bench_replay.py [--runs N]

A bracket (a buy stop-limit entry over the opening range with an attached take-profit and stop
in one OCA group), partial fills of 20 shares, small latencies; every price point of the 390
bars is visited and every event polled. A second, busier replay sends a market order every bar.
Prints the best run's seconds and events per second for each.
Not collected by pytest (its name does not start with test_).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from broker.sim import Bar, SimBroker, SimConfig, load_bars
from supervisor.port import Action, OrderType, PlaceOrder

CSV = Path(__file__).resolve().parents[2] / "examples" / "data" / "breakout_day.csv"


def replay(bars: list[Bar], config: SimConfig) -> int:
    sim = SimBroker(bars, config=config)
    sim.execute(PlaceOrder("b:entry", "SIM", Action.BUY, OrderType.STOP_LIMIT, 100, limit_price=100.70,
                           stop_price=100.54))
    sim.execute(PlaceOrder("b:tp", "SIM", Action.SELL, OrderType.LIMIT, 100, limit_price=102.40,
                           parent_ref="b:entry", oca_group="b", oca_type=1))
    sim.execute(PlaceOrder("b:sl", "SIM", Action.SELL, OrderType.STOP, 100, stop_price=99.95,
                           parent_ref="b:entry", oca_group="b", oca_type=1))
    events = len(sim.poll())
    while sim.step():
        events += len(sim.poll())
    sim.query()  # what a runner asks after a reconnect
    return events + len(sim.poll())


def busy(bars: list[Bar], config: SimConfig) -> int:
    """A heavier day: a market order of 100 (filled 20 at a time) every bar, alternating sides."""
    sim = SimBroker(bars, config=config)
    events = 0
    k = 0
    while sim.next_bar() is not None:
        k += 1
        side = Action.BUY if k % 2 else Action.SELL
        sim.execute(PlaceOrder(f"busy:{k}", "SIM", side, OrderType.MARKET, 100))
        events += len(sim.poll())
    sim.run()
    return events + len(sim.poll())


Replay = Callable[[list[Bar], SimConfig], int]


def timed(run: Replay, bars: list[Bar], config: SimConfig, runs: int) -> tuple[float, int]:
    best, events = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        events = run(bars, config)
        best = min(best, time.perf_counter() - started)
    return best, events


def main() -> None:
    parser = argparse.ArgumentParser(description="replay the bundled day on the simulated exchange")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    load_started = time.perf_counter()
    bars = load_bars(CSV)
    load_seconds = time.perf_counter() - load_started
    config = SimConfig(max_fill_qty=20, ack_latency=0.05, fill_latency=0.01)
    points = 4 * len(bars)
    print(f"loaded {len(bars)} bars in {load_seconds * 1000:.1f} ms")
    for name, run in (("bracket", replay), ("busy", busy)):
        best, events = timed(run, bars, config, args.runs)
        print(f"{name}: replayed {points} price points, {events} events in {best:.4f} s (best of {args.runs}): "
              f"{events / best:,.0f} events/s, {points / best:,.0f} points/s")


if __name__ == "__main__":
    main()
