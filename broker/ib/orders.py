"""Port values -> ib_async objects (contracts and orders), and IB's order figures -> port values.

How it works: a `PlaceOrder` becomes one `ib_async.Order` built fresh from the command (never
from an `Order` ib_async has touched): `orderRef` `<trade_id>:<leg>`, action, quantity, type,
limit (`lmtPrice`) and stop (`auxPrice`) prices, TIF, outsideRth, account, `ocaGroup`/`ocaType`,
`parentId` and `transmit`. Its contract is the command's `Instrument` when it has one (a future:
secType FUT, exchange, contract month, multiplier), else the qualified contract cached for the
symbol, else a SMART-routed USD stock.

Attached brackets (`transmit_flags`): IB holds an order placed with `transmit=False` until an
order of the same bracket arrives with `transmit=True`, then sends them together; so within one
batch the parent and every child but the last go with `transmit=False` and the last child with
`transmit=True` (a parent must never trade before its children are attached).

A modify is the whole order again under the same order id (`modified_order`), with the new
figures, re-sent as it was placed: same orderRef, OCA group and type, TIF, account, and for an
attached child the same `parentId` while the parent still works. Two IB facts shape it:
- it goes with `transmit=True`: a modify sent with `transmit=False` waits in TWS for someone to
  press Transmit (the reason the bracket's first orders are held), so it would never reach IB;
- once the parent has completely filled, the child stands alone and IB answers a modify that
  still names the parent with error 135 "Can't find order with id" (ib_insync issue 647):
  then `parentId` is 0.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Sequence
from decimal import Decimal

from ib_async import IB, Contract, Order, OrderStatus, Trade, TradeLogEntry
from ib_async.util import UNSET_DOUBLE

from broker.ib.registry import Figures, OrderRecord
from supervisor.port import Action, Command, Instrument, ModifyOrder, OrderType, PlaceOrder, SecType


def stock_contract(symbol: str) -> Contract:
    return Contract(secType="STK", symbol=symbol, exchange="SMART", currency="USD")


def instrument_contract(instrument: Instrument) -> Contract:
    if instrument.sec_type is SecType.FUTURE:
        contract = Contract(
            secType="FUT", symbol=instrument.symbol, exchange=instrument.exchange, currency=instrument.currency,
            lastTradeDateOrContractMonth=instrument.contract_month, multiplier=_number(instrument.multiplier),
        )
    else:
        contract = Contract(secType="STK", symbol=instrument.symbol, exchange=instrument.exchange,
                            currency=instrument.currency, primaryExchange=instrument.primary_exchange)
    contract.conId = instrument.con_id
    return contract


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def new_order(command: PlaceOrder, *, order_id: int, parent_id: int, transmit: bool) -> Order:
    order = Order(
        orderId=order_id, action=command.action.value, totalQuantity=float(command.quantity),
        orderType=command.order_type.value, tif=command.tif.value, outsideRth=command.outside_rth,
        orderRef=command.order_ref, transmit=transmit, parentId=parent_id, account=command.account,
    )
    if command.limit_price is not None:
        order.lmtPrice = command.limit_price
    if command.stop_price is not None:
        order.auxPrice = command.stop_price
    if command.oca_group:
        order.ocaGroup, order.ocaType = command.oca_group, command.oca_type
    return order


def modified_order(record: OrderRecord, target: Figures, *, parent_id: int) -> Order:
    """The order of `record` with `target`'s figures, ready to re-send under the same id."""
    if record.command is not None:
        order = new_order(record.command, order_id=record.order_id or 0, parent_id=parent_id, transmit=True)
    else:  # learned from IB: its own copy of the order is the only description we have
        order = dataclasses.replace(record.order, orderId=record.order_id or 0, parentId=parent_id, transmit=True)
    order.totalQuantity = float(target.quantity)
    if target.limit_price is not None:
        order.lmtPrice = target.limit_price
    if target.stop_price is not None:
        order.auxPrice = target.stop_price
    return order


def transmit_flags(commands: Sequence[Command], placeable: set[int]) -> dict[int, bool]:
    """For each index of a `PlaceOrder` in `placeable`, the `transmit` it goes with: False for a
    parent whose children follow in the batch and for every child but its parent's last."""
    last_child: dict[str, int] = {}
    for i, command in enumerate(commands):
        if i in placeable and isinstance(command, PlaceOrder) and command.parent_ref is not None:
            last_child[command.parent_ref] = i
    flags: dict[int, bool] = {}
    for i in sorted(placeable):
        command = commands[i]
        assert isinstance(command, PlaceOrder)
        if command.order_ref in last_child and last_child[command.order_ref] > i:
            flags[i] = False  # a bracket parent: held until its last child
        elif command.parent_ref is not None and last_child.get(command.parent_ref) != i:
            flags[i] = False  # not the last child of its parent
        else:
            flags[i] = True
    return flags


# -- IB's figures back into port values ------------------------------------------------------


def ib_price(value: float | Decimal | None) -> float | None:
    """IB's "no price" is UNSET_DOUBLE (max float), sometimes 0 or None."""
    if value is None:
        return None
    number = float(value)
    if number == UNSET_DOUBLE or not math.isfinite(number) or number <= 0:
        return None
    return number


def ib_quantity(value: float | Decimal) -> int:
    number = float(value)
    if number == UNSET_DOUBLE or not math.isfinite(number):
        return 0
    return round(number)


def broker_figures(order: Order) -> Figures:
    """What IB says it works: quantity, the limit of LMT types and the stop (aux) of STP types."""
    kind = order.orderType.upper()
    return Figures(
        quantity=ib_quantity(order.totalQuantity),
        limit_price=ib_price(order.lmtPrice) if "LMT" in kind else None,
        stop_price=ib_price(order.auxPrice) if "STP" in kind else None,
    )


def same_figures(asked: Figures, told: Figures) -> bool:
    return (asked.quantity == told.quantity and _same_price(asked.limit_price, told.limit_price)
            and _same_price(asked.stop_price, told.stop_price))


def _same_price(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def port_action(side: str) -> Action | None:
    """IB order actions BUY/SELL/SSHORT and execution sides BOT/SLD."""
    side = side.upper()
    if side in ("BUY", "BOT"):
        return Action.BUY
    if side in ("SELL", "SLD", "SSHORT"):
        return Action.SELL
    return None


def port_order_type(kind: str) -> OrderType | None:
    try:
        return OrderType(kind.upper())
    except ValueError:
        return None


def modify_for(record: OrderRecord, command: ModifyOrder, parent: OrderRecord | None) -> tuple[Figures, Order]:
    """The figures a modify asks for (what it leaves out stays as intended) and the order that
    re-sends them under the record's id: an attached child keeps its parentId while the parent
    works, and goes alone once the parent filled or ended."""
    held = record.intended
    target = Figures(command.quantity if command.quantity is not None else held.quantity,
                     command.limit_price if command.limit_price is not None else held.limit_price,
                     command.stop_price if command.stop_price is not None else held.stop_price)
    parent_id = 0
    if parent is not None and parent.order_id and not (parent.filled or parent.cancelled):
        parent_id = parent.order_id
    return target, modified_order(record, target, parent_id=parent_id)


def book_in_ib_async(ib: IB, contract: Contract, order: Order) -> None:
    """What `ib.placeOrder` records of a new order once written: its Trade, PendingSubmit (the
    adapter writes with `client.placeOrder`, then books the whole batch)."""
    wrapper = ib.wrapper
    order.clientId = wrapper.clientId
    key = wrapper.orderKey(wrapper.clientId, order.orderId, order.permId)
    if key in wrapper.trades:
        return  # IB already answered (ib_async made the Trade from its openOrder)
    status = OrderStatus(orderId=order.orderId, status=OrderStatus.PendingSubmit)
    now = datetime.datetime.now(wrapper.defaultTimezone)
    trade = Trade(contract, order, status, [], [TradeLogEntry(now, status.status)])
    wrapper.trades[key] = trade
    ib.newOrderEvent.emit(trade)
