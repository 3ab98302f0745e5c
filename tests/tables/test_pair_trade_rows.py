"""The guarded rows of the `OcaPair` and `Trade` tables, fired on real machines whose legs were
driven, with events, to the situation the guard reads. Each case names the guard it exercises,
checked to be the first one that holds before the event fires; a last test checks every guarded
row has a case. A guard with no fallback (`Trade.abort` from `entering`) raises when it fails.
"""

from __future__ import annotations

import pytest
from statemachine.exceptions import TransitionNotAllowed

from tables import NOT_ALLOWED, Table
from tables.drive import PAIR_SETUPS, TRADE_SETUPS, Setup, drive_pair, drive_trade, fire, first_guard_that_holds
from tables.oca_pair import OCA_PAIR
from tables.trade import TRADE

Case = tuple[str, str, str | None, str]  # (setup, event, guard that must decide, expected state)

PAIR_CASES: list[Case] = [
    ("pending, both legs acked",        "leg_acked",  "both_acknowledged", "armed"),
    ("pending, tp acked",               "leg_acked",  None,                "pending"),
    ("pending, tp filled 10",           "leg_filled", "tp_took_all",       "closed_by_tp"),
    ("pending, sl filled 10",           "leg_filled", "sl_took_all",       "closed_by_sl"),
    ("pending, tp 4 + sl 6",            "leg_filled", "all_exited",        "closed_mixed"),
    ("pending, tp filled 4",            "leg_filled", None,                "reducing"),
    ("pending, both cancelled unsent",  "leg_ended",  "ended_empty",       "cancelled"),
    ("pending, sl rejected",            "leg_ended",  "uncovered",         "exposed"),
    ("pending, tp rejected",            "leg_ended",  None,                "pending"),
    ("armed, tp filled 10",             "leg_filled", "tp_took_all",       "closed_by_tp"),
    ("armed, sl filled 10",             "leg_filled", "sl_took_all",       "closed_by_sl"),
    ("armed, tp 4 + sl 6",              "leg_filled", "all_exited",        "closed_mixed"),
    ("armed, tp filled 4",              "leg_filled", None,                "reducing"),
    ("armed, both cancelled",           "leg_ended",  "ended_empty",       "cancelled"),
    ("armed, sl cancelled",             "leg_ended",  "uncovered",         "exposed"),
    ("armed, tp cancelled",             "leg_ended",  None,                "armed"),
    ("reducing, tp filled 10",          "leg_filled", "tp_took_all",       "closed_by_tp"),
    ("reducing by sl, sl filled 10",    "leg_filled", "sl_took_all",       "closed_by_sl"),
    ("reducing, tp 4 + sl 6",           "leg_filled", "all_exited",        "closed_mixed"),
    ("reducing, tp filled 6",           "leg_filled", None,                "reducing"),
    ("reducing, sl cancelled",          "leg_ended",  "uncovered",         "exposed"),
    ("reducing, tp cancelled",          "leg_ended",  None,                "reducing"),
    ("exposed, tp filled 10",           "leg_filled", "tp_took_all",       "closed_by_tp"),
    ("exposed, late sl fill 10",        "leg_filled", "sl_took_all",       "closed_by_sl"),
    ("exposed, tp 4 + late sl 6",       "leg_filled", "all_exited",        "closed_mixed"),
    ("exposed, tp filled 4",            "leg_filled", None,                "exposed"),
    ("exposed, tp cancelled",           "leg_ended",  "ended_empty",       "cancelled"),
    ("exposed, tp 4 then cancelled",    "leg_ended",  None,                "exposed"),
]

TRADE_CASES: list[Case] = [
    ("entering",                                    "abort",       "nothing_filled", "aborted"),
    ("entering, entry filled 4",                    "abort",       None,             NOT_ALLOWED),
    ("entering, entry cancelled empty",             "entry_ended", "nothing_filled", "aborted"),
    ("entering, entry 4 then cancelled",            "entry_ended", None,             "entering"),
    ("protecting, tp took all 10",                  "reduced",     "is_flat",        "closed"),
    ("protecting, tp took 4",                       "reduced",     None,             "protecting"),
    ("protecting, entry 4 sold, entry cancelled",   "entry_ended", "is_flat",        "closed"),
    ("protecting",                                  "entry_ended", None,             "protecting"),
    ("protected, tp took all 10",                   "reduced",     "is_flat",        "closed"),
    ("protected, tp took 4",                        "reduced",     None,             "scaling_out"),
    ("protected, entry 4 sold, entry cancelled",    "entry_ended", "is_flat",        "closed"),
    ("protected",                                   "entry_ended", None,             "protected"),
    ("scaling_out, sl took the last 6",             "reduced",     "is_flat",        "closed"),
    ("scaling_out, tp took 2 more",                 "reduced",     None,             "scaling_out"),
    ("scaling_out, entry 6 sold, entry cancelled",  "entry_ended", "is_flat",        "closed"),
    ("scaling_out",                                 "entry_ended", None,             "scaling_out"),
    ("unprotected, tp took 4",                      "covered",     "exits_started",  "scaling_out"),
    ("unprotected",                                 "covered",     None,             "protected"),
    ("unprotected, tp took all 10",                 "reduced",     "is_flat",        "closed"),
    ("unprotected, tp took 4",                      "reduced",     None,             "unprotected"),
    ("unprotected, entry 4 sold, entry cancelled",  "entry_ended", "is_flat",        "closed"),
    ("unprotected",                                 "entry_ended", None,             "unprotected"),
]


@pytest.mark.parametrize(("setup", "event", "guard", "expected"), PAIR_CASES)
def test_pair_guarded_row(setup: str, event: str, guard: str | None, expected: str) -> None:
    pair = drive_pair(setup)["pair"]
    assert first_guard_that_holds(pair, OCA_PAIR, event, {}) == guard
    fire(pair, event)
    assert pair.current_state_value == expected


@pytest.mark.parametrize(("setup", "event", "guard", "expected"), TRADE_CASES)
def test_trade_guarded_row(setup: str, event: str, guard: str | None, expected: str) -> None:
    trade = drive_trade(setup)["trade"]
    assert first_guard_that_holds(trade, TRADE, event, {}) == guard
    if expected == NOT_ALLOWED:
        with pytest.raises(TransitionNotAllowed):
            fire(trade, event)
        assert trade.current_state_value == TRADE_SETUPS[setup][0]
    else:
        fire(trade, event)
        assert trade.current_state_value == expected


@pytest.mark.parametrize(
    ("table", "cases", "setups"),
    [(OCA_PAIR, PAIR_CASES, PAIR_SETUPS), (TRADE, TRADE_CASES, TRADE_SETUPS)],
    ids=["OcaPair", "Trade"],
)
def test_every_guarded_row_has_a_case(table: Table, cases: list[Case], setups: dict[str, Setup]) -> None:
    guarded_pairs = {(s, e) for s, e, g, _ in table if g is not None}
    guarded = {row for row in table if (row[0], row[1]) in guarded_pairs}
    covered = {(setups[setup][0], event, guard, expected) for setup, event, guard, expected in cases}
    assert guarded - covered == set()


def test_pair_exposure_counts_shares_not_states() -> None:
    # the stop died with 10 shares left: exposed, whatever the take-profit's state
    rig = drive_pair("exposed")
    assert rig["pair"].model.remaining_qty == 10
    assert rig["sl"].current_state_value == "cancelled"
