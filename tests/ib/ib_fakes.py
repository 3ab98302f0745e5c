"""Fakes for the IB adapter's tests, with no socket: ib_async's own `IB()` and its real wrapper,
client serialization and decoders, with only the wire cut.

- `FakeClient` is ib_async's `Client` with `sendMsg` recording each message it would write (as
  its wire fields) instead of writing it. Orders placed and cancelled are also kept as copies taken
  at the call (ib_async overwrites the caller's `Order` later). Requests that need an answer
  (all open orders, positions, executions, completed orders, contract details) are answered at
  once through the wrapper from what the fake broker holds (`open_orders`, `positions`, ...).
  `drop()` cuts the connection the way a socket loss does (ib_async's own path).
- `Tws` sends IB's messages for those orders in the orders IB really sends them, through the
  wrapper callbacks the decoder would call: `open_order`, `status`, `execution`, `commission`,
  `error`. Perm ids and exec ids are made up the way IB makes them.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable

import attrs
from ib_async import IB, BarData, CommissionReport, Contract, ContractDetails, Execution, Order, OrderState
from ib_async.client import Client

CLIENT_ID = 7
PAPER = "DU1234567"


@attrs.frozen
class Placed:
    order_id: int
    contract: Contract
    order: Order


class FakeClient(Client):
    def __init__(self, wrapper: object, *, accounts: tuple[str, ...] = (PAPER,), port: int = 7497) -> None:
        super().__init__(wrapper)
        self.sent: list[list[str]] = []
        self.placed: list[Placed] = []
        self.cancelled: list[int] = []
        self.open_orders: list[tuple[Contract, Order, OrderState]] = []
        self.positions: list[tuple[str, Contract, float, float]] = []
        self.executions: list[tuple[Contract, Execution]] = []
        self.completed: list[tuple[Contract, Order, OrderState]] = []
        self.details: dict[str, list[ContractDetails]] = {}
        self.history: list[BarData] = []  # the answer to a reqHistoricalData
        self.on_place: Callable[[Placed], None] | None = None  # an exchange behind the fake, if any
        self.on_cancel: Callable[[int], None] | None = None
        self.accounts = accounts
        self.fake_port = port
        self.next_id = 1

    def come_up(self, next_valid_id: int | None = None) -> None:
        """The state a finished handshake leaves (`nextValidId` and the managed accounts in)."""
        self.connState = Client.CONNECTED
        self._apiReady = True
        self._serverVersion = 176
        self.decoder.serverVersion = 176
        self._accounts = list(self.accounts)
        self.host, self.port, self.clientId = "127.0.0.1", self.fake_port, CLIENT_ID
        self.wrapper.clientId = CLIENT_ID  # type: ignore[attr-defined]
        self.updateReqId(next_valid_id if next_valid_id is not None else self.next_id)

    def drop(self) -> None:
        """The socket goes away (ib_async: wrapper reset, fills and trades cleared, disconnectedEvent)."""
        self.next_id = self._reqIdSeq
        self._onSocketDisconnected("")

    # -- the wire ------------------------------------------------------------------------------
    def sendMsg(self, msg: str) -> None:
        fields = msg.split("\0")[:-1]
        self.sent.append(fields)
        self._answer(fields)

    # ib_async's own names and signatures (the adapter calls them positionally)
    def placeOrder(self, orderId: int, contract: Contract, order: Order) -> None:  # noqa: N803
        placed = Placed(orderId, copy.copy(contract), copy.copy(order))
        self.placed.append(placed)
        super().placeOrder(orderId, contract, order)
        if self.on_place is not None:
            self.on_place(placed)

    def cancelOrder(self, orderId: int, manualCancelOrderTime: str = "") -> None:  # noqa: N803
        self.cancelled.append(orderId)
        super().cancelOrder(orderId, manualCancelOrderTime)
        if self.on_cancel is not None:
            self.on_cancel(orderId)

    def _answer(self, fields: list[str]) -> None:
        w = self.wrapper
        kind = fields[0]
        if kind == "16":  # reqAllOpenOrders
            for contract, order, state in self.open_orders:
                w.openOrder(order.orderId, contract, copy.copy(order), state)
            w.openOrderEnd()
        elif kind == "61":  # reqPositions
            for account, contract, position, avg_cost in self.positions:
                w.position(account, contract, position, avg_cost)
            w.positionEnd()
        elif kind == "7":  # reqExecutions: 7, 3, reqId, clientId, acct, time, ...
            req_id = int(fields[2])
            for contract, execution in self.executions:
                w.execDetails(req_id, contract, copy.copy(execution))
            w.execDetailsEnd(req_id)
        elif kind == "99":  # reqCompletedOrders
            for contract, order, state in self.completed:
                w.completedOrder(contract, copy.copy(order), state)
            w.completedOrdersEnd()
        elif kind == "20":  # reqHistoricalData: 20, reqId, ...
            req_id = int(fields[1])
            for bar in self.history:
                w.historicalData(req_id, copy.copy(bar))
            w.historicalDataEnd(req_id, "", "")
        elif kind == "9":  # reqContractDetails: 9, 8, reqId, contract fields...
            req_id, symbol = int(fields[2]), fields[4]
            for details in self.details.get(symbol, []):
                w.contractDetails(req_id, details)
            w.contractDetailsEnd(req_id)

    def req_id(self, message: str) -> int:
        """The request id of the last message of this kind (1 market data, 20 history, 50 real-time bars)."""
        fields = [f for f in self.sent if f[0] == message][-1]
        return int(fields[1] if message == "20" else fields[2])

    def exec_filter_time(self) -> str:
        """The time field of the last reqExecutions."""
        (last,) = [f for f in self.sent if f[0] == "7"][-1:]
        return last[5]


def fake_ib(*, accounts: tuple[str, ...] = (PAPER,), port: int = 7497, up: bool = True) -> tuple[IB, FakeClient]:
    ib = IB()
    fake = FakeClient(ib.wrapper, accounts=accounts, port=port)
    fake.apiEnd += ib.disconnectedEvent
    ib.client = fake
    if up:
        fake.come_up()
    return ib, fake


class Tws:
    """IB's side of the conversation about the orders a `FakeClient` placed."""

    def __init__(self, ib: IB, fake: FakeClient) -> None:
        self.ib, self.fake = ib, fake
        self._perm = itertools.count(900_001)
        self._exec = itertools.count(1)
        self.perm_ids: dict[int, int] = {}

    def placed(self, order_id: int) -> Placed:
        return [p for p in self.fake.placed if p.order_id == order_id][-1]

    def perm(self, order_id: int) -> int:
        if order_id not in self.perm_ids:
            self.perm_ids[order_id] = next(self._perm)
        return self.perm_ids[order_id]

    def open_order(self, order_id: int, *, quantity: float | None = None, lmt: float | None = None,
                   aux: float | None = None, status: str = "Submitted", wire_id: int | None = None) -> None:
        """openOrder as IB sends it: the order as IB holds it (its own copy, with permId)."""
        placed = self.placed(order_id)
        order = copy.copy(placed.order)
        order.permId, order.clientId = self.perm(order_id), CLIENT_ID
        order.orderId = order_id if wire_id is None else wire_id
        if quantity is not None:
            order.totalQuantity = quantity
        if lmt is not None:
            order.lmtPrice = lmt
        if aux is not None:
            order.auxPrice = aux
        self.ib.wrapper.openOrder(order.orderId, copy.copy(placed.contract), order, OrderState(status=status))

    def status(self, order_id: int, status: str, filled: float = 0, remaining: float | None = None,
               avg: float = 0.0) -> None:
        quantity = self.placed(order_id).order.totalQuantity
        left = quantity - filled if remaining is None else remaining
        self.ib.wrapper.orderStatus(order_id, status, filled, left, avg, self.perm(order_id), 0, avg, CLIENT_ID, "",
                                    0.0)

    def execution(self, order_id: int, shares: float, price: float, *, exec_id: str | None = None,
                  cum: float | None = None, req_id: int = -1) -> str:
        placed = self.placed(order_id)
        exec_id = exec_id or f"0000e0d5.65{next(self._exec):06d}.01.01"
        side = "BOT" if placed.order.action == "BUY" else "SLD"
        execution = Execution(
            execId=exec_id, time=dt.datetime(2024, 3, 14, 14, 30, tzinfo=dt.UTC), acctNumber=PAPER, exchange="ISLAND",
            side=side, shares=shares, price=price, permId=self.perm(order_id), clientId=CLIENT_ID, orderId=order_id,
            cumQty=shares if cum is None else cum, avgPrice=price, orderRef=placed.order.orderRef,
        )
        self.ib.wrapper.execDetails(req_id, copy.copy(placed.contract), execution)
        return exec_id

    def commission(self, exec_id: str, amount: float = 1.0) -> None:
        self.ib.wrapper.commissionReport(CommissionReport(exec_id, amount, "USD", 0.0, 0.0, 0))

    def error(self, req_id: int, code: int, message: str = "") -> None:
        self.ib.wrapper.error(req_id, code, message or f"IB message {code}", "")

    def ack(self, order_id: int) -> None:
        """What IB sends for an order it took: openOrder, then status Submitted."""
        self.open_order(order_id)
        self.status(order_id, "Submitted")


class FakeExchange:
    """The least an exchange does, answering through `Tws` as IB would: an order is acknowledged
    when it is transmitted (a held bracket with its last child), a re-sent order id is a modify
    acknowledged with its new figures, a cancel is a Cancelled status then error 202."""

    def __init__(self, tws: Tws) -> None:
        self.tws = tws
        self.held: list[int] = []
        self.working: set[int] = set()
        tws.fake.on_place = self.place
        tws.fake.on_cancel = self.cancel

    def place(self, placed: Placed) -> None:
        if placed.order_id in self.working:
            self.tws.open_order(placed.order_id)
            self.tws.status(placed.order_id, "Submitted")
            return
        self.held.append(placed.order_id)
        if placed.order.transmit:
            for order_id in self.held:
                self.working.add(order_id)
                self.tws.ack(order_id)
            self.held.clear()

    def cancel(self, order_id: int) -> None:
        if order_id in self.working:
            self.working.discard(order_id)
            self.tws.status(order_id, "Cancelled")
            self.tws.error(order_id, 202, "Order Canceled - reason:")
        else:
            self.tws.error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found.")
