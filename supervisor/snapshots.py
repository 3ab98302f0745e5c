"""Read-only views of a trade for callers, printers and tests: frozen values, no machines."""

from __future__ import annotations

import attrs

from supervisor.book import TradeRecord, coverage, position


@attrs.frozen(kw_only=True)
class LegSnapshot:
    name: str
    role: str
    order_ref: str
    order_id: int | None
    state: str
    intended_qty: int
    broker_qty: int | None
    filled_qty: int
    avg_price: float
    limit_price: float | None
    stop_price: float | None
    late_exec_ids: tuple[str, ...]
    cancel_refusals: int = 0
    replace_refusals: int = 0
    reject_reason: str | None = None


@attrs.frozen(kw_only=True)
class TradeSnapshot:
    trade_id: str
    symbol: str
    side: str
    state: str
    position: int
    entry_filled: int
    exit_filled: int
    entry_avg_price: float
    stop_coverage: int
    realized_pnl: float
    commissions: float
    legs: tuple[LegSnapshot, ...]
    pairs: tuple[tuple[str, str], ...]  # (pair name, state)
    working_orders: tuple[str, ...]
    latency: tuple[tuple[str, float], ...]
    ladder: str = ""
    cover: str = ""
    milestones: str = ""

    def leg(self, name: str) -> LegSnapshot:
        for leg in self.legs:
            if leg.name == name:
                return leg
        raise KeyError(f"leg={name!r} is not in trade {self.trade_id} (legs: {[x.name for x in self.legs]})")


def snapshot(trade: TradeRecord) -> TradeSnapshot:
    legs = tuple(
        LegSnapshot(
            name=leg.leg, role=leg.role.value, order_ref=leg.order_ref, order_id=leg.order_id, state=leg.state,
            intended_qty=leg.intended_qty, broker_qty=leg.broker_qty, filled_qty=leg.filled,
            avg_price=leg.avg_price, limit_price=leg.limit_price, stop_price=leg.stop_price,
            late_exec_ids=tuple(leg.late_exec_ids), cancel_refusals=leg.cancel_refusals,
            replace_refusals=leg.replace_refusals, reject_reason=leg.reject_reason,
        )
        for leg in trade.legs.values()
    )
    return TradeSnapshot(
        trade_id=trade.trade_id, symbol=trade.p.symbol, side=trade.p.side.value, state=trade.state,
        position=position(trade), entry_filled=trade.entry.filled, exit_filled=trade.exit_filled,
        entry_avg_price=trade.entry.avg_price, stop_coverage=coverage(trade), realized_pnl=trade.realized_pnl(),
        commissions=round(sum(trade.commissions.values()), 6), legs=legs,
        pairs=tuple((pair.name, pair.state) for pair in trade.pairs),
        working_orders=tuple(leg.order_ref for leg in trade.legs.values() if leg.live),
        latency=tuple(sorted(trade.stamps.items())), ladder=trade.ladder, cover=trade.cover,
        milestones=trade.milestones,
    )
