"""The supervisor on its own (no I/O): events per second, memory per trade, arm, one bare transition.

- `supervisor_event`: 50 trades live and protected, then executions of 1 share on their
  take-profits, round robin (milestones reprice stops on the way, as in a session). Each sample is
  one `handle(execution)` + `settle()`; the commands it returns are answered by the scripted
  exchange outside the sample. Events per second = samples / their summed time. The machine
  transitions per event are counted (`Machinery.fire` calls), so the library's share reads off
  the bare transition below.
- `memory_per_trade`: tracemalloc's traced memory grows by this much per live trade (entry filled,
  3 OCA pairs working) over 1,000 trades on one supervisor, as a runner keeps it (the supervisor
  events it emits are retained until someone drains them: counted, and shown apart).
- `arm`: `Supervisor.arm` of trades 1 to 1,000 on one supervisor, each a sample, garbage
  collection as the process has it.
- `statemachine_transition`: one python-statemachine 3.x transition of a two-state machine
  (`send`), measured in the same run: the floor under every supervisor transition.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import attrs
from statemachine import State, StateMachine

from broker.bench.figures import Figure, median, percentile, timed
from broker.bench.script import Exchange, StepClock, ladder_plan, protect
from supervisor.core import Supervisor

LIVE_TRADES = 50


def _counting(supervisor: Supervisor) -> list[int]:
    """Count the machine transitions the supervisor fires (a wrapper on its `Machinery.fire`)."""
    machines = supervisor.desk.machines
    fire = machines.fire
    count = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return fire(*args, **kwargs)

    machines.fire = counted  # type: ignore[method-assign]
    return count


def supervisor_event(events: int) -> Figure:
    clock = StepClock()
    supervisor = Supervisor(clock)
    exchange = Exchange(supervisor, clock)
    for k in range(LIVE_TRADES):
        protect(supervisor, exchange, f"L{k:03d}")
    supervisor.drain_events()
    fired = _counting(supervisor)
    samples: list[int] = []
    transitions = 0
    left = {f"L{k:03d}:tp{level}": qty for k in range(LIVE_TRADES) for level, qty in ((1, 60), (2, 30), (3, 10))}
    refs = [ref for level in (1, 2, 3) for ref in left if ref.endswith(f"tp{level}")]
    feeds: list[str] = []
    while len(feeds) < events:
        ref = refs[len(feeds) % len(refs)]
        if left[ref] > 1:  # keep every trade live: its last share never fills
            left[ref] -= 1
            feeds.append(ref)
        elif all(v <= 1 for v in left.values()):
            raise ValueError(f"supervisor_event: {events} events would close the {LIVE_TRADES} trades")
        else:
            refs.remove(ref)
    for ref in feeds:
        status, execution, commission = exchange.execution(ref, 1, 101.5)
        exchange.feed([status])
        before = fired[0]
        started = time.perf_counter_ns()
        commands = supervisor.handle(execution) + supervisor.settle()
        samples.append(time.perf_counter_ns() - started)
        transitions += fired[0] - before
        exchange.run(commands)
        exchange.feed([commission, *exchange.sibling_reduced(ref, 1)])
        supervisor.drain_events()
    live = sum(1 for t in supervisor.trades() if t.state not in ("closed", "aborted"))
    if live != LIVE_TRADES:
        raise RuntimeError(f"supervisor_event: {live} trades live at the end, not {LIVE_TRADES}")
    rate = len(samples) / (sum(samples) / 1e9)
    figure = timed("supervisor_event", samples, budget=">= 3,000 execution events/s beside 50 live trades",
                   details={"transitions_per_event": round(transitions / len(samples), 2),
                            "live_trades": LIVE_TRADES})
    return _evolve(figure, value=rate, unit="events/s", met=rate >= 3000,
                   reason="" if rate >= 3000 else
                   f"{1e6 / rate:.0f} us per execution event ({transitions / len(samples):.1f} machine "
                   f"transitions each): the supervisor's transitions, see the profile")


def memory_per_trade(trades: int) -> Figure:
    clock = StepClock()
    supervisor = Supervisor(clock)
    exchange = Exchange(supervisor, clock)
    protect(supervisor, exchange, "warm")  # the shared machines and caches, built once per process
    supervisor.drain_events()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for k in range(trades):
            protect(supervisor, exchange, f"M{k:04d}")
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
        retained = len(supervisor.drain_events())
        gc.collect()
        drained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    live = sum(1 for t in supervisor.trades() if t.state == "protected")
    if live != trades + 1:
        raise RuntimeError(f"memory_per_trade: {live} trades protected, not {trades + 1}")
    per_trade = (kept - base) / trades / 1024
    events_kb = (kept - drained) / trades / 1024
    met = per_trade <= 100
    return Figure("memory_per_trade", None, None, None, None, "<= 100 KB per live trade (entry + 3 OCA pairs)",
                  met, samples=trades, value=per_trade, unit="KB",
                  reason="" if met else f"{per_trade:.0f} KB per trade, of which {events_kb:.0f} KB are "
                  f"the supervisor events it keeps until drained",
                  details={"supervisor_events_kb": round(events_kb, 1),
                           "supervisor_events_per_trade": round(retained / trades, 1),
                           "drained_kb": round((drained - base) / trades / 1024, 1)})


def arm(trades: int, runs: int = 1) -> Figure:
    samples: list[int] = []
    for run in range(runs):
        supervisor = Supervisor(StepClock())
        supervisor.arm(ladder_plan(f"warm{run}"))
        plans = [ladder_plan(f"A{run}-{k:04d}") for k in range(trades)]
        for plan in plans:
            started = time.perf_counter_ns()
            supervisor.arm(plan)
            samples.append(time.perf_counter_ns() - started)
    return timed("arm", samples, budget=f"median <= 1 ms, p99 <= 5 ms with {trades:,} armed",
                 limit_median_us=1000, limit_p99_us=5000,
                 reason="the slowest arms are garbage collections of the whole heap; see the profile",
                 details={"armed": trades, "runs": runs})


class _Toggle(StateMachine):
    off = State(initial=True)
    on = State()
    flip = off.to(on) | on.to(off)


def statemachine_transition(n: int) -> tuple[float, float]:
    """(median, p99) microseconds of one bare python-statemachine transition."""
    machine = _Toggle()
    send: Callable[[str], Any] = machine.send
    for _ in range(200):
        send("flip")
    samples: list[float] = []
    for _ in range(n):
        started = time.perf_counter_ns()
        send("flip")
        samples.append((time.perf_counter_ns() - started) / 1e3)
    return median(samples), percentile(samples, 99)


def _evolve(figure: Figure, **changes: Any) -> Figure:
    return attrs.evolve(figure, **changes)
