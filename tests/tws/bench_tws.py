"""Benchmark: the TWS simulator with a real ib_async client over loopback.

    python tests/tws/bench_tws.py [--connects N] [--orders N]

Prints, for a gateway on the bundled day running in a thread beside a synchronous `IB()`:
- connect: `IB().connect()` to "synchronization complete" (every startup request answered), then
  disconnect, N times: median / p95 / max milliseconds;
- acknowledgement: `placeOrder` of a resting limit until its `Submitted` status is in, N times;
- fill: a market order and one price point until the client holds its execution, and how much of
  it the step took (the call into the gateway's thread, matching, and writing the reports);
- replay: the whole day (1,560 price points) with one client subscribed to quotes, 1-minute bars
  kept up to date and 5-second real-time bars, until the client has the last bar.
Not collected by pytest (its name does not start with test_).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventkit import Event
from ib_async import IB, LimitOrder, MarketOrder, Stock, util

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tws_helpers import barrier, gateway


def figures(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{name:<16} n={len(ms):<5} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   "
          f"max {ms[-1]:7.2f} ms")


def until(check: Callable[[], bool], event: Event) -> None:
    """Run the client's loop until `check()` holds, woken by `event` (a future made before the
    loop runs, so an update cannot slip past as it can with ib_async's waitOnUpdate)."""
    done: asyncio.Future[None] = util.getLoop().create_future()

    def wake(*_: Any) -> None:
        if check() and not done.done():
            done.set_result(None)

    event += wake
    try:
        if not check():
            util.run(asyncio.wait_for(done, 10))
    finally:
        event -= wake


def connects(n: int) -> None:
    times: list[float] = []
    with gateway() as server:
        for k in range(n):
            ib = IB()
            started = time.perf_counter()
            ib.connect(server.host, server.port, clientId=k % 30 + 1, timeout=10)
            times.append(time.perf_counter() - started)
            ib.disconnect()
    figures("connect", times)


def orders(n: int) -> None:
    acks: list[float] = []
    fills: list[float] = []
    steps: list[float] = []
    with gateway() as server:
        ib = IB()
        ib.client.MaxRequests = 0
        ib.connect(server.host, server.port, clientId=1, timeout=10)
        contract = Stock("AAPL", "SMART", "USD")
        for _ in range(n):
            started = time.perf_counter()
            trade = ib.placeOrder(contract, LimitOrder("BUY", 1, 50.0))
            until(lambda t=trade: t.orderStatus.status == "Submitted", trade.statusEvent)
            acks.append(time.perf_counter() - started)
        for k in range(n):
            trade = ib.placeOrder(contract, MarketOrder("BUY" if k % 2 else "SELL", 1))
            barrier(ib)
            started = time.perf_counter()
            server.step()
            stepped = time.perf_counter()
            until(lambda t=trade: bool(t.fills), trade.fillEvent)
            fills.append(time.perf_counter() - started)
            steps.append(stepped - started)
        ib.disconnect()
    figures("acknowledgement", acks)
    figures("fill", fills)
    figures("  of it the step", steps)


def replay() -> None:
    with gateway() as server:
        ib = IB()
        ib.connect(server.host, server.port, clientId=1, timeout=10)
        (contract,) = ib.qualifyContracts(Stock("AAPL", "SMART", "USD"))
        server.step()  # ib_async drops updates to a bar list that started empty: one point first
        ib.reqMktData(contract)
        bars = ib.reqHistoricalData(contract, "", "1 D", "1 min", "TRADES", True, keepUpToDate=True)
        realtime = ib.reqRealTimeBars(contract, 5, "TRADES", False)
        barrier(ib)
        started = time.perf_counter()
        server.run_to_end()
        barrier(ib)
        elapsed = time.perf_counter() - started
        points = 4 * len(bars) - 1
        print(f"{'replay':<16} {len(bars)} bars ({points} points), {len(realtime)} real-time bars: "
              f"{elapsed:.2f} s, {points / elapsed:,.0f} points/s")
        ib.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connects", type=int, default=50)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    connects(args.connects)
    orders(args.orders)
    replay()


if __name__ == "__main__":
    main()
