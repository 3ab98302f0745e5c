"""The order path over the wire: signal to wire, fill to protected (one piece and two), each beside
bare ib_async placing the same orders on the same connection, interleaved iteration by iteration.

- `signal_to_wire`: a completed bar is handed to a `BreakoutWatcher`; its `Trigger` goes to the
  supervisor (through its journal recorder: the call is journaled, a buffered append) and the
  returned entry through the runner to the IB adapter. Measured: from the bar in hand to the
  entry's bytes written. Reference: `ib.placeOrder(contract, LimitOrder(...))` of the same order
  (built in the interval, as a bot does), to its bytes written.
- `fill_to_protected`: the simulator fills a market entry; the execution enters ib_async, the
  adapter translates it and pushes it to the supervisor inside ib_async's callback, the fast path
  hands out the six prebuilt exits and the adapter writes them. Measured: from the execution report
  entering ib_async's wrapper to the sixth exit's bytes written. Reference: six bare
  `ib.placeOrder` of the same exits (3 limit, 3 stop, OCA groups), to the sixth's bytes written.
- `fill_to_protected_two_piece`: the entry (100 shares) fills in two executions of 50 that arrive
  in one read (the simulator moves two price points, then writes). Measured: from the execution
  that completes the entry to the last exit order written (placement or resize) once the whole
  ladder is out; `round_trips` counts the reads that carried broker answers (acknowledgements)
  and led to more exit orders: a round trip the protection had to wait for.

Each supervised iteration runs on a fresh supervisor (same adapter and connection): iterations do
not inherit one another's trades. Every iteration is checked: the entry on the wire, the trade
protected with its whole position covered; a path that did not do its job raises `BenchError`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import attrs
from ib_async import LimitOrder, StopOrder

from broker.bench.figures import Figure, timed
from broker.bench.wire import PRICE, SYMBOL, BenchError, Rig, rig, run
from strategies.breakout import BreakoutWatcher
from supervisor.market import Bar
from supervisor.plan import EntryType, Side, TradePlan

TAKE_PROFITS = (150.0, 160.0, 170.0)  # far from the market: the exits rest, nothing else fills
STOP = 50.0
NAMES = ("signal_to_wire", "fill_to_protected", "fill_to_protected_two_piece")
RESTING_ENTRY = 50.0  # a buy limit far below the market: written, acknowledged, never filled
_ids = itertools.count(1)


def trade_plan(trade_id: str, qty: int, entry: EntryType) -> TradePlan:
    price = PRICE if entry is EntryType.MARKET else RESTING_ENTRY
    return TradePlan(trade_id=trade_id, symbol=SYMBOL, side=Side.LONG, quantity=qty, entry_price=price,
                     entry_type=entry, take_profits=TAKE_PROFITS, stop_losses=(STOP if entry is EntryType.MARKET
                                                                                else RESTING_ENTRY - 5,))


def breakout_bar() -> Bar:
    return Bar(time.time() - 60, PRICE, PRICE, PRICE, PRICE, 1000.0, 60.0, symbol=SYMBOL)


async def _signal_once(r: Rig) -> int:
    stack = r.stack()
    stack.attach()
    plan = trade_plan(f"sw{next(_ids)}", 100, EntryType.LIMIT)
    stack.recorder.arm(plan)  # machines built off the path, as a prearmed watcher's trade is
    watcher = BreakoutWatcher(plan, PRICE)
    bar = breakout_bar()
    r.stamps.clear()
    started = time.perf_counter_ns()
    signal = watcher.on_bar(bar)
    if signal is None:
        raise BenchError("the watcher did not fire on a close at its level")
    stack.runner.trigger(signal.trade_id, source_time=r.clock())
    wired = r.stamps.first_order_after(started)
    await r.settle()
    if stack.supervisor.trade(plan.trade_id).leg("entry").state != "working":
        raise BenchError(f"{plan.trade_id}: the entry is not working at the simulator")
    stack.runner.execute(stack.recorder.cancel(plan.trade_id))
    await r.settle()
    r.detach()
    return wired - started


async def _bare_entry_once(r: Rig) -> int:
    r.stamps.clear()
    ref = f"bare{next(_ids)}:entry"
    started = time.perf_counter_ns()
    order = LimitOrder("BUY", 100, RESTING_ENTRY, orderRef=ref, tif="DAY")
    r.ib.placeOrder(r.contract, order)
    wired = r.stamps.first_order_after(started)
    await r.ib.reqCurrentTimeAsync()
    r.ib.cancelOrder(order)
    await r.ib.reqCurrentTimeAsync()
    r.detach()
    return wired - started


async def _fill_once(r: Rig, qty: int, pieces: int) -> tuple[int, int]:
    """(ns from the completing execution to the last exit order written, broker round trips)."""
    stack = r.stack()
    stack.attach()
    plan = trade_plan(f"fp{next(_ids)}", qty, EntryType.MARKET)
    stack.recorder.arm(plan)
    stack.runner.trigger(plan.trade_id)
    await r.settle()
    r.stamps.clear()
    for _ in range(pieces):
        r.server.engine.step()  # each price point fills one piece (at most MAX_FILL shares)
    r.server.flush()  # ...and the pieces leave together, as a burst of partial fills does
    await r.settle()
    arrival = r.stamps.arrival(f"{plan.trade_id}:entry", qty)
    exits = r.stamps.orders_after(arrival.ns)
    trade = stack.supervisor.trade(plan.trade_id)
    if trade.state != "protected" or trade.stop_coverage != qty or len(trade.working_orders) != 6:
        raise BenchError(f"{plan.trade_id}: {trade.state}, stops cover {trade.stop_coverage} of {qty}, "
                         f"working {trade.working_orders}")
    if not exits:
        raise BenchError(f"{plan.trade_id}: no exit order written after the entry filled")
    round_trips = len({w.read for w in exits if w.read > arrival.read})
    await r.clean()
    return exits[-1].ns - arrival.ns, round_trips


async def _bare_exits_once(r: Rig) -> int:
    r.stamps.clear()
    trade_id = f"bx{next(_ids)}"
    started = time.perf_counter_ns()
    for level, (qty, price) in enumerate(zip((30, 15, 5), TAKE_PROFITS, strict=True), start=1):
        group = f"{trade_id}:oca{level}"
        r.ib.placeOrder(r.contract, StopOrder("SELL", qty, STOP, orderRef=f"{trade_id}:sl{level}", tif="DAY",
                                              ocaGroup=group, ocaType=3, outsideRth=True))
        r.ib.placeOrder(r.contract, LimitOrder("SELL", qty, price, orderRef=f"{trade_id}:tp{level}", tif="DAY",
                                               ocaGroup=group, ocaType=3))
    writes = r.stamps.orders_after(started)
    if len(writes) != 6:
        raise BenchError(f"six bare placeOrder calls wrote {len(writes)} orders")
    await r.clean()
    return writes[-1].ns - started


async def _interleaved(r: Rig, n: int, warmup: int, ours: Callable[[], Any], bare: Callable[[], Any]
                       ) -> tuple[list[Any], list[int]]:
    measured: list[Any] = []
    reference: list[int] = []
    for i in range(warmup + n):
        first, second = (ours, bare) if i % 2 == 0 else (bare, ours)
        a = await first()
        b = await second()
        mine, theirs = (a, b) if i % 2 == 0 else (b, a)
        if i >= warmup:
            measured.append(mine)
            reference.append(theirs)
    return measured, reference


def order_path_figures(n: int, warmup: int, journal: Path | None = None,
                       wanted: Collection[str] = NAMES) -> list[Figure]:
    """The figures of `wanted` among the three; every supervised iteration is journaled (at
    `journal` when given, with the latency stamps `order-supervisor latency` reads)."""

    async def measure() -> list[Figure]:
        figures: list[Figure] = []
        async with rig(journal) as r:
            if "signal_to_wire" in wanted:
                signal, bare_entry = await _interleaved(r, n, warmup, lambda: _signal_once(r),
                                                        lambda: _bare_entry_once(r))
                figures.append(_signal(signal, bare_entry))
            if "fill_to_protected" in wanted:
                fill, bare_six = await _interleaved(r, n, warmup, lambda: _fill_once(r, 50, 1),
                                                    lambda: _bare_exits_once(r))
                figures.append(_fill("fill_to_protected", fill, bare_six))
            if "fill_to_protected_two_piece" in wanted:
                two, bare_six = await _interleaved(r, max(n // 2, 5), warmup, lambda: _fill_once(r, 100, 2),
                                                   lambda: _bare_exits_once(r))
                figures.append(_fill("fill_to_protected_two_piece", two, bare_six))
        return figures

    figures: list[Figure] = run(measure)
    return figures


def _signal(samples: list[int], reference: list[int]) -> Figure:
    return timed("signal_to_wire", samples, reference_ns=reference, median_x=1.5, p99_x=2.0,
                 budget="<= 1.5x bare placeOrder median, <= 2x p99",
                 reason="see the profile in the README's bench section")


def _fill(name: str, samples: list[tuple[int, int]], reference: list[int]) -> Figure:
    durations = [s for s, _ in samples]
    trips = max(t for _, t in samples)
    figure = timed(name, durations, reference_ns=reference, median_x=1.5,
                   budget="<= 1.5x six bare placeOrders, no extra round trip",
                   reason="see the profile in the README's bench section",
                   details={"round_trips": trips})
    if trips:
        reason = (f"{trips} broker round trip(s) before the whole position was covered: exits already "
                  f"sent but not yet acknowledged are resized with ModifyOrder, which waits for the ack")
        return attrs.evolve(figure, met=False, reason=reason)
    return figure
