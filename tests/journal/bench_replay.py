"""Replay benchmark (issue 5): rebuild N closed ladder trades from the journal with Supervisor.restore.

Run: python tests/journal/bench_replay.py [--trades 10000] [--dir DIR] [--profile]
(not collected by pytest). It first writes a journal by driving each trade through a
`JournalRecorder` with the broker events a real ladder gets: arm and trigger, the entry sent,
acknowledged, a status and its execution with commission, the three OCA pairs sent and acknowledged,
then TP1, TP2 and TP3 filling (each with status and commission, the OCA sibling stop cancelled) and
the stops repriced at the milestones (modify acknowledged), plus a tick per trade. Trades run one
after another, as a day's trades do. Then it times `Supervisor.restore` over the journal's records
and prints the records count, the seconds (reading and decoding the records, then replaying),
records/s and the trades restored (all must be closed). `--profile` runs the replay under cProfile.

Measured (2 cores): 10,000 trades, 1.4 M records of which 440,000 are inputs: reading and
decoding the inputs 10.7 s, replaying them 297 s, 308 s in all; all 10,000 restored closed
(writing that journal took 399 s). Linear in the trades: the sweep visits only unfinished
trades. About half the replay is python-statemachine building the 11 machines of each trade,
the rest its transitions.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from supervisor.core import Supervisor
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import EntryType, Side, TradePlan
from supervisor.port import (
    Action,
    BrokerEvent,
    CancelOrder,
    Command,
    CommissionReported,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderSent,
    PlaceOrder,
    ReplaceAccepted,
    StatusObserved,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_710_000_000.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


class ScriptedBroker:
    """Answers commands the way an exchange does (sent, acknowledged, modified, cancelled)."""

    def __init__(self, recorder: JournalRecorder, clock: Clock) -> None:
        self.recorder = recorder
        self.clock = clock
        self.ids = itertools.count(1)
        self.order_ids: dict[str, int] = {}
        self.execs = itertools.count(1)

    def feed(self, events: list[BrokerEvent]) -> None:
        queue = list(events)
        while queue:
            commands = self.recorder.handle(queue.pop(0))
            for command in commands:
                queue += self.answer(command)

    def answer(self, command: Command) -> list[BrokerEvent]:
        t = self.clock.now
        if isinstance(command, PlaceOrder):
            oid = self.order_ids.setdefault(command.order_ref, next(self.ids))
            return [OrderSent(command.order_ref, oid, t),
                    OrderAccepted(command.order_ref, oid, command.quantity, command.limit_price, command.stop_price, t),
                    StatusObserved(command.order_ref, oid, "Submitted", 0, command.quantity, 0.0, t)]
        if isinstance(command, ModifyOrder):
            return [ReplaceAccepted(command.order_ref, command.order_id, command.quantity, command.limit_price,
                                    command.stop_price, t)]
        if isinstance(command, CancelOrder):
            return [OrderCancelled(command.order_ref, command.order_id, "cancelled by request", t)]
        raise TypeError(command)

    def fill(self, ref: str, qty: int, price: float, action: str, total: int) -> list[BrokerEvent]:
        t = self.clock()
        exec_id = f"0001f4e8.{next(self.execs):08d}.01.01"
        oid = self.order_ids.get(ref)
        return [ExecutionReported(ref, oid, exec_id, Action(action), qty, price, t, "SIM"),
                StatusObserved(ref, oid, "Filled", total, 0, price, t),
                CommissionReported(exec_id, round(qty * 0.005, 4), "USD", t)]


def trade(recorder: JournalRecorder, broker: ScriptedBroker, clock: Clock, n: int) -> None:
    trade_id = f"T{n:05d}"
    plan = TradePlan(trade_id=trade_id, symbol="SIM", side=Side.LONG, quantity=100, entry_price=100.70,
                     entry_type=EntryType.LIMIT, take_profits=(101.2, 101.7, 102.4), stop_losses=(99.95,),
                     allocation=(40, 30, 30))
    clock()
    recorder.arm(plan)
    clock()
    for command in recorder.trigger(trade_id):
        broker.feed(broker.answer(command))
    broker.feed(broker.fill(f"{trade_id}:entry", 100, 100.66, "BUY", 100))
    for level, (qty, price) in enumerate(((40, 101.2), (30, 101.71), (30, 102.4)), start=1):
        clock()
        recorder.tick()
        # the exchange fills the take-profit and its OCA sibling stop is cancelled
        sibling = f"{trade_id}:sl{level}"
        oca_cancel = OrderCancelled(sibling, broker.order_ids.get(sibling), "OCA", clock.now)
        broker.feed([*broker.fill(f"{trade_id}:tp{level}", qty, price, "SELL", qty), oca_cancel])


def write(path: Path, trades: int) -> float:
    clock = Clock()
    recorder = JournalRecorder.open(path, clock, fsync="off", batch_delay=0.5)
    broker = ScriptedBroker(recorder, clock)
    started = time.perf_counter()
    for n in range(trades):
        trade(recorder, broker, clock, n)
    closed = sum(1 for t in recorder.trades() if t.state == "closed")
    recorder.close()
    assert closed == trades, f"only {closed} of {trades} trades closed while writing"
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="bench_replay_"))
    path = directory / "replay.journal.sqlite"
    path.unlink(missing_ok=True)
    wrote = write(path, args.trades)
    print(f"wrote {args.trades} trades in {wrote:.2f} s -> {path}")

    from supervisor.journal import Journal
    from supervisor.journal_recorder import INPUT_KINDS

    started = time.perf_counter()
    with Journal.open(path) as journal:
        records = list(journal.records(kinds=INPUT_KINDS))  # what JournalRecorder.open replays
    read = time.perf_counter() - started
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    supervisor = Supervisor.restore(records, time.time)
    if profiler is not None:
        profiler.disable()
    replayed = time.perf_counter() - started
    trades = supervisor.trades()
    closed = sum(1 for t in trades if t.state == "closed")
    inputs = sum(1 for r in records if r.kind in ("broker_event", "meta"))
    total = read + replayed
    print(f"records        {len(records)} ({inputs} inputs replayed, {len(records) / max(args.trades, 1):.1f}/trade)")
    print(f"read+decode    {read:.2f} s")
    print(f"restore        {replayed:.2f} s")
    print(f"total          {total:.2f} s  ({len(records) / total:,.0f} records/s)")
    print(f"trades         {len(trades)} restored, {closed} closed")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
