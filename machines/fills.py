# How executions are counted: an order's quantity moves only on executions, and an execution is
# counted once per ACCOUNT, whatever order it is reported against. IB re-sends the same id on
# reconnects (a duplicate, never counted twice) and corrects an execution by re-sending it under a
# new revision: the last `.NN` of the id bumped (`...01.01` -> `...01.02`, IB's style), or `.NN`
# appended (`X` -> `X.01`). The newest revision replaces the earlier one instead of adding to it,
# and the two may arrive in either order: a correction that beats its original makes the original
# stale when it comes. `ExecBook` is the one place that knows these rules; a leg's figures are the
# sum of the current revision of each execution family it owns.
from __future__ import annotations

import enum

import attrs


class ExecKind(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"  # this exact id was counted already
    CORRECTION = "correction"  # a newer revision of an execution already counted
    STALE = "stale"  # an older revision of an execution already counted (it arrived late)


@attrs.frozen
class Fill:
    exec_id: str
    qty: int
    price: float
    time: float | None = None  # epoch seconds, as on the broker port


def _is_revision(part: str) -> bool:
    return len(part) == 2 and part.isdigit()


def _rank(exec_id: str) -> tuple[int, int]:
    """Newer revisions rank higher: more parts (appended style), then a higher last part."""
    parts = exec_id.split(".")
    last = parts[-1]
    return (len(parts), int(last) if _is_revision(last) else -1)


@attrs.define(slots=True)
class Family:
    """One execution and its revisions: `current` is the revision that counts."""

    key: str
    owner: str  # the order_ref the execution was first counted against
    current: Fill
    ids: list[str] = attrs.field(factory=list)  # every id this execution was seen under


@attrs.define(slots=True)
class ExecBook:
    """Every execution of one account, by family."""

    families: dict[str, Family] = attrs.field(factory=dict)
    _of_id: dict[str, str] = attrs.field(factory=dict)  # every id seen -> its family key
    _of_base: dict[str, str] = attrs.field(factory=dict)  # id without its last `.NN` -> family key
    _of_prefix: dict[str, str] = attrs.field(factory=dict)  # X of a seen `X.01` -> family key

    def __len__(self) -> int:
        return len(self.families)

    def family_of(self, exec_id: str) -> Family | None:
        key = self._find(exec_id)
        return None if key is None else self.families[key]

    def _find(self, exec_id: str) -> str | None:
        key = self._of_id.get(exec_id) or self._of_prefix.get(exec_id)
        if key is not None:
            return key
        parts = exec_id.split(".")
        # bumped style: the same id but for the last revision part
        if len(parts) > 1 and _is_revision(parts[-1]):
            key = self._of_base.get(".".join(parts[:-1]))
            if key is not None:
                return key
        # appended style: a known id followed by revision parts (X.01, X.01.01)
        for cut in range(len(parts) - 1, 0, -1):
            if not _is_revision(parts[cut]):
                break
            key = self._of_id.get(".".join(parts[:cut]))
            if key is not None:
                return key
        return None

    def classify(self, exec_id: str) -> ExecKind:
        if exec_id in self._of_id:
            return ExecKind.DUPLICATE
        key = self._find(exec_id)
        if key is None:
            return ExecKind.NEW
        newer = _rank(exec_id) > _rank(self.families[key].current.exec_id)
        return ExecKind.CORRECTION if newer else ExecKind.STALE

    def apply(self, fill: Fill, owner: str) -> tuple[ExecKind, Fill | None]:
        """Count `fill` for `owner` (an order_ref). Returns its kind and the revision it replaced."""
        kind = self.classify(fill.exec_id)
        if kind is ExecKind.DUPLICATE:
            return kind, None
        if kind is ExecKind.NEW:
            family = Family(fill.exec_id, owner, fill)
            self.families[family.key] = family
            self._index(fill.exec_id, family)
            return kind, None
        key = self._find(fill.exec_id)
        assert key is not None
        family = self.families[key]
        self._index(fill.exec_id, family)
        if kind is ExecKind.STALE:
            return kind, None
        replaced, family.current = family.current, fill
        return kind, replaced

    def ids_of(self, key: str) -> tuple[str, ...]:
        return tuple(self.families[key].ids)

    def restore(self, family: Family, ids: tuple[str, ...]) -> None:
        """Put back a family a checkpoint kept, with every id it was seen under."""
        self.families[family.key] = family
        for exec_id in ids:
            self._index(exec_id, family)

    def _index(self, exec_id: str, family: Family) -> None:
        key = family.key
        if exec_id not in family.ids:
            family.ids.append(exec_id)
        self._of_id[exec_id] = key
        parts = exec_id.split(".")
        if len(parts) > 1 and _is_revision(parts[-1]):
            self._of_base.setdefault(".".join(parts[:-1]), key)
        # an original that arrives after its appended correction (X after X.01) finds the family
        for cut in range(len(parts) - 1, 0, -1):
            if not _is_revision(parts[cut]):
                break
            self._of_prefix.setdefault(".".join(parts[:cut]), key)
