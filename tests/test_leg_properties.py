"""Properties of the leg lifecycle and of execution counting, under random sequences (hypothesis).

Executions reach a leg the way the supervisor hands them over (`supervisor/handlers.py`): first
the account-wide `machines.fills.ExecBook` classifies the execution id (new, duplicate, correction,
stale), a duplicate or a stale revision stops there, a correction goes to the leg its original was
counted on (whatever order it was reported against) and carries only its difference. Ids come in
IB's two revision shapes: the last part bumped (`0000e201.5f3bcbd4.01.01` -> `...01.02`) and a
part appended (`x1` -> `x1.01` -> `x1.02`), and a revision may arrive before the one it corrects.
An independent model of the rules (a family per execution, its newest revision counts, owned by
the order it was first reported against) predicts every classification and every figure.

Between executions, any event of the machine is fired at one of two legs (one account). After
every step:

- the book classified the execution as the independent model says, and each leg's executed
  quantity and notional are the sum of the current revision of each family it owns: every
  execution is counted once, for one leg;
- a refused event (`TransitionNotAllowed`, or a validator's `ValueError`) left the leg as it was;
  every step taken is a declared (source, event, target) transition;
- nothing the broker says can leave a leg stuck: in every state reached, every broker answer that
  state may receive is a declared transition (fired on a copy): in a live state all of them, a
  refusal and a reject included; in an ended state the late evidence; before the order went, an
  execution.

One shared machine instance per class serves every leg model, as in the supervisor: building a
machine costs milliseconds, so the runs stay fast.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed
from tables import declared_steps, event_ids
from tables.drive import ENTRY_SETUPS, LEG_SETUPS, drive_leg, fire, leg_model

from machines import LIVE_STATES, TERMINAL_STATES, EntryLeg, ExecBook, ExecKind, Fill, Leg, LegModel, StopLeg

LEG_MACHINES: dict[str, type[StateMachine]] = {"Leg": Leg, "StopLeg": StopLeg, "EntryLeg": EntryLeg}
DECLARED = {name: declared_steps(machine) for name, machine in LEG_MACHINES.items()}
REFS = ("T1:a", "T1:b")  # two orders of one account

# what the broker may still say about an order, by where the leg is
LIVE_ANSWERS = ("transmit", "accept", "fill", "confirm_cancel", "cancel_reject", "reject", "replace_ack",
                "replace_reject", "reconcile_working", "reconcile_gone")
ENDED_ANSWERS = ("transmit", "accept", "fill", "confirm_cancel", "cancel_reject", "reject", "replace_ack",
                 "replace_reject")
UNSENT_ANSWERS = ("fill",)  # idle, dropped; armed, triggered, expired: only an execution can come
SENT_AND_ENDED = TERMINAL_STATES - {"dropped", "expired"}


# -- execution ids in IB's two revision shapes, and the independent model of counting -------------
@attrs.frozen
class Exec:
    style: str  # "bumped": 0000e201.5f3bcbd4.01.01, .01.02 ...; "appended": x1, x1.01, x1.02 ...
    root: int
    revision: int

    @property
    def family(self) -> tuple[str, int]:
        return (self.style, self.root)

    @property
    def exec_id(self) -> str:
        if self.style == "bumped":
            return f"0000e2{self.root:02d}.5f3bcbd4.01.{self.revision + 1:02d}"
        return f"x{self.root}" if self.revision == 0 else f"x{self.root}.{self.revision:02d}"


execs = st.builds(Exec, style=st.sampled_from(["bumped", "appended"]), root=st.integers(1, 3),
                  revision=st.integers(0, 2))


@attrs.define
class Counted:
    """The independent model: each family's current revision, its figures and its owner."""

    seen: set[str] = attrs.field(factory=set)
    current: dict[tuple[str, int], tuple[int, int, float, str]] = attrs.field(factory=dict)  # rev, qty, px, owner

    def classify(self, e: Exec) -> ExecKind:
        if e.exec_id in self.seen:
            return ExecKind.DUPLICATE
        if e.family not in self.current:
            return ExecKind.NEW
        return ExecKind.CORRECTION if e.revision > self.current[e.family][0] else ExecKind.STALE

    def apply(self, e: Exec, qty: int, price: float, ref: str) -> ExecKind:
        kind = self.classify(e)
        self.seen.add(e.exec_id)
        if kind is ExecKind.NEW:
            self.current[e.family] = (e.revision, qty, price, ref)
        elif kind is ExecKind.CORRECTION:
            self.current[e.family] = (e.revision, qty, price, self.current[e.family][3])
        return kind

    def filled(self, ref: str) -> int:
        return sum(qty for _, qty, _, owner in self.current.values() if owner == ref)

    def notional(self, ref: str) -> float:
        return sum(qty * price for _, qty, price, owner in self.current.values() if owner == ref)


def hand_over(book: ExecBook, legs: dict[str, LegModel], machine: type[StateMachine], fill: Fill,
              ref: str) -> tuple[ExecKind, str | None]:
    """What the supervisor does with an execution reported against `ref`; returns its kind and the
    order it was counted on (None when it stopped at the book)."""
    kind, replaced = book.apply(fill, ref)
    if kind in (ExecKind.DUPLICATE, ExecKind.STALE):
        return kind, None
    family = book.family_of(fill.exec_id)
    assert family is not None
    qty, notional = fill.qty, fill.qty * fill.price
    if replaced is not None:
        qty -= replaced.qty
        notional -= replaced.qty * replaced.price
    fire(machine, legs[family.owner], "fill", qty=qty, notional=notional, exec_id=fill.exec_id)
    return kind, family.owner


def not_stuck(name: str, model: LegModel) -> None:
    """Every broker answer the leg's state may receive is a declared transition: fired on a copy."""
    machine = LEG_MACHINES[name]
    state = model.state
    answers = LIVE_ANSWERS if state in LIVE_STATES else ENDED_ANSWERS if state in SENT_AND_ENDED \
        else UNSENT_ANSWERS
    for event in answers:
        probe = copy.deepcopy(model)
        kwargs = {"qty": 1, "notional": 10.0, "exec_id": "probe"} if event == "fill" else {}
        fire(machine, probe, event, **kwargs)  # raises TransitionNotAllowed if the leg would be stuck
        assert (state, event, probe.state) in DECLARED[name]


def snapshot(model: LegModel) -> tuple[Any, ...]:
    return (model.state, model.filled, model.notional, model.broker_qty, model.intended_qty, model.pending_qty,
            model.cancel_refusals, model.replace_refusals, list(model.late_exec_ids))


@attrs.frozen
class Step:
    ref: str  # the order it is reported against, or fired at
    execution: Exec | None  # an execution, or else `event`
    qty: int
    price: float
    event: str  # any event of the machine, when `wander` (so refusals are exercised); else one the
    pick: int  # leg's state declares, the `pick`-th of them (so walks get deep: a fill while a
    wander: bool  # modify is in flight needs five steps)
    kwargs: dict[str, Any]


EVENT_PICKS = 16
ENDS_BEFORE_SENDING = ("withdraw", "expire")  # dead ends for a walk: only when wandering
KWARGS: list[dict[str, Any]] = [  # what an event may carry; an event takes what its callbacks name and ignores the rest
    {},
    {"qty": None, "stop_price": 9.5},  # a reprice (a StopLeg needs a stop price)
    {"qty": 3, "stop_price": 9.0},  # a resize, maybe below what executed
    {"qty": 12},  # a resize alone
    {"quantity": 4},  # the broker's figure in an acknowledgement
    {"quantity": 12},
    {"reason": "201 test"},
]


def steps_for(machine: type[StateMachine]) -> st.SearchStrategy[list[Step]]:
    """Walks of 6 to 30 steps. Each step is four small draws (cheap to generate and to shrink):
    the order, an execution or not (and which), the event's pick, the kwargs."""
    events = sorted(e for e in event_ids(machine) if e != "fill")

    def decode(ref: int, execution: Exec | None, pick: int, extra: int) -> Step:
        return Step(ref=REFS[ref], execution=execution, qty=1 + extra % 6, price=(9.5, 10.0, 10.25)[extra % 3],
                    event=events[pick % len(events)], pick=pick, wander=pick >= EVENT_PICKS - 2,
                    kwargs=KWARGS[extra % len(KWARGS)])

    step = st.builds(decode, st.integers(0, 1), st.one_of(st.none(), execs), st.integers(0, EVENT_PICKS - 1),
                     st.integers(0, 41))
    return st.lists(step, min_size=6, max_size=30)


CHECKED: set[tuple[str, str]] = set()  # (machine, state) whose answers were fired already


def check_legs(name: str, steps: list[Step]) -> None:
    machine = LEG_MACHINES[name]
    initial = "armed" if machine is EntryLeg else "idle"
    legs = {ref: leg_model(ref, state=initial) for ref in REFS}
    book, counted = ExecBook(), Counted()

    for step in steps:
        model = legs[step.ref]
        e = step.execution
        if e is not None:
            expected = counted.classify(e)
            owner = counted.current[e.family][3] if e.family in counted.current else step.ref
            sources = {r: legs[r].state for r in REFS}
            kind, counted_on = hand_over(book, legs, machine, Fill(e.exec_id, step.qty, step.price), step.ref)
            assert kind is expected, (e.exec_id, kind, expected)
            counted.apply(e, step.qty, step.price, step.ref)
            if counted_on is not None:
                assert counted_on == owner  # a correction belongs to its original's order
                moved = (sources[owner], "fill", legs[owner].state)
                assert moved in DECLARED[name], f"undeclared step {moved}"
        else:
            event = step.event
            if not step.wander:
                here = sorted({ev for source, ev, _ in DECLARED[name]
                               if source == model.state and ev not in ("fill", *ENDS_BEFORE_SENDING)})
                event = here[step.pick % len(here)] if here else event
            before = snapshot(model)
            try:
                fire(machine, model, event, **step.kwargs)
            except TransitionNotAllowed:
                assert snapshot(model) == before
                continue
            except ValueError:
                # a resize below what already executed, or a stop replace with no new figure: refused
                # before any transition
                assert event == "request_replace", step
                assert snapshot(model) == before
                continue
            moved = (before[0], event, model.state)
            assert moved in DECLARED[name], f"undeclared step {moved}"

        # every execution counted once, at its current revision, for the order it belongs to
        assert len(book) == len(counted.current)
        for r in REFS:
            assert legs[r].filled == counted.filled(r), r
            assert abs(legs[r].notional - counted.notional(r)) < 1e-6, r
        # nothing the broker says leaves a leg stuck (the first time a state is reached in this
        # session, its answers are fired on a copy: the guards all have a fallback, so a state's
        # answers do not depend on its numbers)
        for r in REFS:
            if (name, legs[r].state) not in CHECKED:
                not_stuck(name, legs[r])
                CHECKED.add((name, legs[r].state))


# a modest count by default, from the profile in tests/conftest.py (HYPOTHESIS_PROFILE=thorough
# for a long run)
EXAMPLES = max(settings().max_examples // 3, 20)


@settings(max_examples=EXAMPLES)
@given(steps_for(Leg))
def test_leg_counts_every_execution_once_and_moves_only_along_declared_edges(steps: list[Step]) -> None:
    check_legs("Leg", steps)


@settings(max_examples=EXAMPLES)
@given(steps_for(StopLeg))
def test_stop_leg_counts_every_execution_once_and_moves_only_along_declared_edges(steps: list[Step]) -> None:
    check_legs("StopLeg", steps)


@settings(max_examples=EXAMPLES)
@given(steps_for(EntryLeg))
def test_entry_leg_counts_every_execution_once_and_moves_only_along_declared_edges(steps: list[Step]) -> None:
    check_legs("EntryLeg", steps)


@pytest.mark.parametrize("name", list(LEG_MACHINES))
def test_no_state_of_a_leg_is_stuck(name: str) -> None:
    """Every state of every leg machine, reached with events, answers what the broker may say."""
    machine = LEG_MACHINES[name]
    setups = ENTRY_SETUPS if machine is EntryLeg else LEG_SETUPS
    states = {s.id for s in machine.states}
    assert states <= set(setups)
    for state in states:
        not_stuck(name, drive_leg(machine, state))


# -- the book alone: many executions, no legs ----------------------------------------------------
@settings(max_examples=EXAMPLES)
@given(st.lists(st.tuples(execs, st.integers(1, 9), st.sampled_from(REFS)), min_size=1, max_size=40))
def test_the_book_keeps_the_newest_revision_of_each_execution(sequence: list[tuple[Exec, int, str]]) -> None:
    book, counted = ExecBook(), Counted()
    for e, qty, ref in sequence:
        expected = counted.classify(e)
        kind, replaced = book.apply(Fill(e.exec_id, qty, 10.0), ref)
        assert kind is expected, (e.exec_id, kind, expected)
        assert (replaced is not None) == (kind is ExecKind.CORRECTION)
        counted.apply(e, qty, 10.0, ref)
    assert len(book) == len(counted.current)
    by_family = {e.family: e for e, _, _ in sequence}
    for family, (revision, qty, _, owner) in counted.current.items():
        found = book.family_of(attrs.evolve(by_family[family], revision=revision).exec_id)
        assert found is not None
        assert (found.current.exec_id, found.current.qty, found.owner) == (
            attrs.evolve(by_family[family], revision=revision).exec_id, qty, owner)


# -- the rules, one example each ----------------------------------------------------------------
def test_a_duplicate_is_never_counted_twice() -> None:
    book = ExecBook()
    assert book.apply(Fill("0000e215.5f3bcbd4.01.01", 4, 10.0), "T1:tp1") == (ExecKind.NEW, None)
    assert book.apply(Fill("0000e215.5f3bcbd4.01.01", 4, 10.0), "T1:tp1") == (ExecKind.DUPLICATE, None)
    assert book.apply(Fill("0000e215.5f3bcbd4.01.01", 4, 10.0), "T1:sl1") == (ExecKind.DUPLICATE, None)
    assert len(book) == 1


BUMPED = "0000e215.5f3bcbd4.01"


@pytest.mark.parametrize(("first", "second", "kind"), [
    (f"{BUMPED}.01", f"{BUMPED}.02", ExecKind.CORRECTION),  # IB bumps the last part
    ("x1", "x1.01", ExecKind.CORRECTION),  # or appends one
    ("x1.01", "x1.02", ExecKind.CORRECTION),
    (f"{BUMPED}.02", f"{BUMPED}.01", ExecKind.STALE),  # the correction came first: the original is stale
    ("x1.01", "x1", ExecKind.STALE),
    ("x1.02", "x1.01", ExecKind.STALE),
    (f"{BUMPED}.01", "0000e216.5f3bcbd4.01.01", ExecKind.NEW),  # another execution
    ("x1", "x12", ExecKind.NEW),
])
def test_revisions_replace_their_original_in_either_order(first: str, second: str, kind: ExecKind) -> None:
    book = ExecBook()
    book.apply(Fill(first, 4, 10.0), "T1:tp1")
    got, replaced = book.apply(Fill(second, 3, 11.0), "T1:tp1")
    assert got is kind
    family = book.family_of(second)
    assert family is not None
    if kind is ExecKind.CORRECTION:
        assert replaced == Fill(first, 4, 10.0)
        assert family.current == Fill(second, 3, 11.0)
        assert len(book) == 1
    elif kind is ExecKind.STALE:
        assert replaced is None
        assert family.current == Fill(first, 4, 10.0)
        assert len(book) == 1
    else:
        assert len(book) == 2


def test_executions_are_counted_per_account_not_per_order() -> None:
    # a correction reported against another order of the account belongs to the original's order
    book = ExecBook()
    book.apply(Fill("x1", 4, 10.0), "T1:tp1")
    kind, replaced = book.apply(Fill("x1.01", 3, 10.0), "T1:sl1")
    family = book.family_of("x1.01")
    assert (kind, replaced) == (ExecKind.CORRECTION, Fill("x1", 4, 10.0))
    assert family is not None
    assert family.owner == "T1:tp1"
    # and a leg's figures follow: the supervisor hands the difference to the owner
    legs = {"T1:tp1": leg_model("T1:tp1"), "T1:sl1": leg_model("T1:sl1")}
    for model in legs.values():
        for event in ("intend", "transmit", "accept"):
            fire(Leg, model, event)
    book = ExecBook()
    hand_over(book, legs, Leg, Fill("x1", 4, 10.0), "T1:tp1")
    assert hand_over(book, legs, Leg, Fill("x1.01", 3, 10.5), "T1:sl1") == (ExecKind.CORRECTION, "T1:tp1")
    assert hand_over(book, legs, Leg, Fill("x1", 4, 10.0), "T1:sl1") == (ExecKind.DUPLICATE, None)
    assert (legs["T1:tp1"].filled, legs["T1:tp1"].notional, legs["T1:sl1"].filled) == (3, 31.5, 0)
