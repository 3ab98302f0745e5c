"""Broker truth: what IB answers when asked, as the port's `BrokerTruth` values.

How it works: `fetch_truth` in the adapter asks IB four things and this module turns each answer
into port values, one function per answer:
- open orders of ALL clients (`reqAllOpenOrders`) -> `OpenOrder`. Another client's order keeps its
  ref and permId but no order id: order ids live in each client's own space, and ours must never
  name another client's order;
- positions (`reqPositions`) -> `Position` (IB's avgCost of a future includes the multiplier: it is
  divided out, so every avg_cost is a price);
- executions (`reqExecutions`, filtered by time) -> `ExecutionReported` carrying IB's execution time.
  After a reconnect ib_async refills its fills from its startup `reqExecutions` without any
  `execDetailsEvent`: this explicit request is how reconciliation learns what filled meanwhile;
- completed orders (`reqCompletedOrders`) -> `CompletedOrder`. They come back with orderId 0 after a
  reconnect: they are matched by permId and orderRef, and order id 0 becomes None.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable

from ib_async import IB, ExecutionFilter, Fill, Trade
from ib_async import Position as IBPosition
from loguru import logger

from broker.ib.orders import broker_figures, ib_price, ib_quantity, port_action, port_order_type
from broker.ib.safety import mask_account
from supervisor.port import BrokerTruth, CompletedOrder, ExecutionReported, OpenOrder, Position

# executions are asked for from a little before `executions_since`: IB filters by whole seconds of
# execution time, while the caller's mark is an arrival time on its own clock. A few duplicates
# are harmless (the supervisor de-duplicates by exec id); a missed fill is not.
EXECUTION_LOOKBACK = 60.0


def execution_filter(since: float | None) -> ExecutionFilter:
    """Every client's executions (the filter's clientId 0 means any), from `since` on (UTC)."""
    if since is None:
        return ExecutionFilter()
    start = dt.datetime.fromtimestamp(since - EXECUTION_LOOKBACK, dt.UTC)
    return ExecutionFilter(time=start.strftime("%Y%m%d-%H:%M:%S"))


def open_orders(trades: Iterable[Trade], client_id: int) -> tuple[OpenOrder, ...]:
    out: list[OpenOrder] = []
    refs = {t.order.orderId: t.order.orderRef for t in trades if t.order.clientId == client_id}
    for trade in trades:
        order, contract = trade.order, trade.contract
        action, kind = port_action(order.action), port_order_type(order.orderType)
        if action is None or kind is None:
            logger.warning("IB open order {} ({} {}) has no port equivalent: left out of broker truth",
                           order.orderRef or order.permId, order.action, order.orderType)
            continue
        ours = order.clientId == client_id and order.orderId > 0
        figures = broker_figures(order)
        out.append(OpenOrder(
            order_ref=order.orderRef, order_id=order.orderId if ours else None, symbol=contract.symbol,
            action=action, order_type=kind, quantity=figures.quantity,
            filled=ib_quantity(trade.orderStatus.filled) if trade.orderStatus.filled else 0,
            limit_price=figures.limit_price, stop_price=figures.stop_price, oca_group=order.ocaGroup or None,
            status=trade.orderStatus.status, perm_id=order.permId or None,
            parent_ref=(refs.get(order.parentId) or None) if ours and order.parentId else None,
            account=order.account,
        ))
    return tuple(out)


def positions(items: Iterable[IBPosition]) -> tuple[Position, ...]:
    out = []
    for item in items:
        quantity = ib_quantity(item.position)
        if quantity == 0:
            continue
        multiplier = float(item.contract.multiplier or 1) if item.contract.secType == "FUT" else 1.0
        out.append(Position(item.contract.symbol, quantity, item.avgCost / (multiplier or 1.0), item.account))
    return tuple(out)


def executions(fills: Iterable[Fill], since: float | None, client_id: int) -> tuple[ExecutionReported, ...]:
    out: dict[str, ExecutionReported] = {}
    floor = None if since is None else since - EXECUTION_LOOKBACK
    for fill in fills:
        ex = fill.execution
        action, qty, price = port_action(ex.side), ib_quantity(ex.shares), ib_price(ex.price)
        if action is None or qty <= 0 or price is None or not ex.execId:
            logger.warning("IB execution {} {} {}@{} left out of broker truth (acct {})",
                           ex.execId, ex.side, ex.shares, ex.price, mask_account(ex.acctNumber))
            continue
        when = ex.time.timestamp()
        if floor is not None and when < floor:
            continue
        ours = ex.clientId == client_id and ex.orderId > 0
        out[ex.execId] = ExecutionReported(
            ex.orderRef, ex.orderId if ours else None, ex.execId, action, qty, price, when,
            fill.contract.symbol, ex.permId or None, ex.acctNumber,
        )
    return tuple(sorted(out.values(), key=lambda e: (e.time, e.exec_id)))


def completed_orders(trades: Iterable[Trade], reasons: dict[int, str]) -> tuple[CompletedOrder, ...]:
    """`reasons`: IB's completedStatus text by permId (ib_async keeps only the status word)."""
    out = []
    for trade in trades:
        order = trade.order
        action = port_action(order.action)
        if action is None:
            continue
        filled = ib_quantity(order.filledQuantity) if order.filledQuantity is not None else 0
        out.append(CompletedOrder(
            order_ref=order.orderRef, perm_id=order.permId or None, symbol=trade.contract.symbol, action=action,
            quantity=ib_quantity(order.totalQuantity), filled=max(filled, 0), status=trade.orderStatus.status,
            reason=reasons.get(order.permId, ""),
            order_id=order.orderId if order.orderId > 0 else None,  # 0 after a reconnect: match by permId/ref
        ))
    return tuple(out)


async def fetch(ib: IB, timeout: float, client_id: int, executions_since: float | None, *,
                clock: Callable[[], float], completed_reasons: dict[int, str]) -> BrokerTruth:
    """Asked one after the other: open orders of every client, positions, executions since a time
    (every client's), completed orders. Where an order moved between two answers, its executions
    are the truth that wins."""
    trades = await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), timeout)
    held = await asyncio.wait_for(ib.reqPositionsAsync(), timeout)
    fills = await asyncio.wait_for(ib.reqExecutionsAsync(execution_filter(executions_since)), timeout)
    completed = await asyncio.wait_for(ib.reqCompletedOrdersAsync(False), timeout)
    return BrokerTruth(
        open_orders=open_orders(trades, client_id), positions=positions(held),
        executions=executions(fills, executions_since, client_id), time=clock(),
        completed_orders=completed_orders(completed, completed_reasons),
    )
