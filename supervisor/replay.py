"""Replay: rebuild a supervisor from the inputs a journal recorded, on the recorded clock.

Inputs are broker events and the caller's calls (`supervisor.calls`); outputs in the record
(commands, supervisor events) are not inputs and are skipped. A checkpoint (a finished trade's
whole state, `supervisor.checkpoint`, stored packed) stands for the trade's inputs before it: the journal's
`restore_records` leaves those out, and the trade is loaded as it was. While replaying, the supervisor's
clock reads each record's recorded time (`ReplayClock`), so every deadline and grace period comes
out as it did; afterwards it reads the live clock again. What happened while the process was down
is not in the journal: reconcile with broker truth next.

The cyclic garbage collector is paused while the records are decoded and applied: a restart
builds hundreds of thousands of objects that all stay alive (each checkpoint's values, each
trade's machines), and CPython's collector, set off by the count of allocations, would otherwise
walk the growing heap of survivors again and again for nothing (half the time of decoding the
checkpoints of 10,000 closed trades). It is resumed when the replay ends, however it ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from supervisor import codec
from supervisor.calls import apply
from supervisor.checkpoint import stored
from supervisor.policy import Policy

if TYPE_CHECKING:
    from supervisor.core import Supervisor

Clock = Callable[[], float]
S = TypeVar("S", bound="Supervisor")


class RecordLike(Protocol):
    """A journal record as replay reads it (supervisor.journal.Record fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def wall(self) -> float: ...
    @property
    def value(self) -> Any: ...


class ReplayClock:
    """Reads the recorded time while a journal is replayed, then the live clock."""

    def __init__(self, live: Clock) -> None:
        self.live = live
        self.replaying: float | None = None

    def __call__(self) -> float:
        return self.live() if self.replaying is None else self.replaying


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (for a bulk load whose objects all survive); the
    collector is enabled again afterwards if it was enabled before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def replay(cls: type[S], records: Iterable[RecordLike], clock: Clock, policy: Policy | None = None) -> S:
    with collector_paused():
        return _replay(cls, records, clock, policy)


def _replay(cls: type[S], records: Iterable[RecordLike], clock: Clock, policy: Policy | None) -> S:
    replay_clock = ReplayClock(clock)
    supervisor = cls(replay_clock, policy)
    for record in records:
        if record.kind == "checkpoint":
            supervisor.load_checkpoint(stored(record.value))
            continue
        if record.kind not in ("broker_event", "meta"):
            continue
        value = record.value
        if record.kind == "meta":
            if not (isinstance(value, dict) and "type" in value):
                continue  # a note, not a call
            value = codec.decode(value)
        replay_clock.replaying = record.wall
        apply(supervisor, value)
        supervisor.settle()
    replay_clock.replaying = None
    supervisor.drain_events()
    return supervisor
