# What the gateway remembers of one client order: who placed it (client id, the client's own order
# id), IB's permanent id, the contract and the order as last sent, the simulated exchange's ref for
# it, and what the client has been told (its last status, whether it was told Cancelled, its fills
# by execution id). The exchange holds the truth about quantities; the record holds the identity
# and the conversation. `ib_exec_id` spells the exchange's correction ids the way IB does.
from __future__ import annotations

import attrs

from broker.tws.contracts import StockContract
from broker.tws.requests import PlaceOrderRequest

TYPES = {"MKT": "MKT", "LMT": "LMT", "STP": "STP", "STP LMT": "STP LMT", "STPLMT": "STP LMT"}


@attrs.define(eq=False)
class TwsOrder:
    client_id: int
    order_id: int
    perm_id: int
    contract: StockContract
    request: PlaceOrderRequest
    quantity: int
    parent: TwsOrder | None = None
    transmitted: bool = False
    cancel_requested: bool = False
    told_cancelled: bool = False  # the client heard Cancelled: later statuses stay Cancelled (IB)
    status: str = "PendingSubmit"  # the last status the client was told
    last_fill_price: float = 0.0
    fills: dict[str, tuple[int, float]] = attrs.field(factory=dict)  # exec id (sans suffix) -> qty, price
    completed_at: float | None = None
    reason: str = ""

    @property
    def sim_ref(self) -> str:
        """The exchange's key for this order: unique (perm id) and readable in its messages."""
        return f"order {self.order_id} (client {self.client_id}, perm {self.perm_id})"

    @property
    def order_type(self) -> str:
        return TYPES.get(self.request.order_type, self.request.order_type)

    @property
    def oca_group(self) -> str:
        """The OCA group the exchange works: the client's, or, for the children of one parent that
        name none, one of their own (TWS treats bracket siblings as one OCA group)."""
        if self.request.oca_group:
            return self.request.oca_group
        return f"bracket {self.parent.perm_id}" if self.parent is not None else ""

    @property
    def oca_type(self) -> int:
        if self.request.oca_group:
            return self.request.oca_type
        return 3 if self.parent is not None else 0  # a bracket child filled in part reduces its sibling

    @property
    def parent_id(self) -> int:
        return self.parent.order_id if self.parent is not None else 0

    def record_fill(self, exec_id: str, qty: int, price: float) -> tuple[int, float]:
        """Remember an execution (a correction replaces the one it corrects; a repeat changes
        nothing) and return the cumulative quantity and average price after it."""
        self.fills[exec_base(exec_id)] = (qty, price)
        self.last_fill_price = price
        return self.cumulative()

    def cumulative(self) -> tuple[int, float]:
        qty = sum(q for q, _ in self.fills.values())
        notional = sum(q * p for q, p in self.fills.values())
        return qty, (notional / qty if qty else 0.0)


def exec_base(exec_id: str) -> str:
    """`0000000a.00000003.01.01` and its corrections `...01.02` share the base `0000000a.00000003.01`."""
    return exec_id.rsplit(".", 1)[0]


def ib_exec_id(sim_exec_id: str) -> str:
    """The exchange appends `.01` per correction (`a.b.01.01.01`); IB bumps the last part
    (`a.b.01.02`). Ids not in the exchange's shape pass through."""
    parts = sim_exec_id.split(".")
    if len(parts) <= 4 or not all(p.isdigit() for p in parts[3:]):
        return sim_exec_id
    corrections = len(parts) - 4
    return ".".join([*parts[:3], f"{int(parts[3]) + corrections:02d}"])
