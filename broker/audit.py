"""The audit: what each trade and leg really did, built from the journal's inputs and executions only.

How it works: the journal is read (read-only), `Supervisor.restore` replays its inputs (the broker
events and the recorded calls) to rebuild every trade, and the quantities and prices come from the
rebuilt legs, which move only on executions. Commissions are summed per leg from the journal's
`CommissionReported` records, matched to the leg through the `ExecutionReported` that carried the
same exec id. Each leg's last `StatusObserved` is kept as the broker's claim, shown beside the
executions, never instead of them: a leg is never shown filled when no share executed (`status
Filled, 0 executed` reads exactly so). Mismatches are the supervisor events in the journal that say
something disagreed or broke (`MISMATCH_EVENTS`), attached to their leg (or to the trade).
Watchers come from the journal's `{"watcher": ...}` notes.

The JSON form (`to_json`) is versioned, schema 1:

    {"schema": 1,
     "trades": [{"trade_id", "symbol", "side", "state", "position", "entry_filled", "exit_filled",
                 "realized_pnl", "commission", "mismatches": [...],
                 "legs": [{"leg", "state", "intended_qty", "broker_qty", "executed_qty", "avg_price",
                           "commission", "broker_status", "broker_status_filled", "mismatches": [...]}]}],
     "watchers": [{"trade_id", "symbol", "status", "detail", "time"}],
     "mismatches": [...]}   (those tied to no trade, e.g. a PositionMismatch of a symbol)

A mismatch is `{"event": <SupervisorEvent name>, "time": <epoch seconds>, "detail": "<field=value ...>"}`.
`avg_price` is null when nothing executed; `broker_qty` is null until the broker acknowledged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from supervisor import events as ev
from supervisor.core import Supervisor
from supervisor.journal import Record
from supervisor.journal_record import to_record
from supervisor.journal_store import JournalCorruptError, read_rows
from supervisor.port import CommissionReported, ExecutionReported, StatusObserved

SCHEMA = 1
MISMATCH_EVENTS: tuple[type[ev.SupervisorEvent], ...] = (
    ev.QuantityMismatch, ev.StatusFillMismatch, ev.InvariantViolated, ev.ExitBlocked, ev.CoverageGap,
    ev.OrphanExitDetected, ev.PositionMismatch, ev.UnknownOrderEvent, ev.InvalidTransition,
    ev.SubmissionStalled, ev.StopRepriceFailed, ev.LateFill,
)
_COMMON = {"trade_id", "leg", "time"}


class JournalMissingError(FileNotFoundError):
    """The journal file does not exist (reading never creates one)."""


def read_journal(path: str | Path) -> list[Record]:
    """Every record of the journal at `path`, read-only (checksums are verified as rows are read)."""
    path = Path(path)
    if not path.is_file():
        raise JournalMissingError(f"{path}: no such journal")
    try:
        return [to_record(row) for row in read_rows(path)]
    except sqlite3.Error as exc:
        raise JournalCorruptError(f"{path}: not a journal ({exc})") from None


@attrs.frozen
class Mismatch:
    event: str
    time: float
    detail: str


@attrs.frozen
class LegAudit:
    leg: str
    state: str
    intended_qty: int
    broker_qty: int | None
    executed_qty: int
    avg_price: float | None
    commission: float
    broker_status: str | None
    broker_status_filled: int | None
    mismatches: tuple[Mismatch, ...]
    stop_price: float | None = None
    limit_price: float | None = None


@attrs.frozen
class TradeAudit:
    trade_id: str
    symbol: str
    side: str
    state: str
    position: int
    entry_filled: int
    exit_filled: int
    realized_pnl: float
    commission: float
    legs: tuple[LegAudit, ...]
    mismatches: tuple[Mismatch, ...]


@attrs.frozen
class WatcherAudit:
    trade_id: str
    symbol: str
    status: str
    detail: str
    time: float


@attrs.frozen
class Audit:
    trades: tuple[TradeAudit, ...]
    watchers: tuple[WatcherAudit, ...]
    mismatches: tuple[Mismatch, ...] = ()  # tied to no trade: a broker position that differs, say

    def trade(self, trade_id: str) -> TradeAudit:
        for trade in self.trades:
            if trade.trade_id == trade_id:
                return trade
        raise KeyError(trade_id)


def _detail(event: ev.SupervisorEvent) -> str:
    parts = []
    for field in attrs.fields(type(event)):
        if field.name in _COMMON:
            continue
        value = getattr(event, field.name)
        parts.append(f"{field.name}={value:g}" if isinstance(value, float) else f"{field.name}={value}")
    return " ".join(parts)


def build(records: Iterable[Record], trade_ids: Sequence[str] | None = None) -> Audit:
    """The audit of every trade in `records` (or only `trade_ids`)."""
    records = list(records)
    last_wall = records[-1].wall if records else 0.0
    supervisor = Supervisor.restore(records, lambda: last_wall)
    leg_of_exec: dict[str, str] = {}
    commission: dict[str, float] = {}
    status: dict[str, StatusObserved] = {}
    mismatches: dict[tuple[str, str], list[Mismatch]] = {}
    watchers: dict[str, WatcherAudit] = {}
    for record in records:
        value = record.value
        if record.kind == "broker_event":
            if isinstance(value, ExecutionReported):
                leg_of_exec[value.exec_id] = value.order_ref
            elif isinstance(value, CommissionReported):
                commission[value.exec_id] = value.commission
            elif isinstance(value, StatusObserved):
                status[value.order_ref] = value
        elif record.kind == "supervisor_event" and isinstance(value, MISMATCH_EVENTS):
            key = (value.trade_id, value.leg)
            mismatches.setdefault(key, []).append(Mismatch(type(value).__name__, value.time, _detail(value)))
        elif record.kind == "meta" and isinstance(value, dict) and isinstance(value.get("watcher"), dict):
            note = value["watcher"]
            if note["event"] != "resumed":
                watched = "watching" if note["event"] == "armed" else note["event"]
                watchers[note["trade_id"]] = WatcherAudit(note["trade_id"], note["symbol"], watched,
                                                          note.get("detail", ""), note["time"])
    per_ref: dict[str, float] = {}
    for exec_id, amount in commission.items():
        ref = leg_of_exec.get(exec_id)
        if ref is not None:
            per_ref[ref] = per_ref.get(ref, 0.0) + amount
    trades = []
    for snap in supervisor.trades():
        if trade_ids is not None and snap.trade_id not in trade_ids:
            continue
        legs = []
        for leg in snap.legs:
            claim = status.get(leg.order_ref)
            legs.append(LegAudit(
                leg=leg.name, state=leg.state, intended_qty=leg.intended_qty, broker_qty=leg.broker_qty,
                executed_qty=leg.filled_qty, avg_price=leg.avg_price if leg.filled_qty else None,
                commission=round(per_ref.get(leg.order_ref, 0.0), 6),
                broker_status=None if claim is None else claim.status,
                broker_status_filled=None if claim is None else claim.filled,
                mismatches=tuple(mismatches.get((snap.trade_id, leg.name), ())),
                stop_price=leg.stop_price, limit_price=leg.limit_price,
            ))
        trade_level = tuple(m for (tid, leg_name), found in mismatches.items()
                            if tid == snap.trade_id and leg_name not in {x.name for x in snap.legs} for m in found)
        trades.append(TradeAudit(
            trade_id=snap.trade_id, symbol=snap.symbol, side=snap.side, state=snap.state, position=snap.position,
            entry_filled=snap.entry_filled, exit_filled=snap.exit_filled, realized_pnl=snap.realized_pnl,
            commission=round(sum(leg.commission for leg in legs), 6), legs=tuple(legs),
            mismatches=tuple(sorted(trade_level, key=lambda m: m.time)),
        ))
    chosen = [w for w in watchers.values() if trade_ids is None or w.trade_id in trade_ids]
    return Audit(tuple(trades), tuple(chosen), tuple(mismatches.get(("", ""), ())))


def to_json(audit: Audit) -> dict[str, Any]:
    def keep(attribute: attrs.Attribute[Any], value: Any) -> bool:
        return attribute.name not in ("stop_price", "limit_price")  # the chart's, not the audit's

    return {
        "schema": SCHEMA,
        "trades": [attrs.asdict(trade, filter=keep) for trade in audit.trades],
        "watchers": [attrs.asdict(watcher) for watcher in audit.watchers],
        "mismatches": [attrs.asdict(m) for m in audit.mismatches],
    }


def format_audit(audit: Audit, timezone: str = "America/New_York") -> str:
    """The audit as a person reads it: one block per trade, one line per leg."""
    from broker.report import clock_time

    lines: list[str] = []
    for trade in audit.trades:
        lines.append(f"trade {trade.trade_id} ({trade.side} {trade.symbol}): {trade.state}, position "
                     f"{trade.position}, entry filled {trade.entry_filled}, exits filled {trade.exit_filled}, "
                     f"realized P&L {trade.realized_pnl:.2f}, commission {trade.commission:.2f}")
        lines.append(f"  {'leg':<8} {'state':<17} {'executed/intended':>17} {'broker':>7} {'avg price':>10} "
                     f"{'commission':>10}  broker status")
        for leg in trade.legs:
            avg = f"{leg.avg_price:g}" if leg.avg_price is not None else "-"
            broker = "-" if leg.broker_qty is None else str(leg.broker_qty)
            claim = ("-" if leg.broker_status is None
                     else f"status {leg.broker_status} ({leg.broker_status_filled}), {leg.executed_qty} executed")
            lines.append(f"  {leg.leg:<8} {leg.state:<17} {f'{leg.executed_qty}/{leg.intended_qty}':>17} "
                         f"{broker:>7} {avg:>10} {leg.commission:>10.2f}  {claim}")
            lines += [f"    ! {clock_time(m.time, timezone)} {m.event} {m.detail}" for m in leg.mismatches]
        lines += [f"  ! {clock_time(m.time, timezone)} {m.event} {m.detail}" for m in trade.mismatches]
    for watcher in audit.watchers:
        if watcher.status != "fired":
            lines.append(f"watcher {watcher.trade_id} ({watcher.symbol}): {watcher.status} at "
                         f"{clock_time(watcher.time, timezone)}: {watcher.detail}")
    lines += [f"! {clock_time(m.time, timezone)} {m.event} {m.detail}" for m in audit.mismatches]
    if not lines:
        lines.append("no trades and no watchers in this journal")
    return "\n".join(lines)
