"""A replay pauses the cyclic garbage collector while it loads, and always gives it back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import attrs
import pytest

from supervisor.core import Supervisor
from supervisor.replay import collector_paused


@attrs.frozen
class Note:
    kind: str
    wall: float
    value: object


def test_the_collector_is_paused_inside_and_enabled_again_after_a_failure() -> None:
    assert gc.isenabled()
    inside: list[bool] = []

    def fail() -> None:
        with collector_paused():
            inside.append(gc.isenabled())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert inside == [False]
    assert gc.isenabled()


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_replay_runs_with_the_collector_paused_and_resumes_it() -> None:
    seen: list[bool] = []

    def records() -> Iterator[Note]:
        seen.append(gc.isenabled())
        yield Note("meta", 1.0, {"note": "not a call"})
        seen.append(gc.isenabled())

    supervisor = Supervisor.restore(records(), lambda: 0.0)
    assert supervisor.trades() == []
    assert seen == [False, False]
    assert gc.isenabled()
