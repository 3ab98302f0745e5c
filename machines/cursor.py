# How one machine instance serves many models: python-statemachine reads a machine's state from its
# model on every call (`model.<state_field>`), so a machine whose model is a `Cursor` works on
# whichever model the cursor points at. The supervisor keeps one instance of each machine class and
# points its cursor at a trade's model before each event (`Shared.fire`): a live trade costs its
# numbers, never a machine (a machine instance is about 20-150 KiB and costs hundreds of
# microseconds to build). Machines never send events to other machines from their callbacks (one
# instance is shared, so that would re-point it mid-transition): they record intents instead, and
# the supervisor acts on them after the transition.
from __future__ import annotations

from typing import Any, Generic, TypeVar

M = TypeVar("M")


class Cursor(Generic[M]):
    """The model python-statemachine sees: `state` reads and writes `target.<field>`."""

    __slots__ = ("field", "target")

    def __init__(self, field: str, target: M) -> None:
        self.field = field
        self.target = target

    @property
    def state(self) -> Any:
        return getattr(self.target, self.field)

    @state.setter
    def state(self, value: Any) -> None:
        setattr(self.target, self.field, value)


class Intents:
    """What a shared machine's transitions asked for, in order, until the supervisor drains it."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    def add(self, name: str, subject: Any) -> None:
        self.items.append((name, subject))

    def drain(self) -> list[tuple[str, Any]]:
        items, self.items = self.items, []
        return items
