"""Benchmark (not collected by pytest): what the IB adapter adds on the order path, with no socket.

    python tests/ib/bench_ib_adapter.py --n 5000

Prints, per call: a bare ib_async `placeOrder` (its serialization, the wire cut by the fake
client) against `IBBroker.execute(PlaceOrder)` (order built, ids bound, OrderSent); for a
three-order bracket, how long until the LAST order's bytes are written, three bare `placeOrder`
calls against one `IBBroker.execute_all`; and a bare ib_async `wrapper.execDetails` against the same
message through the adapter's tap and translation. Medians of 5 runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ib_async import Contract, Execution, LimitOrder
from ib_fakes import CLIENT_ID, PAPER, fake_ib

from broker.ib import IBBroker
from supervisor.port import Action, OrderType, PlaceOrder


def per_call(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    n = parser.parse_args().n
    contract = Contract(secType="STK", symbol="AAPL", exchange="SMART", currency="USD")

    bare_ib, bare = fake_ib()
    bare.MaxRequests = 0  # no throttling: the pacing is IB's business, not the cost measured here
    bare_place = per_call(lambda i: bare_ib.placeOrder(contract, LimitOrder("BUY", 100, 100.0)), n)

    ib, fake = fake_ib()
    fake.MaxRequests = 0
    broker = IBBroker(ib, environ={})
    adapter_place = per_call(lambda i: broker.execute(PlaceOrder(
        f"b{i}-{time.perf_counter_ns()}:entry", "AAPL", Action.BUY, OrderType.LIMIT, 100, limit_price=100.0)), n)
    broker.poll()

    stamps: list[float] = []

    class Stamped(type(fake)):  # type: ignore[misc]
        def sendMsg(self, msg: str) -> None:
            stamps.append(time.perf_counter())

    def last_bytes(place_three) -> float:  # type: ignore[no-untyped-def]
        runs = []
        for _ in range(n // 10):
            stamps.clear()
            start = time.perf_counter()
            place_three()
            runs.append((stamps[-1] - start) * 1e6)
        return statistics.median(runs)

    for client in (bare, fake):
        client.__class__ = Stamped
    counter = iter(range(10**9))

    def bare_three() -> None:
        parent = LimitOrder("BUY", 100, 100.0, transmit=False)
        bare_ib.placeOrder(contract, parent)
        bare_ib.placeOrder(contract, LimitOrder("SELL", 100, 110.0, parentId=parent.orderId, transmit=False))
        bare_ib.placeOrder(contract, LimitOrder("SELL", 100, 90.0, parentId=parent.orderId, transmit=True))

    def adapter_three() -> None:
        k = next(counter)
        broker.execute_all([
            PlaceOrder(f"k{k}:entry", "AAPL", Action.BUY, OrderType.LIMIT, 100, limit_price=100.0),
            PlaceOrder(f"k{k}:tp1", "AAPL", Action.SELL, OrderType.LIMIT, 100, limit_price=110.0,
                       parent_ref=f"k{k}:entry"),
            PlaceOrder(f"k{k}:sl1", "AAPL", Action.SELL, OrderType.STOP, 100, stop_price=90.0,
                       parent_ref=f"k{k}:entry"),
        ])

    bare_bracket, adapter_bracket = last_bytes(bare_three), last_bytes(adapter_three)
    broker.poll()

    def execution(i: int, ref: str) -> Execution:
        return Execution(execId=f"0000e0d5.{i:08d}.01.01", acctNumber=PAPER, side="BOT", shares=1, price=100.0,
                         permId=1, clientId=CLIENT_ID, orderId=1, orderRef=ref)

    plain_ib, _ = fake_ib()
    bare_exec = per_call(lambda i: plain_ib.wrapper.execDetails(-1, contract, execution(i, "x:entry")), n)
    tapped_exec = per_call(lambda i: ib.wrapper.execDetails(-1, contract, execution(i + 10**7, "x:entry")), n)
    print(f"placeOrder      ib_async alone {bare_place:7.1f} us   IBBroker.execute {adapter_place:7.1f} us")
    print(f"bracket, last bytes ib_async {bare_bracket:7.1f} us   IBBroker.execute_all {adapter_bracket:7.1f} us")
    print(f"execDetails     ib_async alone {bare_exec:7.1f} us   through the tap  {tapped_exec:7.1f} us")


if __name__ == "__main__":
    main()
