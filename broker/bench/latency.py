"""The latency report of a journal: per step of each trade's order path, the percentiles over trades.

How it works: the journal is read read-only and what a restart would replay is replayed
(`Supervisor.restore` over the journal's restore rows: closed trades come back from their
checkpoints, the others from their inputs), which rebuilds every trade with the stamps the
supervisor records on its path:
`trigger` (the bar or quote that fired: the caller's `source_time`), `intent` (the trigger call),
`sent` (the entry handed to the socket: its `OrderSent`, stamped by the adapter right after the
write), `ack` (the broker acknowledged the entry), `first_execution`. "Exits on the wire" is read
from the journal's own broker events: the `OrderSent` of each of the trade's exit legs (`tpN`,
`slN`) as first written, and the last of them is when the whole protection was out; a trade whose
broker reported no such `OrderSent` falls back on the supervisor's `exits_out` stamp (when the fast
path handed them out). Every stamp of a trade must come from one clock: the supervisor's and the
adapter's (give both the same).

A step is counted for the trades that have both of its stamps. Percentiles are nearest-rank
(`figures.percentile`) in microseconds: p50, p90, p99 and max.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from broker.bench.figures import percentile
from supervisor.core import Supervisor
from supervisor.journal import Record
from supervisor.journal_record import to_record
from supervisor.journal_store import COLUMNS, JournalCorruptError, connect, read_restore_rows, row_is_intact
from supervisor.port import OrderSent

STEPS: tuple[tuple[str, str], ...] = (("trigger", "intent"), ("intent", "sent"), ("sent", "ack"),
                                      ("ack", "first_execution"), ("first_execution", "exits_out"))
WHOLE = ("trigger", "exits_out")
_EXIT_LEG = re.compile(r"(tp|sl)\d+")


@attrs.frozen
class Step:
    name: str
    start: str
    end: str
    values_us: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.name, "from": self.start, "to": self.end, "n": len(self.values_us)}
        for label, q in (("p50_us", 50), ("p90_us", 90), ("p99_us", 99), ("max_us", 100)):
            out[label] = round(percentile(self.values_us, q), 1) if self.values_us else None
        return out


@attrs.frozen
class Report:
    trades: tuple[tuple[str, dict[str, float]], ...]  # (trade id, stamps) of every trade
    steps: tuple[Step, ...]
    whole: Step

    def to_json(self) -> dict[str, Any]:
        return {"trades": len(self.trades), "unit": "us", "steps": [s.to_json() for s in self.steps],
                "whole": self.whole.to_json(),
                "stamps": [{"trade_id": t, **dict(sorted(s.items()))} for t, s in self.trades]}


def exits_on_wire(records: Iterable[Record]) -> dict[str, float]:
    """Per trade: when the last of its exit legs was first handed to the socket (OrderSent)."""
    first: dict[tuple[str, str], float] = {}
    for record in records:
        value = record.value
        if record.kind != "broker_event" or not isinstance(value, OrderSent):
            continue
        trade_id, _, leg = value.order_ref.rpartition(":")
        if trade_id and _EXIT_LEG.fullmatch(leg):
            first.setdefault((trade_id, leg), value.time)
    out: dict[str, float] = {}
    for (trade_id, _), sent in first.items():
        out[trade_id] = max(out.get(trade_id, sent), sent)
    return out


class JournalMissingError(FileNotFoundError):
    """No journal at the path (reading never creates one)."""


def load(path: str | Path) -> Report:
    """The report of the journal at `path`, read-only (checksums verified on every row read)."""
    path = Path(path)
    if not path.is_file():
        raise JournalMissingError(f"{path}: no such journal")
    try:
        restore = [to_record(row) for row in read_restore_rows(path)]
        sent = [to_record(row) for row in _sent_rows(path)]
    except sqlite3.Error as exc:
        raise JournalCorruptError(f"{path}: not a journal ({exc})") from None
    return report(restore, sent)


def _sent_rows(path: Path) -> list[Any]:
    conn = connect(path)
    try:
        rows = conn.execute(f"SELECT {COLUMNS} FROM records WHERE kind = 'broker_event' AND type = 'OrderSent' "
                            "ORDER BY seq").fetchall()
    finally:
        conn.close()
    for row in rows:
        if not row_is_intact(row):
            raise JournalCorruptError(f"{path}: record seq {row[0]} fails its checksum (changed after it was written)")
    return rows


def report(restore: Sequence[Record], sent: Iterable[Record]) -> Report:
    """`restore`: what a restart replays (`Journal.restore_records`); `sent`: the `OrderSent` events."""
    supervisor = Supervisor.restore(restore, lambda: 0.0)
    wire = exits_on_wire(sent)
    trades: list[tuple[str, dict[str, float]]] = []
    for snapshot in supervisor.trades():
        stamps = dict(snapshot.latency)
        if snapshot.trade_id in wire:
            stamps["exits_out"] = wire[snapshot.trade_id]
        trades.append((snapshot.trade_id, stamps))
    steps = tuple(_step(f"{a} -> {b}", a, b, trades) for a, b in STEPS)
    return Report(tuple(trades), steps, _step("whole path", *WHOLE, trades))


def _step(name: str, start: str, end: str, trades: Sequence[tuple[str, dict[str, float]]]) -> Step:
    values = tuple((s[end] - s[start]) * 1e6 for _, s in trades if start in s and end in s)
    return Step(name, start, end, values)


def render(result: Report, source: str) -> str:
    lines = [f"latency of {len(result.trades)} trade(s) in {source}, microseconds (nearest-rank percentiles)",
             f"{'step':<32} {'n':>6} {'p50':>11} {'p90':>11} {'p99':>11} {'max':>11}"]
    for step in (*result.steps, result.whole):
        label = step.name if step is not result.whole else f"whole path ({step.start} -> {step.end})"
        if not step.values_us:
            lines.append(f"{label:<32} {0:>6} {'-':>11} {'-':>11} {'-':>11} {'-':>11}")
            continue
        cells = [percentile(step.values_us, q) for q in (50, 90, 99, 100)]
        lines.append(f"{label:<32} {len(step.values_us):>6} " + " ".join(f"{c:>11,.1f}" for c in cells))
    negative = [s.name for s in result.steps if any(v < 0 for v in s.values_us)]
    if negative:
        lines.append(f"note: negative times in {', '.join(negative)}: the stamps of a trade came from more "
                     f"than one clock (give the supervisor and the adapter the same clock), or the broker "
                     f"answered before the step's start was stamped")
    return "\n".join(lines)
