# How fills are counted: an order's quantity moves only on executions. Each execution has an
# id; IB re-sends the same id on reconnects (a duplicate, never counted twice) and corrects an
# execution by re-sending it with a new revision suffix (`<id>.01`, or the last `.NN` bumped):
# the latest revision replaces the earlier one instead of adding to it. `FillBook` is the one
# place that knows these rules; the machines ask it what an execution would do before they move.
from __future__ import annotations

import enum

import attrs


class OverfillError(ValueError):
    """An execution would take an order past its quantity; nothing was applied."""


class ExecKind(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CORRECTION = "correction"
    STALE = "stale"  # an older revision of an execution already corrected


def _revision_key(exec_id: str) -> str:
    head, dot, tail = exec_id.rpartition(".")
    if dot and len(tail) == 2 and tail.isdigit():
        return head
    return exec_id


def _rank(exec_id: str) -> tuple[int, str]:
    return (exec_id.count("."), exec_id)


@attrs.frozen
class Fill:
    exec_id: str
    qty: int
    price: float
    time: float | None = None  # epoch seconds, as on the broker port


@attrs.define
class FillBook:
    """Executions of one order, keyed by their first revision."""

    fills: dict[str, Fill] = attrs.field(factory=dict)  # root id -> latest revision
    _root_of: dict[str, str] = attrs.field(factory=dict)  # every id seen -> root id
    _key_root: dict[str, str] = attrs.field(factory=dict)  # revision key -> root id

    @property
    def filled_qty(self) -> int:
        return sum(f.qty for f in self.fills.values())

    @property
    def avg_price(self) -> float:
        qty = self.filled_qty
        if qty == 0:
            return 0.0
        return sum(f.qty * f.price for f in self.fills.values()) / qty

    @property
    def exec_ids(self) -> frozenset[str]:
        return frozenset(self._root_of)

    def _root_for(self, exec_id: str) -> str | None:
        key = _revision_key(exec_id)
        return self._root_of.get(key) or self._key_root.get(key)

    def classify(self, exec_id: str) -> ExecKind:
        if exec_id in self._root_of:
            return ExecKind.DUPLICATE
        root = self._root_for(exec_id)
        if root is None:
            return ExecKind.NEW
        if _rank(exec_id) > _rank(self.fills[root].exec_id):
            return ExecKind.CORRECTION
        return ExecKind.STALE

    def qty_after(self, exec_id: str, qty: int) -> int:
        """Filled quantity if this execution were applied."""
        kind = self.classify(exec_id)
        if kind is ExecKind.NEW:
            return self.filled_qty + qty
        if kind is ExecKind.CORRECTION:
            root = self._root_for(exec_id)
            assert root is not None
            return self.filled_qty - self.fills[root].qty + qty
        return self.filled_qty

    def apply(self, fill: Fill) -> ExecKind:
        kind = self.classify(fill.exec_id)
        if kind is ExecKind.NEW:
            root = fill.exec_id
        elif kind is ExecKind.CORRECTION:
            found = self._root_for(fill.exec_id)
            assert found is not None
            root = found
        else:
            self._root_of.setdefault(fill.exec_id, self._root_for(fill.exec_id) or fill.exec_id)
            return kind
        self.fills[root] = fill
        self._root_of[fill.exec_id] = root
        self._key_root[_revision_key(fill.exec_id)] = root
        return kind
