"""The guarded rows of the four machines of a trade model (`Trade`, `Ladder`, `Milestones`; `Cover`
has no guard, its intents are checked row by row by the sweep in `test_transition_tables.py`),
fired on the shared machines with the trade's entry and exit legs driven, with events, to the
situation each guard reads; and the intents each fired row records.

Each case starts from a named setup of its machine (`tables.drive.TRADE_LEVEL_SETUPS`) plus steps
of its own, names the guard that must decide (checked to be the first alternative that holds), the
state the machine must end in and so the intents the hand-written map gives that row. A guard with
no fallback (`Trade.abort` from `entering`) refuses the event when it fails. Cases of a disputed
row (`TRADE_UNDECLARED`) are expected failures. A last test checks every guarded row has a case.
"""

from __future__ import annotations

from typing import Any

import pytest
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed

from machines import Ladder, Leg, Milestones, OcaPair, PairModel, StopLeg, Trade
from tables import NOT_ALLOWED, Disputed, Intents, Table
from tables.drive import (
    ENTRY_LIVE,
    QTY,
    STATE_FIELDS,
    Step,
    cancelled,
    closed_by_tp,
    drive_trade,
    ev,
    fill,
    fire,
    first_guard_that_holds,
    leg_model,
    live,
    put,
    run,
)
from tables.ladder import LADDER, LADDER_INTENTS
from tables.milestones import MILESTONES, MILESTONES_INTENTS
from tables.trade import TRADE, TRADE_DISPUTED, TRADE_INTENTS, TRADE_UNDECLARED

MACHINES: dict[str, tuple[type[StateMachine], Table, Intents, Disputed]] = {
    "trade": (Trade, TRADE, TRADE_INTENTS, TRADE_DISPUTED),
    "ladder": (Ladder, LADDER, LADDER_INTENTS, {}),
    "milestones": (Milestones, MILESTONES, MILESTONES_INTENTS, {}),
}
UNDECLARED = {"trade": TRADE_UNDECLARED}

ENTRY_CANCELLED = cancelled("entry")
ENTRY_4 = [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 4), ev("trade", "inventory")]
EXITS_LIVE = [put("pair", allocated=4), ev("pair", "allocate"), *live("tp"), *live("sl")]
SOLD_4_ENTRY_ENDED = [fill("tp", "t1", 4), *ENTRY_CANCELLED]  # the entry stopped at 4, all 4 sold

# (machine, setup, steps, event, guard that must decide, expected state)
Case = tuple[str, str, list[Step], str, str | None, str]
CASES: list[Case] = [
    ("trade", "entering", [], "abort", "nothing_filled", "aborted"),
    ("trade", "entering", [*ENTRY_LIVE, fill("entry", "x1", 4)], "abort", None, NOT_ALLOWED),
    ("trade", "armed", [ev("entry", "expire")], "entry_ended", "nothing_filled", "aborted"),
    ("trade", "armed", [fill("entry", "x1", 4)], "entry_ended", None, "armed"),  # a lost trigger's fill
    ("trade", "entering", [*ENTRY_LIVE, *ENTRY_CANCELLED], "entry_ended", "nothing_filled", "aborted"),
    ("trade", "entering", [*ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED], "entry_ended", None, "entering"),

    ("trade", "protecting", [fill("tp", "t1", 4), ev("trade", "reduced")], "covered", "exits_started", "scaling_out"),
    ("trade", "protecting", [], "covered", None, "protected"),
    ("trade", "protecting", [fill("tp", "t1", 10)], "reduced", "is_flat", "closed"),
    ("trade", "protecting", [fill("tp", "t1", 4)], "reduced", None, "protecting"),
    ("trade", "armed", [*ENTRY_4, *EXITS_LIVE, *SOLD_4_ENTRY_ENDED], "entry_ended", "is_flat", "closed"),
    ("trade", "protecting", [], "entry_ended", None, "protecting"),
    # flat, but the entry still works: more shares may come
    ("trade", "armed", [*ENTRY_4, *EXITS_LIVE, fill("tp", "t1", 4)], "reduced", None, "protecting"),

    ("trade", "protected", [fill("tp", "t1", 10)], "reduced", "is_flat", "closed"),
    ("trade", "protected", [fill("tp", "t1", 4)], "reduced", None, "scaling_out"),
    ("trade", "armed", [*ENTRY_4, *EXITS_LIVE, ev("trade", "covered"), *SOLD_4_ENTRY_ENDED],
        "entry_ended", "is_flat", "closed"),
    ("trade", "protected", [], "entry_ended", None, "protected"),

    ("trade", "scaling_out", [fill("sl", "s1", 6)], "reduced", "is_flat", "closed"),
    ("trade", "scaling_out", [fill("tp", "t2", 2)], "reduced", None, "scaling_out"),
    ("trade", "armed", [*ENTRY_4, *EXITS_LIVE, ev("trade", "covered"), fill("tp", "t1", 2), ev("trade", "reduced"),
                        fill("tp", "t2", 2), *ENTRY_CANCELLED], "entry_ended", "is_flat", "closed"),
    ("trade", "scaling_out", [], "entry_ended", None, "scaling_out"),

    ("trade", "unprotected", [fill("tp", "t1", 4)], "covered", "exits_started", "scaling_out"),
    ("trade", "unprotected", [], "covered", None, "protected"),
    ("trade", "unprotected", [fill("tp", "t1", 10)], "reduced", "is_flat", "closed"),
    ("trade", "unprotected", [fill("tp", "t1", 4)], "reduced", None, "unprotected"),
    ("trade", "armed", [*ENTRY_4, *EXITS_LIVE, ev("trade", "uncovered"), *SOLD_4_ENTRY_ENDED],
        "entry_ended", "is_flat", "closed"),
    ("trade", "unprotected", [], "entry_ended", None, "unprotected"),

    ("ladder", "waiting", [put("ladder", attached=True)], "start", "is_attached", "attached"),
    ("ladder", "waiting", [], "start", None, "waiting"),
    ("ladder", "attached", [*ENTRY_LIVE, fill("entry", "x1", 10)], "shares_added", "entry_full", "attached"),
    ("ladder", "attached", [*ENTRY_LIVE, fill("entry", "x1", 4)], "shares_added", None, "detaching"),
    ("ladder", "waiting", [*ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED], "entry_ended", "has_shares",
        "complete"),
    ("ladder", "waiting", [*ENTRY_LIVE, *ENTRY_CANCELLED], "entry_ended", None, "complete"),
    ("ladder", "attached", [*ENTRY_LIVE, fill("entry", "x1", 10)], "entry_ended", "entry_full", "complete"),
    ("ladder", "attached", [*ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED], "entry_ended", "has_shares",
        "detaching"),
    ("ladder", "attached", [*ENTRY_LIVE, *ENTRY_CANCELLED], "entry_ended", None, "complete"),
    ("ladder", "attached", [*ENTRY_LIVE, fill("entry", "x1", 4), ev("ladder", "shares_added")], "children_done",
        "entry_live", "building"),
    ("ladder", "attached", [*ENTRY_LIVE, fill("entry", "x1", 4), ev("ladder", "shares_added"), *ENTRY_CANCELLED],
        "children_done", None, "complete"),
    ("ladder", "building", [*ENTRY_LIVE, fill("entry", "x1", 4)], "stop_executed", "entry_live", "building"),
    ("ladder", "building", [*ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED], "stop_executed", None,
        "building"),
    ("ladder", "building", [*ENTRY_LIVE, fill("entry", "x1", 10)], "stop_executed", None, "building"),
    # flattening: the market order goes once nothing of the trade works and shares are held
    ("ladder", "flattening", [*ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED], "child_changed",
        "quiet_and_held", "flattening"),
    ("ladder", "flattening", [*ENTRY_LIVE, fill("entry", "x1", 4)], "child_changed", None, "flattening"),
    ("ladder", "flattening", [*ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED, *live("tp")], "child_changed",
        None, "flattening"),
    ("ladder", "flattening", [*ENTRY_LIVE, *ENTRY_CANCELLED], "child_changed", None, "flattening"),

    ("milestones", "none", [*closed_by_tp(), *closed_by_tp("2")], "target_filled", "second_reached", "second"),
    ("milestones", "none", [*closed_by_tp()], "target_filled", "first_reached", "first"),
    ("milestones", "none", [], "target_filled", None, "none"),
    ("milestones", "none", [*closed_by_tp("2")], "target_filled", None, "none"),  # level 2 alone is no milestone
    ("milestones", "first", [*closed_by_tp("2")], "target_filled", "second_reached", "second"),
    ("milestones", "first", [], "target_filled", None, "first"),
]


def _start(case: Case) -> str:
    who, setup, steps, *_ = case
    return str(getattr(drive_trade(who, setup, steps)["trade"], STATE_FIELDS[who]))


def _params() -> list[Any]:
    params = []
    for case in CASES:
        who, setup, steps, event, guard, expected = case
        start, disputed = _start(case), MACHINES[who][3]
        marks = []
        if (start, event, guard, expected) in UNDECLARED.get(who, ()):
            marks = [pytest.mark.xfail(strict=True, reason=disputed[(start, event)][:90])]
        params.append(pytest.param(case, id=f"{who}:{setup}+{len(steps)}-{event}-{guard}->{expected}", marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_trade_level_guarded_row(case: Case) -> None:
    who, setup, steps, event, guard, expected = case
    machine, table, intents, _ = MACHINES[who]
    model = drive_trade(who, setup, steps)["trade"]
    field = STATE_FIELDS[who]
    start = getattr(model, field)
    assert first_guard_that_holds(machine, model, table, event, {}) == guard
    if expected == NOT_ALLOWED:
        with pytest.raises(TransitionNotAllowed):
            fire(machine, model, event)
        assert getattr(model, field) == start
        return
    recorded = fire(machine, model, event)
    assert getattr(model, field) == expected
    assert tuple(recorded) == intents.get((start, event, guard), ())


@pytest.mark.parametrize("who", list(MACHINES))
def test_every_guarded_row_has_a_case(who: str) -> None:
    table = MACHINES[who][1]
    guarded_pairs = {(s, e) for s, e, g, _ in table if g is not None}
    guarded = {row for row in table if (row[0], row[1]) in guarded_pairs}
    covered = {(_start(case), case[3], case[4], case[5]) for case in CASES if case[0] == who}
    assert guarded - covered == set()


def test_milestones_read_the_newest_pair_of_a_level() -> None:
    # level 1's first pair closed on its target, then a successor pair took the level over:
    # the milestone waits for the successor to close on its target too
    rig = drive_trade("milestones", "none", closed_by_tp())
    model = rig["trade"]
    tp, sl = leg_model("T1:tp1~2"), leg_model("T1:sl1~2")
    successor = PairModel("pair1~2", 1, tp, sl, target_qty=QTY)
    model.pairs.append(successor)
    rig.update({"tp9": tp, "sl9": sl, "pair9": successor})
    machines = {"tp9": Leg, "sl9": StopLeg, "pair9": OcaPair}
    run(rig, machines, [put("pair9", allocated=QTY), ev("pair9", "allocate"), *live("tp9"), *live("sl9"),
                        ev("pair9", "leg_changed")])
    assert fire(Milestones, model, "target_filled") == []
    assert model.milestones == "none"
    run(rig, machines, [fill("tp9", "t9", QTY), ev("pair9", "leg_changed")])
    assert successor.state == "closed_by_tp"
    assert fire(Milestones, model, "target_filled") == ["reprice"]
    assert model.milestones == "first"
