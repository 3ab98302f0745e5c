"""The engine is skipped only where the declaration says nothing can happen (`machinery.noops`)."""

from __future__ import annotations

import pytest
from statemachine import State, StateMachine

from machines import MACHINES
from supervisor.machinery import noops


class _Toy(StateMachine):
    a = State(initial=True)
    b = State()

    bare = a.to.itself(internal=True) | b.to.itself(internal=True)
    guarded = a.to.itself(internal=True, cond="ok") | b.to.itself(internal=True)
    acting = a.to.itself(internal=True, on="act") | b.to.itself(internal=True)
    conventional = a.to.itself(internal=True) | b.to.itself(internal=True)
    external = a.to.itself() | b.to.itself(internal=True)
    choice = a.to.itself(internal=True, cond="ok") | a.to.itself(internal=True) | b.to(a)
    leave = a.to(b) | b.to.itself(internal=True)

    def ok(self) -> bool:
        return True

    def act(self) -> None:
        pass

    def on_conventional(self) -> None:
        pass


def test_only_bare_internal_self_transitions_are_noops() -> None:
    assert noops(_Toy) == {
        ("a", "bare"), ("b", "bare"), ("b", "guarded"), ("b", "acting"), ("b", "external"),
        ("b", "leave"),
    }  # `on_conventional` runs on every transition of `conventional`: never skipped


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_every_noop_of_a_project_machine_is_a_lone_unguarded_internal_self_transition(name: str) -> None:
    machine = MACHINES[name]
    found = noops(machine)
    assert found, f"{name}: no event is ever a no-op? the detector reads nothing"
    for state_id, event in found:
        state = next(s for s in machine.states if s.id == state_id)
        transitions = [t for t in state.transitions if event in [str(e) for e in t.events]]
        assert len(transitions) == 1
        (t,) = transitions
        assert (t.is_self, t.internal, list(t.cond), list(t.validators)) == (True, True, [], [])


def test_a_guarded_choice_in_the_ladder_is_not_skipped() -> None:
    from machines import Ladder

    found = noops(Ladder)
    assert ("flattening", "flatten") in found
    assert ("flattening", "child_changed") not in found  # guarded: it may send the flatten order
