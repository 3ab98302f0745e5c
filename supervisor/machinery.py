"""The shared machines: one instance of each declared machine serves every trade's models.

`Machinery.fire(machine, model, event, **kwargs)` points the machine at the model (its cursor),
sends the event, and reports the step: the state before and after, and the intents the transition
recorded. A refusal (an event the machine does not allow there, or a validator's objection) is
not raised out: it becomes an `InvalidTransition` event and the model keeps its state. Every change
of state is reported as `LegTransitioned`, so the journal shows each machine's path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs
from statemachine.exceptions import TransitionNotAllowed

from machines import Cover, EntryLeg, Intents, Ladder, Leg, Milestones, OcaPair, StopLeg, Trade
from supervisor import events as ev


@attrs.frozen
class Step:
    source: str
    target: str
    intents: tuple[tuple[str, Any], ...] = ()

    @property
    def moved(self) -> bool:
        return self.source != self.target


Emit = Callable[[ev.SupervisorEvent], None]


_POOL = threading.local()


def _shared() -> dict[str, Any]:
    """One instance of each machine per thread: machines keep no trade's state (their cursor
    points at the model of the moment), so every supervisor of the thread can use them. Building
    a machine costs milliseconds; a supervisor (or a test) built many times pays it once."""
    pool: dict[str, Any] | None = getattr(_POOL, "machines", None)
    if pool is None:
        pool = {"entry": EntryLeg(), "leg": Leg(), "stop": StopLeg(), "pair": OcaPair(), "trade": Trade(),
                "ladder": Ladder(), "cover": Cover(), "milestones": Milestones()}
        _POOL.machines = pool
    return pool


class Machinery:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        pool = _shared()
        self.entry: EntryLeg = pool["entry"]
        self.leg: Leg = pool["leg"]
        self.stop: StopLeg = pool["stop"]
        self.pair: OcaPair = pool["pair"]
        self.trade: Trade = pool["trade"]
        self.ladder: Ladder = pool["ladder"]
        self.cover: Cover = pool["cover"]
        self.milestones: Milestones = pool["milestones"]

    def fire(self, machine: Any, model: Any, event: str, trade_id: str, **kwargs: Any) -> Step | None:
        cursor = machine.model
        cursor.target = model
        before = str(cursor.state)
        try:
            machine.send(event, **kwargs)
        except (TransitionNotAllowed, ValueError) as exc:
            intents: Intents | None = getattr(machine, "intents", None)
            if intents is not None:
                intents.drain()
            self._emit(ev.InvalidTransition(
                trade_id=trade_id, leg=_name(model), machine=type(machine).__name__, state=before, event=event,
                detail=str(exc),
            ))
            return None
        after = str(cursor.state)
        drained = getattr(machine, "intents", None)
        step = Step(before, after, tuple(drained.drain()) if drained is not None else ())
        if after != before:
            self._emit(ev.LegTransitioned(
                trade_id=trade_id, leg=_name(model), machine=type(machine).__name__, event=event,
                source=before, target=after,
            ))
        return step


def _name(model: Any) -> str:
    return str(getattr(model, "leg", "") or getattr(model, "name", "") or "trade")
