"""Where signal_to_wire's time goes, segment by segment, beside bare ib_async's.

    python -m broker.bench.breakdown [--n 300]

Runs the `signal_to_wire` path on the same rig as the benchmark (`wire.rig`: a real ib_async
client and the TWS simulator on one loop), with stamps between its parts, interleaved with the
bare reference, and prints the median and p90 of each segment in microseconds:

- watcher: `BreakoutWatcher.on_bar` deciding on the bar;
- journal trigger: `JournalRecorder` journaling the `Trigger` call (a buffered append);
- supervisor trigger: `Supervisor.trigger` handing out the prebuilt entry;
- runner + adapter: from `Runner.execute` to `ib_async`'s `client.placeOrder` (the adapter's
  checks, order id, contract, `ib_async.Order` built from the command, its books);
- ib_async + write: `client.placeOrder` serializing the order and writing it to the socket;
and for the reference, the `LimitOrder(...)` construction and `ib.placeOrder` to its write.
A profile by function of the same path: `python -m cProfile -s tottime -m broker.bench.breakdown`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from ib_async import LimitOrder

from broker.bench.figures import median, percentile
from broker.bench.order_path import RESTING_ENTRY, breakout_bar, trade_plan
from broker.bench.wire import PRICE, BenchError, Rig, rig, run
from strategies.breakout import BreakoutWatcher
from supervisor import codec
from supervisor.calls import Trigger
from supervisor.plan import EntryType

SEGMENTS = ("watcher", "journal trigger", "supervisor trigger", "runner + adapter", "ib_async + write")
BARE = ("Order built", "ib.placeOrder + write")


async def _ours(r: Rig, k: int, marks: dict[str, int]) -> list[int]:
    stack = r.stack()
    stack.attach()
    plan = trade_plan(f"bd{k}", 100, EntryType.LIMIT)
    stack.recorder.arm(plan)
    watcher = BreakoutWatcher(plan, PRICE)
    bar = breakout_bar()
    r.stamps.clear()
    ns = time.perf_counter_ns
    t0 = ns()
    signal = watcher.on_bar(bar)
    t1 = ns()
    if signal is None:
        raise BenchError("the watcher did not fire")
    stack.recorder.journal.append("meta", codec.encode(Trigger(signal.trade_id, r.clock())))  # recorder.trigger
    t2 = ns()
    commands = stack.supervisor.trigger(signal.trade_id, r.clock())
    t3 = ns()
    stack.runner.execute(commands)
    wired = r.stamps.first_order_after(t0)
    await r.settle()
    stack.runner.execute(stack.recorder.cancel(plan.trade_id))
    await r.settle()
    r.detach()
    return [t1 - t0, t2 - t1, t3 - t2, marks["client"] - t3, wired - marks["client"]]


async def _bare(r: Rig, k: int) -> list[int]:
    r.stamps.clear()
    ns = time.perf_counter_ns
    t0 = ns()
    order = LimitOrder("BUY", 100, RESTING_ENTRY, orderRef=f"bb{k}:entry", tif="DAY")
    t1 = ns()
    r.ib.placeOrder(r.contract, order)
    wired = r.stamps.first_order_after(t0)
    await r.ib.reqCurrentTimeAsync()
    r.ib.cancelOrder(order)
    await r.ib.reqCurrentTimeAsync()
    r.detach()
    return [t1 - t0, wired - t1]


def breakdown(n: int, warmup: int = 20) -> tuple[list[list[int]], list[list[int]]]:
    async def measure() -> tuple[list[list[int]], list[list[int]]]:
        ours: list[list[int]] = []
        bare: list[list[int]] = []
        async with rig() as r:
            marks: dict[str, int] = {}
            placing: Callable[..., Any] = r.ib.client.placeOrder

            def stamped(*args: Any) -> Any:
                marks["client"] = time.perf_counter_ns()
                return placing(*args)

            r.ib.client.placeOrder = stamped  # type: ignore[method-assign]
            for k in range(warmup + n):
                mine = await _ours(r, k, marks)
                marks["client"] = 0
                theirs = await _bare(r, k)
                if k >= warmup:
                    ours.append(mine)
                    bare.append(theirs)
        return ours, bare

    result: tuple[list[list[int]], list[list[int]]] = run(measure)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="signal_to_wire, segment by segment, beside bare ib_async")
    parser.add_argument("--n", type=int, default=300)
    n = parser.parse_args().n
    ours, bare = breakdown(n)
    print(f"{'segment':<24} {'median us':>10} {'p90 us':>10}   (n={n})")
    for rows, names in ((ours, SEGMENTS), (bare, BARE)):
        for i, name in enumerate(names):
            column = [row[i] / 1e3 for row in rows]
            print(f"{name:<24} {median(column):>10.1f} {percentile(column, 90):>10.1f}")
        totals = [sum(row) / 1e3 for row in rows]
        print(f"{'= total':<24} {median(totals):>10.1f} {percentile(totals, 90):>10.1f}")


if __name__ == "__main__":
    main()
