"""Intents: the `PlaceOrder` values a plan turns into, each with `orderRef = <trade_id>:<leg>`."""

from __future__ import annotations

from supervisor.plan import EntryType, TradePlan
from supervisor.port import OrderType, PlaceOrder

# IB ocaType 3: reduce the siblings' quantity by each fill, without blocking (a partial TP fill
# shrinks its stop instead of cancelling it, so the rest of the pair stays protected).
OCA_REDUCE = 3


def order_ref(trade_id: str, leg: str) -> str:
    return f"{trade_id}:{leg}"


def split_ref(ref: str) -> tuple[str, str] | None:
    trade_id, sep, leg = ref.partition(":")
    if not sep or not trade_id or not leg:
        return None
    return trade_id, leg


def entry_order(plan: TradePlan) -> PlaceOrder:
    market = plan.entry_type is EntryType.MARKET
    return PlaceOrder(
        order_ref=order_ref(plan.trade_id, "entry"),
        symbol=plan.symbol,
        action=plan.side.entry_action,
        order_type=OrderType.MARKET if market else OrderType.LIMIT,
        quantity=plan.quantity,
        limit_price=None if market else plan.entry_price,
        tif=plan.tif,
        outside_rth=plan.outside_rth,
        account=plan.account,
    )


def take_profit_order(
    plan: TradePlan, leg: str, qty: int, price: float, *, oca_group: str | None, parent_ref: str | None = None
) -> PlaceOrder:
    return _exit_order(plan, leg, qty, OrderType.LIMIT, oca_group=oca_group, parent_ref=parent_ref,
                       limit_price=price, outside_rth=plan.outside_rth)


def stop_order(
    plan: TradePlan, leg: str, qty: int, price: float, *, oca_group: str | None, parent_ref: str | None = None
) -> PlaceOrder:
    # a stop must work outside regular hours too: a gap at the open is when it matters
    return _exit_order(plan, leg, qty, OrderType.STOP, oca_group=oca_group, parent_ref=parent_ref,
                       stop_price=price, outside_rth=True)


def _exit_order(
    plan: TradePlan, leg: str, qty: int, order_type: OrderType, *, oca_group: str | None, parent_ref: str | None,
    outside_rth: bool, limit_price: float | None = None, stop_price: float | None = None,
) -> PlaceOrder:
    return PlaceOrder(
        order_ref=order_ref(plan.trade_id, leg),
        symbol=plan.symbol,
        action=plan.side.exit_action,
        order_type=order_type,
        quantity=qty,
        limit_price=limit_price,
        stop_price=stop_price,
        tif=plan.tif,
        outside_rth=outside_rth,
        oca_group=oca_group,
        oca_type=OCA_REDUCE if oca_group else 0,
        parent_ref=parent_ref,
        account=plan.account,
    )
