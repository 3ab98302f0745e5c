"""Read-only views of a trade for callers, printers and tests: frozen values, no machines."""

from __future__ import annotations

import attrs

from supervisor.book import TradeBook


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
    replace_failures: tuple[str, ...]


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
    pairs: tuple[tuple[int, str], ...]
    working_orders: tuple[str, ...]
    latency: tuple[tuple[str, float], ...]

    def leg(self, name: str) -> LegSnapshot:
        for leg in self.legs:
            if leg.name == name:
                return leg
        raise KeyError(f"leg={name!r} is not in trade {self.trade_id} (legs: {[x.name for x in self.legs]})")


def snapshot(book: TradeBook) -> TradeSnapshot:
    legs = tuple(
        LegSnapshot(
            name=slot.name, role=slot.role.value, order_ref=slot.order_ref, order_id=slot.model.order_id,
            state=slot.state, intended_qty=slot.model.intended_qty, broker_qty=slot.model.broker_qty,
            filled_qty=slot.model.filled_qty, avg_price=slot.model.avg_price, limit_price=slot.model.limit_price,
            stop_price=slot.model.stop_price, late_exec_ids=tuple(slot.model.late_exec_ids),
            replace_failures=tuple(slot.model.replace_failures),
        )
        for slot in book.legs.values()
    )
    return TradeSnapshot(
        trade_id=book.trade_id, symbol=book.plan.symbol, side=book.plan.side.value,
        state=str(book.trade.current_state_value), position=book.position, entry_filled=book.entry_filled,
        exit_filled=book.exit_filled, entry_avg_price=book.entry.model.avg_price,
        stop_coverage=book.stop_coverage(), realized_pnl=book.realized_pnl(),
        commissions=round(sum(book.commissions.values()), 6), legs=legs,
        pairs=tuple((level, pair.state) for level, pair in sorted(book.pairs.items())),
        working_orders=tuple(slot.order_ref for slot in book.legs.values() if slot.live),
        latency=tuple(sorted(book.latency.items())),
    )
