"""The `OcaPair` table as a stop-only level takes it (a plan with no take-profit: `PairModel.tp` is
None). The same shared machine, driven with events from named stop-only setups
(`tables.drive.STOP_ONLY_SETUPS`); each case names the guard that must decide (the first of the
declared table's alternatives that holds), the state it ends in, and the intents recorded (those
`OCA_PAIR_INTENTS` gives the row). Every guarded row of `STOP_ONLY_PAIR` has a case, every row of it
is a row of `OCA_PAIR`, and over every situation the cases reach, no target row can be taken.
"""

from __future__ import annotations

from typing import Any

import pytest

from machines import OcaPair
from tables.drive import (
    STOP_ONLY_SETUPS,
    Step,
    cancelled,
    drive_stop_only,
    ev,
    fill,
    fire,
    first_guard_that_holds,
    guard_holds,
    live,
    put,
)
from tables.oca_pair import OCA_PAIR, OCA_PAIR_DISPUTED, OCA_PAIR_INTENTS, OCA_PAIR_UNDECLARED, STOP_ONLY_PAIR

NO_REPAIR = put("pair", repairs_left=0)
SL_GONE = ev("sl", "confirm_cancel")  # an unsolicited cancel: no sibling's fill explains it

Case = tuple[str, list[Step], str, str | None, str]
CASES: list[Case] = [
    ("pending", [put("pair", allocated=4)], "allocate", "has_shares", "armed"),
    ("pending", [], "allocate", None, "pending"),
    ("pending", [], "attach", None, "armed"),
    ("pending", [], "drop", None, "cancelled"),
    ("pending", [], "withdraw", None, "cancelled"),

    ("armed", [], "allocate", None, "armed"),
    ("armed", [], "withdraw", None, "cancelled"),
    ("armed", [fill("sl", "s1", 10)], "leg_changed", "sl_took_all", "closed_by_sl"),
    ("armed", [ev("sl", "reject")], "leg_changed", "lost_for_sure and can_repair", "armed"),
    # the difference a missing target makes: a stop cancelled behind our back is restored at once
    ("armed", [SL_GONE], "leg_changed", "lost_for_sure and can_repair", "armed"),
    ("armed", [NO_REPAIR, ev("sl", "reject")], "leg_changed", "uncovered", "exposed"),
    ("armed", [NO_REPAIR, SL_GONE], "leg_changed", "uncovered", "exposed"),
    # attached: the stop rode with the entry, which was cancelled before a share filled
    ("pending", [ev("pair", "attach"), *live("sl"), *cancelled("sl")], "leg_changed", "ended_empty", "cancelled"),
    ("armed", [fill("sl", "s1", 4)], "leg_changed", "exits_started", "reducing"),
    ("armed", [], "leg_changed", None, "armed"),
    ("armed", [SL_GONE], "repair", "leg_lost and can_repair", "armed"),
    ("armed", [NO_REPAIR, SL_GONE], "repair", "uncovered", "exposed"),
    ("armed", [], "repair", None, "armed"),
    ("armed", [], "replace", None, "replacing"),

    ("reducing", [], "allocate", None, "reducing"),
    ("reducing", [], "withdraw", None, "cancelled"),
    ("reducing", [fill("sl", "s2", 6)], "leg_changed", "sl_took_all", "closed_by_sl"),
    ("reducing", [SL_GONE], "leg_changed", "lost_for_sure and can_repair", "reducing"),
    ("reducing", [NO_REPAIR, SL_GONE], "leg_changed", "uncovered", "exposed"),
    ("reducing", [], "leg_changed", None, "reducing"),
    ("reducing", [SL_GONE], "repair", "leg_lost and can_repair", "reducing"),
    ("reducing", [NO_REPAIR, SL_GONE], "repair", "uncovered", "exposed"),
    ("reducing", [], "repair", None, "reducing"),
    ("reducing", [], "replace", None, "replacing"),

    ("replacing", [], "withdraw", None, "cancelled"),
    # the stop executed the whole level in the race with its cancel (the disputed row)
    ("replacing", [fill("sl", "s1", 10)], "leg_changed", "both_done and sl_took_all", "closed_by_sl"),
    ("replacing", [*cancelled("sl")], "leg_changed", "both_done", "replaced"),
    ("replacing", [], "leg_changed", None, "replacing"),

    ("exposed", [], "withdraw", None, "cancelled"),
    ("exposed", [fill("sl", "s1", 10)], "leg_changed", "sl_took_all", "closed_by_sl"),
    ("exposed", [put("pair", allocated=0)], "leg_changed", "ended_empty", "cancelled"),
    ("exposed", [], "leg_changed", None, "exposed"),
    ("exposed", [], "replace", None, "replacing"),
]


def _start(case: Case) -> str:
    setup, steps, *_ = case
    return str(drive_stop_only(setup, steps)["pair"].state)


def _params() -> list[Any]:
    params = []
    for case in CASES:
        setup, steps, event, guard, expected = case
        start = _start(case)
        disputed = (start, event, guard, expected) in OCA_PAIR_UNDECLARED
        marks = [pytest.mark.xfail(strict=True, reason=OCA_PAIR_DISPUTED[(start, event)][:90])] if disputed else []
        params.append(pytest.param(case, id=f"{setup}+{len(steps)}-{event}-{guard}->{expected}", marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_stop_only_pair_row(case: Case) -> None:
    setup, steps, event, guard, expected = case
    rig = drive_stop_only(setup, steps)
    pair = rig["pair"]
    start = pair.state
    assert pair.tp is None
    assert (start, event, guard, expected) in STOP_ONLY_PAIR
    assert first_guard_that_holds(OcaPair, pair, OCA_PAIR, event, {}) == guard
    recorded = fire(OcaPair, pair, event)
    assert pair.state == expected
    assert tuple(recorded) == OCA_PAIR_INTENTS.get((start, event, guard), ())


def test_every_stop_only_row_is_a_declared_row() -> None:
    assert set(STOP_ONLY_PAIR) - set(OCA_PAIR) == set()
    assert not {target for *_, target in STOP_ONLY_PAIR} & {"closed_by_tp", "closed_mixed"}


def test_every_row_of_the_stop_only_table_has_a_case() -> None:
    covered = {(_start(case), case[2], case[3], case[4]) for case in CASES}
    assert set(STOP_ONLY_PAIR) - covered == set()


def test_no_target_row_holds_in_any_situation_the_cases_reach() -> None:
    """Every situation a case builds, before its event and after it: the target's guard never
    holds, a level emptied is always emptied by its stops, a lost stop is always lost for sure."""
    situations = 0
    for setup, steps, event, _, _ in CASES:
        pair = drive_stop_only(setup, steps)["pair"]
        for when in ("before", "after"):
            assert not guard_holds(OcaPair, pair, "tp_took_all", {})
            if guard_holds(OcaPair, pair, "all_exited", {}):
                assert guard_holds(OcaPair, pair, "sl_took_all", {})
            if guard_holds(OcaPair, pair, "leg_lost", {}):
                assert guard_holds(OcaPair, pair, "lost_for_sure", {})
            assert pair.state not in ("closed_by_tp", "closed_mixed") or (setup, pair.state) == (
                "replacing", "closed_mixed")  # the disputed row, see OCA_PAIR_DISPUTED
            situations += 1
            if when == "before":
                fire(OcaPair, pair, event)
    assert situations == 2 * len(CASES)


def test_the_stop_only_setups_reach_every_state_but_the_targets() -> None:
    assert set(STOP_ONLY_SETUPS) == {s for s, *_ in OCA_PAIR} - {"closed_by_tp", "closed_mixed"}


def test_a_stop_only_level_places_and_exits_through_its_stop_alone() -> None:
    rig = drive_stop_only("armed")
    pair = rig["pair"]
    assert pair.legs == pair.stop_first == (rig["sl"],)
    assert (pair.allocated, pair.exited, pair.remaining) == (10, 0, 10)
    rig2 = drive_stop_only("armed", [fill("sl", "s1", 3)])
    assert (rig2["pair"].exited, rig2["pair"].remaining) == (3, 7)
