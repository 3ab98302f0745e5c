# What the gateway answers when a client asks about the state of things: open orders, completed
# orders, executions (with IB's filter), positions, and the account (values, portfolio, summary).
# Every answer is read from the exchange's truth at the moment of asking (the SimBrokers' orders,
# executions and positions, outage or not) joined with the desk's records for the client-side
# identity (client id, order id, perm id, orderRef). Each function returns the messages for the
# asking client, in the order TWS sends them, ending with the request's end marker.
from __future__ import annotations

from zoneinfo import ZoneInfo

from broker.tws import replies
from broker.tws import replies_data as data
from broker.tws.desk import FINAL, OrderDesk
from broker.tws.market import format_time, parse_ib_time
from broker.tws.records import ib_exec_id
from broker.tws.requests import ContractSpec, ReqExecutions
from broker.tws.wire import Field
from supervisor.port import Action

STARTING_CASH = 1_000_000.0
LIVE = ("PendingSubmit", "PreSubmitted", "Submitted")


def open_orders(desk: OrderDesk, client_id: int | None) -> list[list[Field]]:
    """openOrder + orderStatus for every working order (of `client_id`, or of every client), then
    openOrderEnd. Orders still held for their family (transmit=False) are not at the exchange."""
    out: list[list[Field]] = []
    for order in desk.all_orders():
        if (client_id is not None and order.client_id != client_id) or not order.transmitted or order.told_cancelled:
            continue
        view = desk.exchange.order(order.contract.symbol, order.sim_ref)
        if view is None or view.status not in LIVE:
            continue
        _, avg = order.cumulative()
        out.append(replies.open_order(order, view.status, view.quantity, view.limit_price, view.stop_price))
        out.append(replies.order_status(order, view.status, view.filled, view.quantity - view.filled, avg))
    out.append(data.open_order_end())
    return out


def completed_orders(desk: OrderDesk) -> list[list[Field]]:
    """Every finished order of every client, as IB reports them after a reconnect: no order id."""
    out: list[list[Field]] = []
    for order in desk.all_orders():
        view = desk.exchange.order(order.contract.symbol, order.sim_ref) if order.transmitted else None
        status = "Cancelled" if order.told_cancelled else (view.status if view is not None else "")
        if status not in FINAL:
            continue
        quantity = view.quantity if view is not None else order.quantity
        filled = view.filled if view is not None else 0
        limit = view.limit_price if view is not None else order.request.limit_price
        aux = view.stop_price if view is not None else order.request.aux_price
        when = order.completed_at if order.completed_at is not None else desk.exchange.now()
        out.append(replies.completed_order(
            order, status=status, quantity=quantity, filled=filled, limit=limit, aux=aux,
            completed_time=format_time(when, desk.tz), completed_status=order.reason or status,
        ))
    out.append(data.completed_orders_end())
    return out


def executions(desk: OrderDesk, request: ReqExecutions) -> list[list[Field]]:
    """execDetails (each followed by its commissionReport) for every execution the filter lets
    through, then execDetailsEnd. A correction is reported in place of what it corrects."""
    since = None
    if request.time:
        try:
            since = parse_ib_time(request.time, desk.tz)
        except ValueError as exc:  # refused, and ended: the client's request must not hang
            message = f"Error validating request.-'time' : cause - {exc} (got {request.time!r})"
            return [replies.error(request.req_id, 321, message), data.exec_details_end(request.req_id)]
    out: list[list[Field]] = []
    cumulative: dict[str, tuple[int, float]] = {}
    config = desk.exchange.config
    for execution in desk.exchange.executions():
        order = desk.by_ref(execution.order_ref)
        if order is None:
            continue
        qty, notional = cumulative.get(execution.order_ref, (0, 0.0))
        qty, notional = qty + execution.qty, notional + execution.qty * execution.price
        cumulative[execution.order_ref] = (qty, notional)
        side = "BOT" if execution.action is Action.BUY else "SLD"
        if not _passes(request, order.client_id, order.contract.symbol, side, time=execution.time, since=since,
                       account=desk.account):
            continue
        exec_id = ib_exec_id(execution.exec_id)
        out.append(replies.exec_details(
            request.req_id, order, exec_id=exec_id, time=format_time(execution.time, desk.tz), account=desk.account,
            side=side, shares=execution.qty, price=execution.price, cum_qty=qty, avg_price=notional / qty,
        ))
        out.append(replies.commission_report(exec_id, config.commission(execution.qty), config.currency))
    out.append(data.exec_details_end(request.req_id))
    return out


def _passes(request: ReqExecutions, client_id: int, symbol: str, side: str, *, time: float, since: float | None,
            account: str) -> bool:
    wanted_side = {"BUY": "BOT", "SELL": "SLD"}.get(request.side, request.side)
    return (
        (not request.client_id or request.client_id == client_id)
        and (not request.account or request.account == account)
        and (not request.symbol or request.symbol.upper() == symbol)
        and (not request.sec_type or request.sec_type.upper() == "STK")
        and (not wanted_side or wanted_side == side)
        and (since is None or time >= since)
    )


def positions(desk: OrderDesk) -> list[list[Field]]:
    out: list[list[Field]] = []
    for held in desk.exchange.positions():
        contract = desk.contracts.resolve(ContractSpec(symbol=held.symbol))
        out.append(data.position(desk.account, contract, held.quantity, round(held.avg_cost, 6)))
    out.append(data.position_end())
    return out


def position_updates(desk: OrderDesk, symbols: list[str]) -> list[list[Field]]:
    """One position message per symbol that traded, flat ones included (a subscriber drops them)."""
    held = {p.symbol: p for p in desk.exchange.positions()}
    out: list[list[Field]] = []
    for symbol in symbols:
        contract = desk.contracts.resolve(ContractSpec(symbol=symbol))
        position = held.get(symbol)
        quantity, avg = (position.quantity, round(position.avg_cost, 6)) if position is not None else (0, 0.0)
        out.append(data.position(desk.account, contract, quantity, avg))
    return out


def account_values(desk: OrderDesk) -> list[tuple[str, str, str]]:
    """(tag, value, currency) of the account, folded from every execution at the last price."""
    config = desk.exchange.config
    cash = STARTING_CASH
    for execution in desk.exchange.executions():
        signed = execution.qty * execution.price
        cash += -signed if execution.action is Action.BUY else signed
        cash -= config.commission(execution.qty)
    price = desk.exchange.last_price()
    gross = sum(abs(p.quantity) * price for p in desk.exchange.positions())
    net = cash + sum(p.quantity * price for p in desk.exchange.positions())
    margin = 0.25 * gross
    ccy = config.currency
    values = {
        "NetLiquidation": net, "TotalCashValue": cash, "SettledCash": cash, "EquityWithLoanValue": net,
        "GrossPositionValue": gross, "InitMarginReq": margin, "MaintMarginReq": margin,
        "AvailableFunds": net - margin, "ExcessLiquidity": net - margin, "BuyingPower": 4 * (net - margin),
    }
    return [("AccountType", "INDIVIDUAL", ""), ("Currency", ccy, ccy)] + [
        (tag, f"{value:.2f}", ccy) for tag, value in values.items()
    ]


def account_updates(desk: OrderDesk) -> list[list[Field]]:
    """reqAccountUpdates: values, one portfolio line per position, the time, then the end."""
    out: list[list[Field]] = [data.account_value(tag, value, ccy, desk.account)
                              for tag, value, ccy in account_values(desk)]
    out += portfolio(desk)
    local = format_time(desk.exchange.now(), ZoneInfo(desk.exchange.config.timezone))
    out.append(data.account_time(local[9:14]))
    out.append(data.account_download_end(desk.account))
    return out


def portfolio(desk: OrderDesk, symbol: str | None = None) -> list[list[Field]]:
    price = desk.exchange.last_price()
    out: list[list[Field]] = []
    held = {p.symbol: p for p in desk.exchange.positions()}
    for name in [symbol] if symbol is not None else sorted(held):
        contract = desk.contracts.resolve(ContractSpec(symbol=name))
        position = held.get(name)
        quantity, avg = (position.quantity, round(position.avg_cost, 6)) if position is not None else (0, 0.0)
        out.append(data.portfolio(contract, quantity, price, avg, desk.account))
    return out
