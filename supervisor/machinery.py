"""The shared machines: one instance of each declared machine serves every trade's models.

`Machinery.fire(machine, model, event, **kwargs)` points the machine at the model (its cursor),
sends the event, and reports the step: the state before and after, and the intents the transition
recorded. A refusal (an event the machine does not allow there, or a validator's objection) is
not raised out: it becomes an `InvalidTransition` event and the model keeps its state. Every change
of state is reported as `LegTransitioned`, so the journal shows each machine's path.

An event whose only declared transition from the current state is a bare internal self-transition
(no guard, no validator, no action of any name: nothing can happen) is answered without a trip
through the engine (`noops`): the declaration already says what the engine would do. Every
transition that can do anything goes through python-statemachine.
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


_CALLBACK_PREFIXES = ("on_", "before_", "after_")


def noops(machine: type[Any]) -> frozenset[tuple[str, str]]:
    """The (state, event) pairs of `machine` where the event cannot do anything: one transition,
    internal to the state, without a guard, a validator or an action (declared, or by a method
    named after the event or `..._transition`)."""
    found = set()
    for state in machine.states:
        by_event: dict[str, list[Any]] = {}
        for transition in state.transitions:
            for event in transition.events:
                by_event.setdefault(str(event), []).append(transition)
        for event, transitions in by_event.items():
            if len(transitions) != 1:
                continue
            t = transitions[0]
            if not (t.is_self and t.internal) or list(t.cond) or list(t.validators):
                continue
            specs = [*t.on, *t.before, *t.after]
            if any(not spec.is_convention for spec in specs):
                continue
            if any(hasattr(machine, str(spec.func)) for spec in specs):
                continue
            found.add((state.id, event))
    return frozenset(found)


_NOOPS: dict[type[Any], frozenset[tuple[str, str]]] = {}


def _noops_of(machine: Any) -> frozenset[tuple[str, str]]:
    cls = type(machine)
    known = _NOOPS.get(cls)
    if known is None:
        known = _NOOPS[cls] = noops(cls)
    return known


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
        if (before, event) in _noops_of(machine):
            return Step(before, before)
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
