# How client orders meet the exchange, and how the exchange's reports reach the client in IB's
# order. `place` / `cancel` turn a client's placeOrder / cancelOrder into the port's commands for
# the symbol's SimBroker (keyed by the record's unique ref, so the client's own ids and orderRefs
# may repeat); `translate` turns what the exchange reported into the client's messages:
# - OrderAccepted -> openOrder; StatusObserved -> orderStatus (a status after Cancelled stays
#   Cancelled: IB can fill an order after confirming its cancel, the late-fill fault);
# - ExecutionReported -> orderStatus, execDetails, orderStatus again: IB sends the status that
#   explains a fill before the fill, and repeats it (the status is taken from later in the batch);
# - CommissionReported -> commissionReport (held back `commission_delay` seconds if asked);
# - OrderCancelled -> orderStatus Cancelled, then error 202 when the client asked for the cancel;
# - OrderRejected -> orderStatus Cancelled, then the error (201 ...) with its reason;
# - CancelRejected / ReplaceRejected -> the error (161: not cancellable, 104: filled, ...); a
#   modification the exchange refuses for its figures is 321, as the order keeps working;
# - ReplaceAccepted -> openOrder with the new figures (its status follows from the exchange).
# TWS holds an order sent with transmit=False: nothing reaches the exchange until an order of the
# same family (its parent or a child) arrives with transmit=True; then the family goes out, parent
# first, children in the order they came. Bracket children that name no OCA group share one of
# their own (ocaType 3: a partial fill reduces the sibling), as TWS treats bracket siblings.
from __future__ import annotations

import itertools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from broker.tws import replies
from broker.tws.contracts import Contracts
from broker.tws.exchange import SimExchange
from broker.tws.market import format_time
from broker.tws.records import TYPES, TwsOrder, ib_exec_id
from broker.tws.requests import PlaceOrderRequest, RequestError
from broker.tws.wire import Field
from supervisor.port import (
    Action,
    BrokerEvent,
    CancelOrder,
    CancelRejected,
    CommissionReported,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderType,
    PlaceOrder,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
    TimeInForce,
)

Out = tuple[int, list[Field]]  # a message for the client with this id
FIRST_PERM_ID = 1_000_000_001
FINAL = ("Filled", "Cancelled", "Inactive")


def _invalid(order_id: int, field: str, value: object, problem: str) -> RequestError:
    return RequestError(321, f"Error validating request.-'{field}' : cause - {problem} (got {value!r})", order_id)


class OrderDesk:
    def __init__(self, exchange: SimExchange, contracts: Contracts, account: str, commission_delay: float = 0.0):
        self.exchange = exchange
        self.contracts = contracts
        self.account = account
        self.commission_delay = commission_delay
        self.orders: dict[tuple[int, int], TwsOrder] = {}
        self._by_ref: dict[str, TwsOrder] = {}
        self._by_exec: dict[str, TwsOrder] = {}
        self._held: list[TwsOrder] = []  # sent with transmit=False, waiting for their family
        self._late: list[tuple[float, int, list[Field]]] = []  # delayed commission reports
        self._perm_ids = itertools.count(FIRST_PERM_ID)
        self.tz = ZoneInfo(contracts.config.timezone)

    # -- what clients ask ----------------------------------------------------------------------

    def next_order_id(self, client_id: int) -> int:
        return max((oid for cid, oid in self.orders if cid == client_id), default=0) + 1

    def place(self, client_id: int, request: PlaceOrderRequest) -> list[Out]:
        """A new order, or (same client, same order id) a modification. Errors name the field."""
        try:
            existing = self.orders.get((client_id, request.order_id))
            if existing is not None:
                return self._modify(existing, request)
            order = self._new(client_id, request)
        except RequestError as problem:
            return [(client_id, replies.error(problem.req_id, problem.code, problem.message))]
        self.orders[(client_id, order.order_id)] = order
        self._by_ref[order.sim_ref] = order
        if request.transmit:
            self._transmit(order)
        else:
            self._held.append(order)
        return []

    def cancel(self, client_id: int, order_id: int) -> list[Out]:
        order = self.orders.get((client_id, order_id))
        if order is None:
            message = f"OrderId {order_id} that needs to be cancelled is not found."
            return [(client_id, replies.error(order_id, 10147, message))]
        if not order.transmitted:
            return self._cancel_held(order)
        order.cancel_requested = True
        self.exchange.execute(order.contract.symbol, CancelOrder(order.sim_ref))
        return []

    def global_cancel(self) -> list[Out]:
        out: list[Out] = []
        for order in list(self.orders.values()):
            view = self.exchange.order(order.contract.symbol, order.sim_ref)
            live = not order.transmitted or (view is not None and view.status not in FINAL)
            if live and not order.told_cancelled:
                out += self.cancel(order.client_id, order.order_id)
        return out

    # -- new orders, modifications, the held family --------------------------------------------

    def _new(self, client_id: int, r: PlaceOrderRequest) -> TwsOrder:
        oid = r.order_id
        if oid <= 0:
            raise _invalid(oid, "orderId", oid, "order ids must be positive")
        if r.what_if:
            raise _invalid(oid, "whatIf", True, "what-if orders are not simulated")
        contract = self.contracts.resolve(r.contract, oid)
        quantity = self._checked(r)
        parent = None
        if r.parent_id:
            parent = self.orders.get((client_id, r.parent_id))
            if parent is None:
                raise RequestError(135, f"Can't find order with id = {r.parent_id} (the parentId of order {oid})", oid)
        return TwsOrder(client_id, oid, next(self._perm_ids), contract, r, quantity, parent)

    def _checked(self, r: PlaceOrderRequest) -> int:
        oid = r.order_id
        if r.action not in ("BUY", "SELL"):
            raise _invalid(oid, "action", r.action, "BUY or SELL")
        if r.quantity is None or r.quantity <= 0 or not float(r.quantity).is_integer():
            raise _invalid(oid, "totalQuantity", r.quantity, "a positive whole number of shares")
        if r.order_type not in TYPES:
            raise RequestError(387, f"Unsupported order type for this exchange and security type: "
                                    f"{r.order_type!r} (this simulator works {', '.join(sorted(set(TYPES.values())))})",
                               oid)
        kind = TYPES[r.order_type]
        if kind in ("LMT", "STP LMT") and (r.limit_price is None or r.limit_price <= 0):
            raise _invalid(oid, "lmtPrice", r.limit_price, f"a {kind} order needs a positive limit price")
        if kind in ("STP", "STP LMT") and (r.aux_price is None or r.aux_price <= 0):
            raise _invalid(oid, "auxPrice", r.aux_price, f"a {kind} order needs a positive stop price")
        if r.tif not in ("", "DAY", "GTC"):
            raise _invalid(oid, "tif", r.tif, "this simulator works DAY and GTC")
        if r.account and r.account != self.account:
            raise _invalid(oid, "account", r.account, f"the managed account is {self.account}")
        if r.oca_type not in (0, 1, 2, 3):
            raise _invalid(oid, "ocaType", r.oca_type, "0..3")
        return int(r.quantity)

    def _transmit(self, order: TwsOrder) -> None:
        root = order
        while root.parent is not None:
            root = root.parent
        family = [o for o in self._held if _root(o) is root]
        self._held = [o for o in self._held if o not in family]
        for member in [*family, order]:
            self._send(member)

    def _send(self, order: TwsOrder) -> None:
        r = order.request
        kind = OrderType(order.order_type)
        has_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        has_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
        command = PlaceOrder(
            order.sim_ref, order.contract.symbol, Action(r.action), kind, order.quantity,
            r.limit_price if has_limit else None, r.aux_price if has_stop else None,
            TimeInForce(r.tif or "DAY"), r.outside_rth, order.oca_group or None, order.oca_type,
            order.parent.sim_ref if order.parent is not None else None, self.account,
        )
        order.transmitted = True
        self.exchange.execute(order.contract.symbol, command)

    def _modify(self, order: TwsOrder, r: PlaceOrderRequest) -> list[Out]:
        oid = order.order_id
        if not order.transmitted:
            order.request, order.quantity = r, self._checked(r)
            if r.transmit:
                self._transmit(order)
            return []
        view = self.exchange.order(order.contract.symbol, order.sim_ref)
        if TYPES.get(r.order_type) != order.order_type:
            raise RequestError(329, f"Order modify failed. Cannot change to the new order type: {order.order_type} "
                                    f"-> {r.order_type} (order {oid})", oid)
        if r.action != order.request.action:
            raise RequestError(105, f"Order being modified does not match original order: action {r.action} "
                                    f"(was {order.request.action})", oid)
        quantity = self._checked(r)
        kind = OrderType(order.order_type)
        limit = r.limit_price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        stop = r.aux_price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
        if view is not None:
            quantity_change = quantity if quantity != view.quantity else None
            limit = limit if limit != view.limit_price else None
            stop = stop if stop != view.stop_price else None
        else:
            quantity_change = quantity
        self.exchange.execute(order.contract.symbol, ModifyOrder(order.sim_ref, None, quantity_change, limit, stop))
        return []

    def _cancel_held(self, order: TwsOrder) -> list[Out]:
        out: list[Out] = []
        for member in [order, *[o for o in self._held if o.parent is order]]:
            if member in self._held:
                self._held.remove(member)
            member.told_cancelled, member.status = True, "Cancelled"
            member.completed_at, member.reason = self.exchange.now(), "cancelled before it was transmitted"
            out += [(member.client_id, replies.order_status(member, "Cancelled", 0, member.quantity, 0.0)),
                    (member.client_id, replies.error(member.order_id, 202, "Order Canceled - reason:"))]
        return out

    # -- what the exchange says ----------------------------------------------------------------

    def translate(self, batch: list[tuple[str, BrokerEvent]]) -> list[Out]:
        events = [event for _, event in batch]
        out: list[Out] = []
        held: StatusObserved | None = None
        i = 0
        while i < len(events):
            event = events[i]
            i += 1
            order = self._by_ref.get(getattr(event, "order_ref", ""))
            if isinstance(event, CommissionReported):
                out += self._commission(event)
            elif order is None:
                continue  # OrderSent, connection notices: the gateway says nothing of these
            elif isinstance(event, ExecutionReported):
                explained = held if held is not None and held.order_ref == event.order_ref else None
                out += self._execution(order, event, explained or _take_status(events, i, event))
                held = None
            elif isinstance(event, StatusObserved):
                following = events[i] if i < len(events) else None
                if isinstance(following, ExecutionReported) and following.order_ref == event.order_ref:
                    held = event  # the status that explains the next fill: sent with it, around it
                    continue
                out.append(self._status(order, event.status, event.filled, event.remaining, event.avg_price))
            elif isinstance(event, OrderAccepted | ReplaceAccepted):
                following = events[i] if i < len(events) else None
                status = following.status if isinstance(following, StatusObserved) and following.order_ref == \
                    event.order_ref else order.status
                quantity = event.quantity if event.quantity is not None else order.quantity
                out.append((order.client_id, replies.open_order(order, "Cancelled" if order.told_cancelled else status,
                                                                quantity, event.limit_price, event.stop_price)))
            elif isinstance(event, OrderCancelled):
                out += self._ended(order, "Cancelled", 202 if order.cancel_requested else None,
                                   "Order Canceled - reason:", event.reason)
            elif isinstance(event, OrderRejected):
                if order.told_cancelled:  # the exchange said Cancelled already: the error follows it
                    order.reason = event.reason
                    out.append((order.client_id, replies.error(order.order_id, event.code, event.reason)))
                else:
                    out += self._ended(order, "Cancelled", event.code, event.reason, event.reason)
            elif isinstance(event, CancelRejected):
                out.append((order.client_id, replies.error(order.order_id, event.code, event.reason)))
            elif isinstance(event, ReplaceRejected):
                out.append((order.client_id, self._modify_refused(order, event)))
        return out

    @staticmethod
    def _modify_refused(order: TwsOrder, event: ReplaceRejected) -> list[Field]:
        if event.code == 201:
            # the exchange refused the new figures but the order works on: a validation error
            # (321), which clients take as "still live", not a reject (201), which they take as dead
            message = f"Error validating request.-'totalQuantity/lmtPrice/auxPrice' : cause - {event.reason}"
            return replies.error(order.order_id, 321, message)
        return replies.error(order.order_id, event.code, event.reason)

    def release_late(self, now: float) -> list[Out]:
        due = [(cid, fields) for at, cid, fields in self._late if at <= now]
        self._late = [item for item in self._late if item[0] > now]
        return due

    def _status(self, order: TwsOrder, status: str, filled: int, remaining: int, avg: float) -> Out:
        if order.told_cancelled:
            status = "Cancelled"  # IB: the status of an order confirmed cancelled stays Cancelled
        if status in FINAL and order.completed_at is None:
            order.completed_at = self.exchange.now()
        order.told_cancelled = order.told_cancelled or status == "Cancelled"
        order.status = status
        return order.client_id, replies.order_status(order, status, filled, remaining, avg)

    def _execution(self, order: TwsOrder, event: ExecutionReported, status: StatusObserved | None) -> list[Out]:
        exec_id = ib_exec_id(event.exec_id)
        cum_qty, avg = order.record_fill(exec_id, event.qty, event.price)
        self._by_exec[exec_id] = order
        details = replies.exec_details(
            -1, order, exec_id=exec_id, time=self.exchange_time(event.time), account=self.account,
            side="BOT" if event.action is Action.BUY else "SLD", shares=event.qty, price=event.price, cum_qty=cum_qty,
            avg_price=avg)
        if status is None:
            return [(order.client_id, details)]
        first = self._status(order, status.status, status.filled, status.remaining, status.avg_price)
        return [first, (order.client_id, details), first]  # IB: the status, the fill, the status again

    def _commission(self, event: CommissionReported) -> list[Out]:
        exec_id = ib_exec_id(event.exec_id)
        order = self._by_exec.get(exec_id)
        if order is None:
            return []
        message = replies.commission_report(exec_id, event.commission, event.currency)
        if self.commission_delay > 0:
            self._late.append((self.exchange.now() + self.commission_delay, order.client_id, message))
            return []
        return [(order.client_id, message)]

    def _ended(self, order: TwsOrder, status: str, code: int | None, message: str, reason: str) -> list[Out]:
        order.reason = reason
        filled, avg = order.cumulative()  # what the client was told so far (a late fill follows)
        view = self.exchange.order(order.contract.symbol, order.sim_ref)
        quantity = view.quantity if view is not None else order.quantity  # an OCA group may have cut it
        out = [self._status(order, status, filled, max(quantity - filled, 0), avg)]
        if code is not None:
            out.append((order.client_id, replies.error(order.order_id, code, message)))
        return out

    def exchange_time(self, t: float) -> str:
        return format_time(t, self.tz)

    def all_orders(self) -> Iterator[TwsOrder]:
        return iter(self.orders.values())

    def by_ref(self, ref: str) -> TwsOrder | None:
        return self._by_ref.get(ref)


def _root(order: TwsOrder) -> TwsOrder:
    while order.parent is not None:
        order = order.parent
    return order


def _take_status(events: list[BrokerEvent], start: int, execution: ExecutionReported) -> StatusObserved | None:
    """Remove and return a status the exchange reported after `execution` for the same order
    (before that order's next, different execution), when none came just before it: IB sends it
    ahead of the fill."""
    for j in range(start, len(events)):
        event = events[j]
        if isinstance(event, ExecutionReported) and event.order_ref == execution.order_ref \
                and event.exec_id != execution.exec_id:
            return None
        if isinstance(event, StatusObserved) and event.order_ref == execution.order_ref:
            del events[j]
            return event
    return None
