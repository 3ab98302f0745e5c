"""Targets already crossed: an entry that fills at or beyond a take-profit (a gap through TP1) gets
`TargetsCrossed`, and Policy.targets_crossed decides the ladder that goes out (keep, drop, shift)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import execution, plan
from harness import Harness

from supervisor import events as ev
from supervisor.core import Supervisor
from supervisor.crossed import crossed_levels, replan
from supervisor.journal import Journal
from supervisor.plan import EntryType, ExitMode, Side, TradePlan
from supervisor.policy import Policy, TargetsCrossedAction
from supervisor.port import Action, PlaceOrder


def market(**kw: object) -> TradePlan:
    return plan(entry_type=EntryType.MARKET, **kw)


def exits(h: Harness) -> dict[str, tuple[int, float | None]]:
    """Each exit placed: quantity and price (limit for a target, stop for a stop)."""
    return {c.order_ref.split(":")[1]: (c.quantity, c.limit_price if c.limit_price is not None else c.stop_price)
            for c in h.commands if isinstance(c, PlaceOrder) and not c.order_ref.endswith(":entry")}


def gap_through(h: Harness, price: float, **kw: object) -> ev.TargetsCrossed:
    h.settle(h.submit(market(**kw)))
    h.settle(h.feed(execution("entry", 100, price)))
    [crossed] = h.of_type(ev.TargetsCrossed)
    return crossed


def test_by_default_a_crossed_level_gives_its_shares_to_the_next() -> None:
    h = Harness()
    crossed = gap_through(h, 11.5)  # TP1 at 11.0 is behind the fill; 60/30/10 by default
    assert (crossed.crossed, crossed.action, crossed.targets, crossed.allocation) == ((1,), "drop", (12.0, 13.0),
                                                                                      (90, 10))
    assert exits(h) == {"tp1": (90, 12.0), "sl1": (90, 9.0), "tp2": (10, 13.0), "sl2": (10, 9.0)}
    trade = h.sup.trade("T1")
    assert (trade.state, trade.stop_coverage) == ("protected", 100)


def test_every_target_crossed_leaves_one_level_at_the_last_target() -> None:
    h = Harness()
    crossed = gap_through(h, 13.25)
    assert (crossed.crossed, crossed.targets, crossed.allocation) == ((1, 2, 3), (13.0,), (100,))
    assert exits(h) == {"tp1": (100, 13.0), "sl1": (100, 9.0)}


def test_shift_moves_every_target_by_the_slippage() -> None:
    h = Harness(Policy(targets_crossed="shift"))
    crossed = gap_through(h, 11.5)  # planned at 10.0: 1.5 of slippage
    assert (crossed.action, crossed.targets, crossed.allocation) == ("shift", (12.5, 13.5, 14.5), (60, 30, 10))
    assert {leg: q for leg, q in exits(h).items() if leg.startswith("tp")} == {
        "tp1": (60, 12.5), "tp2": (30, 13.5), "tp3": (10, 14.5)}


def test_keep_places_the_ladder_as_planned_and_says_so() -> None:
    h = Harness(Policy(targets_crossed="keep"))
    crossed = gap_through(h, 11.5)
    assert (crossed.action, crossed.targets) == ("keep", (11.0, 12.0, 13.0))
    assert exits(h)["tp1"] == (60, 11.0)


def test_a_short_that_gaps_down_through_its_target_is_mirrored() -> None:
    h = Harness()
    h.settle(h.submit(market(side=Side.SHORT, tps=(9.0, 8.0), stop=11.0)))
    h.settle(h.feed(execution("entry", 100, 8.75, action=Action.SELL)))
    [crossed] = h.of_type(ev.TargetsCrossed)
    assert (crossed.crossed, crossed.targets, crossed.allocation) == ((1,), (8.0,), (100,))
    assert exits(h) == {"tp1": (100, 8.0), "sl1": (100, 11.0)}


def test_per_level_stops_and_stop_updates_follow_their_levels() -> None:
    p = market(tps=(11.0, 12.0, 13.0), stop_losses=(9.0, 9.2, 9.4), stop_updates=(10.0, 11.0))
    new = replan(p, 11.2, TargetsCrossedAction.DROP)
    assert (new.take_profits, new.stop_losses, new.allocation, new.stop_updates) == (
        (12.0, 13.0), (9.2, 9.4), (90, 10), (11.0,))


def test_a_fill_short_of_every_target_changes_nothing() -> None:
    h = Harness()
    h.settle(h.submit(market()))
    h.settle(h.feed(execution("entry", 100, 10.5)))
    assert h.of_type(ev.TargetsCrossed) == []
    assert exits(h)["tp1"] == (60, 11.0)


def test_only_the_first_execution_is_compared() -> None:
    """Once the ladder is out, a later piece of the entry never rebuilds it."""
    h = Harness()
    h.settle(h.submit(market()))
    h.settle(h.feed(execution("entry", 50, 10.5)))
    h.settle(h.feed(execution("entry", 50, 11.5)))
    assert h.of_type(ev.TargetsCrossed) == []


@pytest.mark.parametrize("fill", [10.0, 11.0, 12.99, 13.0, 20.0])
def test_crossed_levels_are_the_targets_at_or_behind_the_fill(fill: float) -> None:
    p = market()
    assert crossed_levels(p, fill) == tuple(i for i, tp in enumerate(p.take_profits, start=1) if fill >= tp)


def test_an_attached_bracket_only_reports_the_crossing() -> None:
    h = Harness()
    h.settle(h.submit(market(exit_mode=ExitMode.ATTACHED)))
    h.settle(h.feed(execution("entry", 100, 11.5)))
    [crossed] = h.of_type(ev.TargetsCrossed)
    assert (crossed.action, crossed.targets) == ("keep", (11.0, 12.0, 13.0))
    assert "attached" in crossed.reason


def test_the_journal_replays_the_same_ladder(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.sqlite")
    h = Harness(journal=path)
    gap_through(h, 11.5)
    before = h.sup.trade("T1")
    h.recorder.close()  # type: ignore[union-attr]
    with Journal.open(path) as journal:
        restored = Supervisor.restore(journal.records(), h.clock)
    after = restored.trade("T1")
    assert [(leg.name, leg.intended_qty) for leg in after.legs] == [(leg.name, leg.intended_qty) for leg in before.legs]
    assert after.working_orders == before.working_orders


@pytest.mark.parametrize(("policy", "chosen"), [("drop", "keep"), ("keep", "drop"), ("drop", "shift")])
def test_a_plan_s_own_answer_wins_over_the_policy_and_replays_the_same(tmp_path: Path, policy: str,
                                                                        chosen: str) -> None:
    path = str(tmp_path / "journal.sqlite")
    h = Harness(Policy(targets_crossed=policy), journal=path)
    crossed = gap_through(h, 11.5, targets_crossed=chosen)
    assert crossed.action == chosen
    placed = exits(h)
    assert placed == {
        "keep": {"tp1": (60, 11.0), "sl1": (60, 9.0), "tp2": (30, 12.0), "sl2": (30, 9.0), "tp3": (10, 13.0),
                 "sl3": (10, 9.0)},
        "drop": {"tp1": (90, 12.0), "sl1": (90, 9.0), "tp2": (10, 13.0), "sl2": (10, 9.0)},
        "shift": {"tp1": (60, 12.5), "sl1": (60, 9.0), "tp2": (30, 13.5), "sl2": (30, 9.0), "tp3": (10, 14.5),
                  "sl3": (10, 9.0)},
    }[chosen]
    before = h.sup.trades()
    assert h.recorder is not None
    h.recorder.close()
    # the answer is journaled with the plan: a restore under another policy rebuilds the same trade
    again = Supervisor.restore(Journal.open(path).records(), h.clock, Policy())
    assert again.trades() == before
