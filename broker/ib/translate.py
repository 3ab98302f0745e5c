"""The whole translation: IB messages in, port events out. Every IB quirk is commented on its row.

How it works: the adapter taps ib_async's wrapper, the place where the decoder hands over each IB
message, and passes the raw message here after ib_async has kept its own books. It does not listen
to ib_async's derived events, because they are not IB's messages:
- ib_async turns ANY order error (161 "cannot cancel", 104 "cannot modify" included) into a
  synthetic `Cancelled` status on its `orderStatusEvent`, and 110 into a synthetic
  `ValidationError`: the order is still alive at IB;
- it drops a `commissionReport` whose execution it does not know (yet, or any more);
- it drops an `orderStatus` or an `execDetails` whose order it cannot match.

    IB message                               port event
    ---------------------------------------  ------------------------------------------------------
    openOrder, the first for an order we     OrderAccepted with IB's totalQuantity, prices, permId
      placed
    openOrder while our modify is in flight, ReplaceAccepted with IB's figures
      showing the figures it asked for
    openOrder (any other)                    nothing (IB repeats it on every change)
    orderStatus                              StatusObserved, always (a snapshot: never applied)
      ... Cancelled / ApiCancelled           ... then OrderCancelled, once per order
    execDetails, live (reqId -1)             ExecutionReported: exec id, shares, price, orderRef,
                                             permId, account (one per execution, corrections too)
    execDetails answering reqExecutions      nothing (it is broker truth: `fetch_truth` returns it)
    commissionReport                         CommissionReported, even before its execution
    error                                    ERROR_TABLE below, by the request in flight
    socket lost / connected again            ConnectionLost / ConnectionRestored

An error code means different things for different requests (10147 refuses a modify or a cancel;
201 rejects a new order but may refuse a modify of a live one), so each row of `ERROR_TABLE` says
what the code does to a placement (no modify or cancel in flight), to a modify and to a cancel.
A modify refused because IB ended the order after the modify went out (it filled, or its OCA group
cancelled it: the end is reported first, then e.g. 10147 "not found ... is Cancelled" for the
modify) is a `BrokerNotice`: the modify lost a race with the order's end, already reported.
A code that is in no row and names one of our orders is a `BrokerNotice`: the order is not known
to be dead, and the supervisor's deadlines and reconciliation settle what really happened.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

from ib_async import CommissionReport, Contract, Execution, Order, OrderState
from ib_async.util import UNSET_DOUBLE

from broker.ib.orders import broker_figures, ib_quantity, port_action, same_figures
from broker.ib.registry import OrderRecord, OrderRegistry
from broker.ib.safety import mask_account
from supervisor.port import (
    BrokerEvent,
    BrokerNotice,
    CancelRejected,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)


class Out(enum.Enum):
    REJECTED = "OrderRejected"
    CANCELLED = "OrderCancelled"
    CANCEL_REFUSED = "CancelRejected"
    REPLACE_REFUSED = "ReplaceRejected"
    NOTICE = "BrokerNotice"
    # 201 on a modify: the modify was refused, unless IB ended the order since it went out
    REPLACE_REFUSED_UNLESS_ENDED = "ReplaceRejected unless ended"


R, C, M, N = Out.REJECTED, Out.CANCEL_REFUSED, Out.REPLACE_REFUSED, Out.NOTICE

# code -> (on a placement, on a modify, on a cancel)
ERROR_TABLE: dict[int, tuple[Out, Out, Out]] = {
    # a reject arrives as status Cancelled, THEN error 201 with the reason: each is translated as
    # it comes (OrderCancelled, then OrderRejected) and the supervisor ends the leg rejected.
    # A modify IB refuses leaves the order working, and also comes as 201 without a Cancelled.
    201: (R, Out.REPLACE_REFUSED_UNLESS_ENDED, R),
    202: (Out.CANCELLED, Out.CANCELLED, Out.CANCELLED),  # "Order cancelled": by us, IB or the exchange
    161: (N, N, C),  # cancel refused: the order is not cancellable (it filled before the cancel got there)
    10147: (R, M, C),  # "OrderId that needs to be cancelled/modified is not found"
    10148: (R, M, C),  # "OrderId that needs to be cancelled cannot be cancelled, state: ..."
    104: (N, M, N),  # "Can't modify a filled order"
    105: (N, M, N),  # "Order being modified does not match original order"
    134: (N, M, N),  # "Modify order failed"
    2102: (N, M, N),  # "Unable to modify this order as it is still being processed" (a 21xx that refuses)
    # the parent of an attached child is unknown; on a modify: the parent already filled
    135: (R, M, C),
    136: (N, N, C),  # "This order cannot be cancelled"
    # 110 "price does not conform to the minimum price variation": ib_async calls it a warning,
    # but a new order with it never works, and a modify with it is refused (the order stays).
    110: (R, M, N),
    # IB refuses these orders outright (a modify asking for the same is refused, the order stays)
    103: (R, M, N),  # duplicate order id
    106: (R, M, N),  # can't transmit order id
    107: (R, M, N),  # cannot transmit incomplete order
    109: (R, M, N),  # price out of the range of the percentage setting
    111: (R, M, N),  # TIF and order type are incompatible
    113: (R, M, N),  # TIF should be DAY for MOC/LOC
    117: (R, M, N),  # order type not supported
    133: (R, M, N),  # submit new order failed
    140: (R, M, N),  # size should be an integer
    154: (R, M, N),  # orders cannot be transmitted for a halted security
    200: (R, M, N),  # no security definition found
    203: (R, M, N),  # security not available or allowed for this account
    321: (R, M, N),  # error validating the request (on a modify the order is still live)
    383: (R, M, N),  # size exceeds the size limit
    387: (R, M, N),  # unsupported order type for this exchange
    388: (R, M, N),  # size smaller than the minimum
    434: (R, M, N),  # size cannot be zero (ib_async: a warning)
    10006: (R, M, N),  # missing parent order
    10149: (R, M, C),  # invalid order id
    10268: (R, M, N),  # the 'EtradeOnly' attribute is not supported
    10269: (R, M, N),  # the 'firmQuoteOnly' attribute is not supported
    10270: (R, M, N),  # the 'nbboPriceCap' attribute is not supported
    # warnings on a live order, which keeps working: 399 order message ("will not be placed until
    # the market opens"), 404 shares held for locate, 10167 delayed data; 21xx below
}

CONNECTIVITY: dict[int, type[ConnectionLost] | type[ConnectionRestored] | None] = {
    1100: ConnectionLost,  # connectivity between TWS and IB lost (the socket to TWS may be up)
    1101: ConnectionRestored,  # restored, market data lost (the adapter subscribes again)
    1102: ConnectionRestored,  # restored, data maintained
    # 2110 "connectivity between TWS and server is broken, it will be restored automatically":
    # a notice, by choice. 1100 is IB's authoritative loss and 1101/1102 end it; 2110 has no
    # matching "restored", and a ConnectionLost nothing ends would leave legs `unknown` forever.
    2110: None,
    1300: None,  # TWS socket port reset (the socket loss that follows is what counts)
    326: None,  # client id in use: only at connect (the adapter raises ClientIdInUseError there)
    502: None,  # couldn't connect to TWS
    504: None,  # not connected
}

TERMINAL_STATUSES = frozenset({"Cancelled", "ApiCancelled"})  # "Inactive" is not: IB may still hold it


class Translator:
    """Turns raw IB messages into port events. `client_id` reads the connection's API client id."""

    def __init__(self, registry: OrderRegistry, clock: Callable[[], float], client_id: Callable[[], int]) -> None:
        self.registry = registry
        self.clock = clock
        self.client_id = client_id
        self.link_up = False  # the last connection event said: up
        self._foreign_execs: set[str] = set()  # executions of orders not ours: their commissions too

    # -- orders --------------------------------------------------------------------------------
    def open_order(self, order_id: int, contract: Contract, order: Order, state: OrderState) -> list[BrokerEvent]:
        if order.whatIf:
            return []
        record = self.registry.find(ref=order.orderRef, perm_id=order.permId, order_id=order_id,
                                    client_id=order.clientId)
        if record is None:
            self._learn(order_id, contract, order)
            return []  # not placed by us in this process: reconciliation knows it from broker truth
        self.registry.bind_perm(record, order.permId)
        told = broker_figures(order)
        now = self.clock()
        if not record.accepted:
            if state.status in TERMINAL_STATUSES or told.quantity <= 0:
                return []  # an echo of an order that never worked: its status or error says why
            record.accepted = True
            # the broker's totalQuantity, not ours: a child sized to its parent is seen here
            return [OrderAccepted(record.ref, _id(order_id) or record.order_id, told.quantity, told.limit_price,
                                  told.stop_price, now, _id(order.permId) or record.perm_id)]
        if record.modify is not None and same_figures(record.modify, told):
            # IB re-sends openOrder on every change; only the one showing what we asked answers the modify
            record.modify, record.intended = None, told
            return [ReplaceAccepted(record.ref, record.order_id, told.quantity, told.limit_price, told.stop_price,
                                    now)]
        return []

    def _learn(self, order_id: int, contract: Contract, order: Order) -> None:
        # an order of ours from an earlier process comes back in the startup openOrders: remember
        # its ids so its statuses, modifies and cancels find it. Other clients' orders are not
        # ours to touch (their order ids live in their own client's space).
        if ":" not in order.orderRef or order.clientId != self.client_id() or order.orderRef in self.registry:
            return
        record = OrderRecord(order.orderRef, contract, order, broker_figures(order), accepted=True)
        self.registry.add(record)
        self.registry.bind_perm(record, order.permId)
        if order_id > 0:
            self.registry.bind_id(record, order.clientId, order_id)

    # the signature of IB's orderStatus message, which the tap passes on positionally
    def order_status(self, order_id: int, status: str, filled: float, remaining: float, avg_price: float,  # noqa: PLR0917
                     perm_id: int, parent_id: int, last_price: float, client_id: int, why_held: str,
                     mkt_cap_price: float = 0.0) -> list[BrokerEvent]:
        del parent_id, last_price, why_held, mkt_cap_price
        record = self.registry.find(perm_id=perm_id, order_id=order_id, client_id=client_id)
        if record is None:
            return []
        self.registry.bind_perm(record, perm_id)
        now = self.clock()
        # statuses repeat and usually run ahead of the execDetails that explain them (Filled
        # before any execution): a snapshot, journaled and compared, never applied
        events: list[BrokerEvent] = [StatusObserved(record.ref, record.order_id, status, max(ib_quantity(filled), 0),
                                                    max(ib_quantity(remaining), 0), _finite(avg_price), now)]
        if status == "Filled" and ib_quantity(remaining) == 0:
            record.filled = True
        if status in TERMINAL_STATUSES:
            record.ended_since_modify = record.modify is not None
            if not record.cancelled:
                # said once: the repeats, and a fill arriving after the cancel (the status stays
                # Cancelled while executions still come), add nothing
                record.cancelled = True
                record.cancel_requested = False
                events.append(OrderCancelled(record.ref, record.order_id, f"status {status}", now))
        return events

    def exec_details(self, req_id: int, contract: Contract, execution: Execution) -> list[BrokerEvent]:
        if req_id != -1:
            # an answer to reqExecutions (ib_async's startup one after a reconnect included: it
            # refills its fills without execDetailsEvent); reconciliation asks for these itself
            return []
        record = self.registry.find(ref=execution.orderRef, perm_id=execution.permId, order_id=execution.orderId,
                                    client_id=execution.clientId)
        ref = record.ref if record is not None else execution.orderRef
        action, qty = port_action(execution.side), ib_quantity(execution.shares)
        if ":" not in ref or action is None or qty <= 0 or not execution.execId:
            self._foreign_execs.add(execution.execId)
            return []  # a manual trade or another client's: positions and reconciliation show it
        if record is not None:
            self.registry.bind_perm(record, execution.permId)
            if ib_quantity(execution.cumQty) >= record.intended.quantity > 0:
                record.filled = True
        # each execution passes with its own id; a correction (...01.02 after ...01.01) is one more
        # execution to ib_async (trade.fills and trade.filled() count both): never sum them here
        if record is not None:
            order_id = record.order_id
        else:  # an order id names an order only in its own client's space
            order_id = _id(execution.orderId) if execution.clientId == self.client_id() else None
        return [ExecutionReported(
            ref, order_id, execution.execId, action, qty, execution.price, self.clock(), contract.symbol,
            _id(execution.permId), execution.acctNumber,
        )]

    def commission(self, report: CommissionReport) -> list[BrokerEvent]:
        # it may come late, or before we know its execution (ib_async drops that one): passed on
        # by exec id, the supervisor files it whichever arrives first
        if not report.execId or report.execId in self._foreign_execs:
            return []
        if report.commission == UNSET_DOUBLE or not math.isfinite(report.commission):
            return []
        return [CommissionReported(report.execId, report.commission, report.currency or "USD", self.clock())]

    # -- errors --------------------------------------------------------------------------------
    def error(self, req_id: int, code: int, message: str, advanced: str = "") -> list[BrokerEvent]:
        del advanced
        now = self.clock()
        if code in CONNECTIVITY:
            kind = CONNECTIVITY[code]
            if kind is ConnectionLost:
                return self.link_lost()
            if kind is ConnectionRestored:
                return self.link_restored()
            return [BrokerNotice(code, message, now)]
        record = self.registry.find(order_id=req_id, client_id=self.client_id()) if req_id > 0 else None
        if record is None:
            return [BrokerNotice(code, message, now)]  # farm status (21xx), market data, or not ours
        outcome = self._outcome(record, code)
        if outcome is Out.REPLACE_REFUSED_UNLESS_ENDED:
            outcome = Out.REJECTED if record.ended_since_modify else Out.REPLACE_REFUSED
        elif outcome is Out.REPLACE_REFUSED and (record.cancelled or record.filled):
            # the order ended after the modify went out (a modify of an ended order is refused
            # before it is sent): its end is reported, the refusal of the modify adds nothing
            record.modify = None
            return [BrokerNotice(code, f"{record.ref}: {message} (the order had ended before the modify got there)",
                                 now)]
        ref, order_id = record.ref, record.order_id
        if outcome is Out.REJECTED:
            record.modify, record.cancel_requested = None, False
            return [OrderRejected(ref, order_id, code, message, now)]
        if outcome is Out.CANCELLED:
            if record.cancelled:
                return []
            record.cancelled, record.cancel_requested = True, False
            return [OrderCancelled(ref, order_id, message, now)]
        if outcome is Out.CANCEL_REFUSED:
            record.cancel_requested = False
            return [CancelRejected(ref, order_id, code, message, now)]
        if outcome is Out.REPLACE_REFUSED:
            record.modify = None
            return [ReplaceRejected(ref, order_id, code, message, now)]
        return [BrokerNotice(code, f"{ref}: {message}", now)]

    @staticmethod
    def _outcome(record: OrderRecord, code: int) -> Out:
        row = ERROR_TABLE.get(code)
        if row is None:
            return Out.NOTICE
        on_place, on_modify, on_cancel = row
        if record.cancel_requested:
            return on_cancel
        if record.modify is not None:
            return on_modify
        return on_place

    # -- the connection ------------------------------------------------------------------------
    def link_lost(self) -> list[BrokerEvent]:
        if not self.link_up:
            return []
        self.link_up = False
        return [ConnectionLost(self.clock())]

    def link_restored(self) -> list[BrokerEvent]:
        if self.link_up:
            return []
        self.link_up = True
        return [ConnectionRestored(self.clock())]


def _id(value: int) -> int | None:
    return value if value > 0 else None  # IB's 0 (finished orders after a reconnect, manual orders)


def _finite(value: float) -> float:
    return value if math.isfinite(value) and value != UNSET_DOUBLE else 0.0


def describe_execution(execution: Execution) -> str:
    """For logs: the execution without the account in full."""
    return (f"{execution.execId} {execution.side} {execution.shares}@{execution.price} ref={execution.orderRef!r} "
            f"acct={mask_account(execution.acctNumber)}")
