"""Checkpoints: a finished trade's whole state as one value, so a restart need not replay it.

A trade that is closed or aborted with nothing working at the broker is written to the journal as
a `TradeCheckpoint` (the journal recorder does it once the trade finishes, and again if a late
fill reopens and finishes it). Restoring reads, per trade, its newest checkpoint and replays only
the trade's inputs recorded after it (`Supervisor.restore`): closed trades come back in
microseconds each, open ones are rebuilt exactly by replay. The checkpoint holds every figure the
machines and the supervisor read: each leg's model and order, each pair, the trade's four machine
states, its latency stamps, commissions, and the executions it owns (so a duplicate of one of them
arriving after a restart is still recognized, account-wide).
"""

from __future__ import annotations

from typing import Any

import attrs

from machines import ExecBook, Fill, PairModel
from machines.fills import Family
from supervisor import codec
from supervisor.book import LegRecord, Role, TradeRecord
from supervisor.codec_compact import pack, unpack
from supervisor.plan import TradePlan
from supervisor.port import PlaceOrder


@codec.register
@attrs.frozen
class LegState:
    name: str
    role: str
    command: PlaceOrder
    state: str
    intended_qty: int
    limit_price: float | None
    stop_price: float | None
    broker_qty: int | None
    order_id: int | None
    perm_id: int | None
    filled: int
    notional: float
    cancel_refusals: int
    replace_refusals: int
    reject_reason: str | None
    late_exec_ids: tuple[str, ...]
    cap: int | None
    sibling_filled_at_ack: int
    level: int | None
    intended_at: float | None
    sent_at: float | None
    pending_qty: int | None = None
    pending_limit: float | None = None
    pending_stop: float | None = None
    status_claim: int | None = None
    status_claim_at: float | None = None
    last_refusal_at: float | None = None
    resends: int = 0
    figure_at: float = 0.0
    resized_at: float = 0.0


@codec.register
@attrs.frozen
class PairState:
    name: str
    level: int
    tp: str  # "": a stop-only level (no take-profit)
    sl: str
    target_qty: int
    allocated: int
    repairs_left: int
    state: str
    retired: tuple[str, ...]


@codec.register
@attrs.frozen
class ExecState:
    """One execution family the trade owns: its current revision, and every id it was seen under."""

    owner: str
    current: Fill
    ids: tuple[str, ...]


@codec.register
@attrs.frozen
class TradeCheckpoint:
    trade_id: str
    plan: TradePlan
    state: str
    ladder: str
    cover: str
    milestones: str
    legs: tuple[LegState, ...]
    pairs: tuple[PairState, ...]
    extras: tuple[str, ...]
    estops: int
    flattens: int
    stamps: tuple[tuple[str, float], ...]
    commissions: tuple[tuple[str, float], ...]
    executions: tuple[ExecState, ...]
    outside: int = 0  # shares broker truth said were closed outside this client


codec.register(Fill)


@codec.register
@attrs.frozen
class PackedCheckpoint:
    """A `TradeCheckpoint` as the journal stores it: its fields in the compact form
    (supervisor.codec_compact), about a third of the tagged form's text and far quicker to decode,
    so a restart loading 10,000 closed trades is not spent reading field names. Every field is
    kept; `unpacked()` is the checkpoint itself (a journal written before this holds tagged
    `TradeCheckpoint`s, which load as they are)."""

    trade_id: str  # also lifted into the journal row's trade_id column
    fields: tuple[Any, ...]

    @classmethod
    def of(cls, checkpoint: TradeCheckpoint) -> PackedCheckpoint:
        return cls(checkpoint.trade_id, tuple(pack(checkpoint)))

    def unpacked(self) -> TradeCheckpoint:
        checkpoint = unpack(TradeCheckpoint, list(self.fields))
        if checkpoint.trade_id != self.trade_id:
            raise codec.CodecError(f"PackedCheckpoint: trade_id {self.trade_id!r} holds a checkpoint of "
                                   f"{checkpoint.trade_id!r}")
        return checkpoint


def stored(value: TradeCheckpoint | PackedCheckpoint) -> TradeCheckpoint:
    """The checkpoint a journal record holds, in either form."""
    return value.unpacked() if isinstance(value, PackedCheckpoint) else value


def dump(trade: TradeRecord, execs: ExecBook) -> TradeCheckpoint:
    refs = {leg.order_ref for leg in trade.legs.values()}
    return TradeCheckpoint(
        trade_id=trade.trade_id, plan=trade.p, state=trade.state, ladder=trade.ladder, cover=trade.cover,
        milestones=trade.milestones,
        legs=tuple(_leg_state(leg) for leg in trade.legs.values()),
        pairs=tuple(PairState(p.name, p.level, "" if p.tp is None else p.tp.leg, p.sl.leg, p.target_qty,
                              p.allocated, p.repairs_left, p.state, tuple(r.leg for r in p.retired))
                    for p in trade.pairs),
        extras=tuple(leg.leg for leg in trade.extras), estops=trade.estops, flattens=trade.flattens,
        stamps=tuple(sorted(trade.stamps.items())), commissions=tuple(sorted(trade.commissions.items())),
        executions=tuple(ExecState(f.owner, f.current, execs.ids_of(f.key))
                         for f in execs.families.values() if f.owner in refs),
        outside=trade.outside,
    )


def load(checkpoint: TradeCheckpoint, execs: ExecBook) -> TradeRecord:
    """The trade as it was when checkpointed; its executions go back into the account's book."""
    legs = {state.name: _leg(checkpoint.trade_id, state) for state in checkpoint.legs}
    entry = legs["entry"]
    trade = TradeRecord(
        trade_id=checkpoint.trade_id, entry=entry, quantity=checkpoint.plan.quantity,
        attached=checkpoint.plan.attached, plan=checkpoint.plan, legs=legs, state=checkpoint.state,
        ladder=checkpoint.ladder, cover=checkpoint.cover, milestones=checkpoint.milestones,
        estops=checkpoint.estops, flattens=checkpoint.flattens, stamps=dict(checkpoint.stamps),
        commissions=dict(checkpoint.commissions), outside=checkpoint.outside,
    )
    trade.pairs = [PairModel(p.name, p.level, legs[p.tp] if p.tp else None, legs[p.sl], target_qty=p.target_qty,
                             allocated=p.allocated, repairs_left=p.repairs_left, state=p.state,
                             retired=[legs[r] for r in p.retired])
                   for p in checkpoint.pairs]
    trade.extras = [legs[name] for name in checkpoint.extras]
    for execution in checkpoint.executions:
        execs.restore(Family(execution.ids[0], execution.owner, execution.current), execution.ids)
    return trade


def _leg_state(leg: LegRecord) -> LegState:
    return LegState(
        name=leg.leg, role=leg.role.value, command=leg.order, state=leg.state, intended_qty=leg.intended_qty,
        limit_price=leg.limit_price, stop_price=leg.stop_price, broker_qty=leg.broker_qty, order_id=leg.order_id,
        perm_id=leg.perm_id, filled=leg.filled, notional=leg.notional, cancel_refusals=leg.cancel_refusals,
        replace_refusals=leg.replace_refusals, reject_reason=leg.reject_reason,
        late_exec_ids=tuple(leg.late_exec_ids), cap=leg.cap, sibling_filled_at_ack=leg.sibling_filled_at_ack,
        level=leg.level, intended_at=leg.intended_at, sent_at=leg.sent_at, pending_qty=leg.pending_qty,
        pending_limit=leg.pending_limit, pending_stop=leg.pending_stop, status_claim=leg.status_claim,
        status_claim_at=leg.status_claim_at, last_refusal_at=leg.last_refusal_at, resends=leg.resends,
        figure_at=leg.figure_at, resized_at=leg.resized_at,
    )


def _leg(trade_id: str, s: LegState) -> LegRecord:
    return LegRecord(
        leg=s.name, intended_qty=s.intended_qty, limit_price=s.limit_price, stop_price=s.stop_price, state=s.state,
        broker_qty=s.broker_qty, order_id=s.order_id, perm_id=s.perm_id, filled=s.filled, notional=s.notional,
        cancel_refusals=s.cancel_refusals, replace_refusals=s.replace_refusals, reject_reason=s.reject_reason,
        late_exec_ids=list(s.late_exec_ids), cap=s.cap, sibling_filled_at_ack=s.sibling_filled_at_ack,
        trade_id=trade_id, role=Role(s.role), command=s.command, level=s.level, intended_at=s.intended_at,
        sent_at=s.sent_at, pending_qty=s.pending_qty, pending_limit=s.pending_limit, pending_stop=s.pending_stop,
        status_claim=s.status_claim, status_claim_at=s.status_claim_at, last_refusal_at=s.last_refusal_at,
        resends=s.resends, figure_at=s.figure_at, resized_at=s.resized_at,
    )
