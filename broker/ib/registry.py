"""What the adapter remembers of each order, and how an IB message finds its order.

How it works: every order is an `OrderRecord` keyed by its `orderRef` (`<trade_id>:<leg>`): the
contract and the order we wrote, what WE intend (quantity and prices: ib_async overwrites the
caller's own `Order` with every `openOrder`, so intent is never read back from it), the request in
flight (a modify or a cancel, which decides what an error code means), and what IB said so far.

IB messages name orders three ways, and each is trusted only so far:
- `permId`: IB's permanent id, unique for the account and stable across sessions: best;
- `orderRef`: ours, carried by `openOrder`, `execDetails` and `completedOrder`;
- `orderId`: per API client and per session. After a Gateway restart `nextValidId` can go
  backwards and ids are reused, so an id finds an order only through the current binding of
  (client id, order id), which the next placement under that id replaces, and never when the
  message's permId contradicts the record's.
`error` and `orderStatus` carry no orderRef, which is why the id binding exists at all.
"""

from __future__ import annotations

import attrs
from ib_async import IB, Contract, Order

from supervisor.port import PlaceOrder


@attrs.frozen
class Figures:
    """Quantity and prices of an order, as intended or as a modify asked for them."""

    quantity: int
    limit_price: float | None = None
    stop_price: float | None = None


@attrs.define(eq=False)
class OrderRecord:
    ref: str
    contract: Contract
    order: Order  # the object handed to ib_async: its figures are ib_async's, never ours
    intended: Figures  # ours; changes only when IB acknowledges a modify
    command: PlaceOrder | None = None  # None: learned from IB (placed by an earlier process)
    order_id: int | None = None
    client_id: int | None = None
    perm_id: int | None = None
    parent_ref: str | None = None
    accepted: bool = False  # the first openOrder was translated
    modify: Figures | None = None  # what the modify in flight asked for
    ended_since_modify: bool = False  # a terminal status arrived after that modify went out
    cancel_requested: bool = False
    cancelled: bool = False  # OrderCancelled was said (it is said once)
    filled: bool = False  # IB holds it as completely filled (a parent: its children stand alone)


class OrderRegistry:
    def fresh_order_id(self, ib: IB, client_id: int) -> int:
        """An order id neither ib_async's books nor ours hold live (ids are reused after a Gateway restart)."""
        for _ in range(10_000):
            order_id = ib.client.getReqId()
            if (client_id, order_id) not in ib.wrapper.trades and not self.holds_live_id(client_id, order_id):
                return order_id
        raise RuntimeError(f"IBBroker: no free order id for client {client_id} after 10000 tries")

    def __init__(self) -> None:
        self.by_ref: dict[str, OrderRecord] = {}
        self._by_perm: dict[int, OrderRecord] = {}
        self._by_id: dict[tuple[int, int], OrderRecord] = {}

    def __contains__(self, ref: str) -> bool:
        return ref in self.by_ref

    def get(self, ref: str) -> OrderRecord | None:
        return self.by_ref.get(ref)

    def add(self, record: OrderRecord) -> None:
        if record.ref in self.by_ref:
            raise ValueError(f"order_ref {record.ref!r} is already known to the IB adapter (orders are keyed by it)")
        self.by_ref[record.ref] = record
        if record.perm_id:
            self._by_perm[record.perm_id] = record

    def bind_id(self, record: OrderRecord, client_id: int, order_id: int) -> OrderRecord | None:
        """Bind (client id, order id) to `record`. Returns the record the id named before, if it
        was another one: IB reused the id (a Gateway restart rolled `nextValidId` back)."""
        key = (client_id, order_id)
        before = self._by_id.get(key)
        self._by_id[key] = record
        record.client_id, record.order_id = client_id, order_id
        return before if before is not None and before is not record else None

    def bind_perm(self, record: OrderRecord, perm_id: int) -> None:
        if perm_id > 0:
            record.perm_id = perm_id
            self._by_perm[perm_id] = record

    def holds_live_id(self, client_id: int, order_id: int) -> bool:
        """Is this id bound to an order that may still work? (then it must not be placed again)"""
        record = self._by_id.get((client_id, order_id))
        return record is not None and not (record.cancelled or record.filled)

    def find(self, *, ref: str = "", perm_id: int = 0, order_id: int = 0, client_id: int | None = None) -> (
            OrderRecord | None):
        if perm_id > 0 and (record := self._by_perm.get(perm_id)) is not None:
            return record
        if ref and (record := self.by_ref.get(ref)) is not None and not _contradicts(record, perm_id):
            return record
        if order_id > 0 and client_id is not None:
            record = self._by_id.get((client_id, order_id))
            if record is not None and not _contradicts(record, perm_id):
                return record
        return None


def _contradicts(record: OrderRecord, perm_id: int) -> bool:
    # same ref or same id, another permanent id: another order (an id reused after a restart)
    return bool(record.perm_id and perm_id > 0 and record.perm_id != perm_id)
