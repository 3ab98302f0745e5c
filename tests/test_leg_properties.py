"""Properties of a leg under any sequence of broker events (hypothesis).

Random sequences of lifecycle events, with executions whose ids repeat (duplicates) and come back
with revision suffixes (corrections, in both IB shapes: `e1` -> `e1.01`, `h.1.01.01` ->
`h.1.01.02`), are fired at a real leg. An event may be refused (`TransitionNotAllowed`) or an
execution rejected (`OverfillError`); either leaves the leg as it was. After every step:

- the filled quantity never passes the order quantity;
- it equals the sum, over distinct executions, of their latest revision, computed here
  independently of `FillBook`; an execution is never counted twice;
- an `OverfillError` happens exactly when that sum would pass the order quantity;
- every step taken is a declared (source, event, target) transition, and a leg in a terminal
  state got there by a connected path of declared steps from its initial state.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed
from tables import declared_steps
from tables.drive import fire, leg_model

from machines import TERMINAL_STATES, Leg, OverfillError, StopLeg

# -- execution ids: a root and a revision, in the two shapes IB uses ----------------------------


@attrs.frozen
class Exec:
    shape: str  # "plain": e1, e1.01, e1.02 ...; "ib": h.1.01.01, h.1.01.02 ...
    root: int
    revision: int

    @property
    def exec_id(self) -> str:
        if self.shape == "plain":
            return f"e{self.root}" if self.revision == 0 else f"e{self.root}.{self.revision:02d}"
        return f"h.{self.root}.01.{self.revision + 1:02d}"


execs = st.builds(Exec, shape=st.sampled_from(["plain", "ib"]), root=st.integers(1, 3), revision=st.integers(0, 2))

Step = tuple[str, dict[str, Any], Exec | None]

fills = st.builds(
    lambda e, qty, price: ("fill", {"exec_id": e.exec_id, "qty": qty, "price": price}, e),
    execs,
    st.integers(1, 6),
    st.sampled_from([9.5, 10.0, 10.25]),
)
replaces = st.builds(
    lambda qty, stop: ("request_replace", {"qty": qty, "stop_price": stop}, None),
    st.one_of(st.none(), st.integers(1, 12)),
    st.sampled_from([8.5, 9.0, 9.5]),
)


def step_for(event: str) -> st.SearchStrategy[Step]:
    if event == "fill":
        return fills
    if event == "request_replace":
        return replaces
    return st.just((event, {}, None))


DECLARED = {machine: declared_steps(machine) for machine in (Leg, StopLeg)}


def draw_step(data: st.DataObject, machine: type[StateMachine], state: str) -> Step:
    """Mostly an event the current state declares (so runs get deep into the lifecycle: a fill
    while a modify is in flight needs five steps), else any event (so refusals are exercised)."""
    declared_here = sorted({event for source, event, _ in DECLARED[machine] if source == state})
    every = [e.id for e in machine.events]
    pool = declared_here if declared_here and data.draw(st.integers(0, 4)) else every
    return data.draw(st.sampled_from(pool).flatmap(step_for))


# -- the independent count --------------------------------------------------------------------
def counted_after(latest: dict[tuple[str, int], Exec], qty_of: dict[Exec, int], e: Exec, qty: int) -> int:
    """Filled quantity if `e` were applied: a new root adds, a later revision replaces, the rest
    (the same revision again, or an older one) changes nothing."""
    root = (e.shape, e.root)
    current = latest.get(root)
    if current is not None and e.revision <= current.revision:
        return sum(qty_of[x] for x in latest.values())
    others = sum(qty_of[x] for key, x in latest.items() if key != root)
    return others + qty


def check_leg(machine: type[StateMachine], data: st.DataObject, max_steps: int = 40) -> None:
    leg = machine(leg_model())
    model = leg.model
    declared = DECLARED[machine]
    initial = leg.current_state_value
    path: list[tuple[str, str, str]] = []
    latest: dict[tuple[str, int], Exec] = {}  # root -> the revision counted
    qty_of: dict[Exec, int] = {}

    for _ in range(data.draw(st.integers(1, max_steps), label="steps")):
        source = leg.current_state_value
        event, kwargs, e = draw_step(data, machine, source)
        predicted = counted_after(latest, qty_of, e, kwargs["qty"]) if e is not None else None
        before = (model.filled_qty, model.exec_ids, model.order_qty)
        try:
            fire(leg, event, **kwargs)
        except TransitionNotAllowed:
            assert leg.current_state_value == source
            assert (model.filled_qty, model.exec_ids, model.order_qty) == before
            continue
        except OverfillError:
            assert predicted is not None, (event, kwargs)
            assert predicted > model.fill_limit, (event, kwargs)
            assert leg.current_state_value == source
            assert (model.filled_qty, model.exec_ids, model.order_qty) == before
            continue
        except ValueError:
            # a resize below what already filled is refused, asked or acknowledged
            assert event in {"request_replace", "replace_ack"}, (event, kwargs)
            assert leg.current_state_value == source
            assert (model.filled_qty, model.exec_ids, model.order_qty) == before
            continue
        target = leg.current_state_value
        step = (source, event, target)
        assert step in declared, f"undeclared step {step}"
        path.append(step)

        if e is not None:
            assert predicted is not None
            assert predicted <= model.fill_limit
            root = (e.shape, e.root)
            if root not in latest or e.revision > latest[root].revision:
                latest[root] = e
                qty_of[e] = kwargs["qty"]

        # quantities move only on executions, each counted once, at its latest revision
        assert model.filled_qty == sum(qty_of[x] for x in latest.values())
        assert model.filled_qty <= model.fill_limit, f"filled {model.filled_qty} > order {model.fill_limit}"
        counted = sorted(f.exec_id for f in model.book.fills.values())
        assert counted == sorted(x.exec_id for x in latest.values())

        if target in TERMINAL_STATES:
            assert path[0][0] == initial
            assert all(a[2] == b[0] for a, b in itertools.pairwise(path)), path


@settings(max_examples=2000)
@given(st.data())
def test_leg_counts_every_execution_once_and_moves_only_along_declared_edges(data: st.DataObject) -> None:
    check_leg(Leg, data)


@given(st.data())
def test_stop_leg_counts_every_execution_once_and_moves_only_along_declared_edges(data: st.DataObject) -> None:
    check_leg(StopLeg, data)


@given(st.lists(fills, min_size=1, max_size=30))
def test_executions_alone_never_overfill_a_working_leg(sequence: list[Step]) -> None:
    leg = Leg(leg_model())
    leg.transmit()
    leg.accept()
    for _, kwargs, _ in sequence:
        with contextlib.suppress(OverfillError):
            leg.fill(**kwargs)
        assert leg.model.filled_qty <= leg.model.order_qty
        complete = leg.model.filled_qty == leg.model.order_qty
        assert (leg.current_state_value == "filled") == complete
        assert leg.current_state_value in {"working", "partially_filled", "filled"}
