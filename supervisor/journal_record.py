"""A journal record: how a value becomes a row (index columns, JSON, checksum) and back.

How it works: `to_row` runs on the writer thread. It serializes the codec dict as compact strict
JSON, lifts `trade_id`, `leg`, `order_ref`, `order_id` out of it for the index columns (a broker
event has no trade_id: it comes from its `orderRef`, "<trade_id>:<leg>"), and seals the row with
its checksum. A meta dict is serialized when it is appended instead (`meta_text`: the caller may
change its dict afterwards, and a dict that is not strict JSON is refused at once); the writer
seals the text it was given. `to_record` parses a row back and decodes the payload into the value
it came from.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from supervisor import codec
from supervisor.journal_store import Row, checksum

# built once: json.dumps with options builds a new encoder on every call
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

@attrs.frozen
class Record:
    seq: int
    kind: str
    mono_ns: int
    wall: float  # seconds since the epoch, UTC
    trade_id: str | None
    leg: str | None
    order_ref: str | None
    order_id: int | None
    payload: dict[str, Any]  # the codec dict (for "meta", the dict as given)
    value: Any  # the decoded value (for "meta", the dict)


Index = tuple[str | None, str | None, str | None, int | None]


def _index_fields(payload: dict[str, Any]) -> Index:
    """trade_id, leg, order_ref, order_id of a payload; a broker event's come from its order_ref."""
    trade_id, leg, order_ref, order_id = (payload.get(k) for k in ("trade_id", "leg", "order_ref", "order_id"))
    plan = payload.get("plan")
    if trade_id is None and isinstance(plan, dict):  # an Arm: its trade is its plan's
        trade_id = plan.get("trade_id")
    order_ref = order_ref if isinstance(order_ref, str) else None
    if not isinstance(trade_id, str) and order_ref and ":" in order_ref:
        trade_id, _, ref_leg = order_ref.rpartition(":")  # orderRef is "<trade_id>:<leg>"
        leg = leg if isinstance(leg, str) else ref_leg
    return (
        trade_id if isinstance(trade_id, str) else None,
        leg if isinstance(leg, str) else None,
        order_ref,
        order_id if isinstance(order_id, int) and not isinstance(order_id, bool) else None,
    )


def meta_text(value: dict[str, Any]) -> tuple[str, Index]:
    """A meta dict's JSON (strict: NaN and infinities refused with a ValueError) and index fields."""
    return _to_json(value), _index_fields(value)


def to_row(seq: int, kind: str, mono_ns: int, wall: float, payload: dict[str, Any] | None, *,
           meta: tuple[str, Index] | None = None) -> Row:
    """The row of a codec payload, or (`meta`) of a meta dict serialized when it was appended."""
    if meta is not None:
        text, (trade_id, leg, order_ref, order_id) = meta
        type_ = None
    else:
        assert payload is not None
        text = _to_json(payload)
        trade_id, leg, order_ref, order_id = _index_fields(payload)
        type_ = None if kind == "meta" else payload["type"]  # a call journaled as meta keeps type NULL
    crc = checksum((seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, type_), text)
    return (seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, type_, text, crc)


def to_record(row: Row) -> Record:
    seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, _, text, _ = row
    payload = json.loads(text)
    value = payload if kind == "meta" else codec.decode(payload)
    return Record(seq, kind, mono_ns, wall, trade_id, leg, order_ref, order_id, payload, value)
