"""What a breakout's fire costs on the desk's path, printed (not collected by pytest).

    python tests/cli/bench_fire.py --n 200

- a market entry's trade is armed when the watcher is armed: the fire is one `trigger`;
- a limit entry at the ask is priced at the fire, so its trade is armed then: `arm` + `trigger`
  (every machine built on the trigger path, until the supervisor can reprice a prebuilt entry);
- the journal flush of the fire note, done before the entry leaves (never sent twice).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from supervisor.core import Supervisor
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import EntryType, Side, TradePlan


def plan(i: int, entry: EntryType) -> TradePlan:
    return TradePlan(trade_id=f"t{i}", symbol="SIM", side=Side.LONG, quantity=100, entry_price=100.62,
                     entry_type=entry, take_profits=(101.2, 101.7, 102.4), allocation=(40, 30, 30),
                     stop_losses=(99.95,))


def figures(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    return (f"{name:<46} median {statistics.median(ordered) * 1e3:7.3f} ms   "
            f"p90 {ordered[int(len(ordered) * 0.9)] * 1e3:7.3f} ms   (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    n = parser.parse_args().n
    supervisor = Supervisor(lambda: 0.0)
    at_fire, prearmed, flush = [], [], []
    for i in range(n):
        limit = plan(i, EntryType.LIMIT)
        started = time.perf_counter()
        supervisor.arm(limit)
        supervisor.trigger(limit.trade_id)
        at_fire.append(time.perf_counter() - started)
        market = plan(n + i, EntryType.MARKET)
        supervisor.arm(market)
        started = time.perf_counter()
        supervisor.trigger(market.trade_id)
        prearmed.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        recorder = JournalRecorder.open(Path(folder) / "j.sqlite", lambda: 0.0)
        for i in range(n):
            recorder.journal.append("meta", {"watcher": {"event": "fired", "trade_id": f"t{i}"}})
            started = time.perf_counter()
            recorder.flush()
            flush.append(time.perf_counter() - started)
        recorder.close()
    print(figures("limit at the ask: arm + trigger at the fire", at_fire))
    print(figures("market: trigger of the prearmed trade", prearmed))
    print(figures("journal flush of the fire note", flush))


if __name__ == "__main__":
    main()
