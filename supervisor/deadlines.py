"""Deadlines: the time-driven checks, each one scheduled when the fact that starts it happens.

A deadline is `(due, kind, trade_id, key, since)`: `since` is when its fact happened, so a check
that comes due after its fact was superseded (the leg moved on, the gap closed and opened again)
sees that `since` no longer matches and does nothing. `due(now)` pops only what is due: a tick
costs the deadlines that fell due, never a pass over every trade.
"""

from __future__ import annotations

import heapq
import itertools

import attrs


@attrs.frozen(order=True)
class Deadline:
    due: float
    seq: int
    kind: str = attrs.field(order=False)  # "send", "ack", "status", "cover"
    trade_id: str = attrs.field(order=False)
    key: str = attrs.field(order=False)  # the leg, or "" for the trade
    since: float = attrs.field(order=False)


class Deadlines:
    def __init__(self) -> None:
        self._heap: list[Deadline] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, due: float, kind: str, trade_id: str, key: str, since: float) -> None:
        heapq.heappush(self._heap, Deadline(due, next(self._seq), kind, trade_id, key, since))

    def due(self, now: float) -> list[Deadline]:
        out: list[Deadline] = []
        while self._heap and self._heap[0].due <= now:
            out.append(heapq.heappop(self._heap))
        return out

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None
