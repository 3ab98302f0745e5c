"""The entry guard and the exit guard of the ES postmortem: each refusal names its rule and figures."""

from __future__ import annotations

import pytest
from es import ES, es_plan
from factories import plan

from supervisor.guards import EntryGuard, RiskRefusal, bracket_problem, check_exit, trade_risk
from supervisor.plan import PlanError, Side
from supervisor.port import Action


@pytest.mark.parametrize(
    ("long", "stops", "targets", "field", "rule", "reason"),
    [
        # long: stop < entry < target
        (True, (99.0,), (101.0,), None, None, None),
        (True, (99.0,), (99.5,), "take_profits[1]", "orientation", "must be above the entry 100.00 for a long"),
        (True, (100.5,), (101.0,), "stop_losses[1]", "orientation", "must be below the entry 100.00 for a long"),
        (True, (100.0,), (101.0,), "stop_losses[1]", "orientation", "must be below the entry 100.00 for a long"),
        # short: target < entry < stop
        (False, (101.0,), (99.0,), None, None, None),
        (False, (101.0,), (100.5,), "take_profits[1]", "orientation", "must be below the entry 100.00 for a short"),
        (False, (99.0,), (98.0,), "stop_losses[1]", "orientation", "must be above the entry 100.00 for a short"),
        # 4 ticks of 0.01 at least
        (True, (99.97,), (101.0,), "stop_losses[1]", "min_distance", "|99.97 - 100.00| / 0.01 = 3 ticks < 4 ticks"),
        (True, (99.96,), (100.03,), "take_profits[1]", "min_distance",
         "|100.03 - 100.00| / 0.01 = 3 ticks < 4 ticks"),
        (True, (99.96,), (100.04,), None, None, None),
        (False, (100.02,), (99.0,), "stop_losses[1]", "min_distance", "|100.02 - 100.00| / 0.01 = 2 ticks < 4 ticks"),
        # every level is checked, in order
        (True, (99.0, 99.5), (101.0, 100.02), "take_profits[2]", "min_distance",
         "|100.02 - 100.00| / 0.01 = 2 ticks < 4 ticks"),
    ],
)
def test_bracket_rules(*, long: bool, stops: tuple[float, ...], targets: tuple[float, ...], field: str | None,
                       rule: str | None, reason: str | None) -> None:
    problem = bracket_problem(long=long, entry=100.0, stops=stops, targets=targets, tick=0.01, min_ticks=4)
    if field is None:
        assert problem is None
    else:
        assert problem is not None
        assert (problem.field, problem.rule, problem.reason) == (field, rule, reason)


def test_the_distance_is_counted_in_the_instruments_ticks() -> None:
    # ES: 4 ticks of 0.25 = one point. Three ticks is refused, four passes.
    refused = bracket_problem(long=True, entry=6890.50, stops=(6889.75,), targets=(6900.0,), tick=0.25, min_ticks=4)
    assert refused is not None
    assert refused.reason == "|6889.75 - 6890.50| / 0.25 = 3 ticks < 4 ticks"
    assert bracket_problem(long=True, entry=6890.50, stops=(6889.50,), targets=(6891.50,), tick=0.25,
                           min_ticks=4) is None


def test_tradeplan_applies_the_same_rules_at_its_default_of_4_ticks() -> None:
    with pytest.raises(PlanError) as info:
        es_plan(stop=6889.75)
    assert (info.value.field, info.value.value, info.value.rule) == ("stop_losses[1]", 6889.75, "min_distance")
    assert "3 ticks < 4 ticks" in str(info.value)
    with pytest.raises(PlanError) as info:
        es_plan(side=Side.SHORT, target=6891.0)
    assert (info.value.field, info.value.rule) == ("take_profits[1]", "orientation")
    assert es_plan(stop=6889.50, target=6891.50).min_stop_ticks == 4


def test_the_entry_guard_holds_its_own_minimum_whatever_the_plan_was_built_with() -> None:
    close = es_plan(stop=6890.0, target=6891.0, min_stop_ticks=1)  # 2 ticks: the plan allowed it
    refusal = EntryGuard().check(close)
    # targets are checked first: the target is 2 ticks away too
    assert refusal == RiskRefusal("min_distance", "take_profits[1]: |6891.00 - 6890.50| / 0.25 = 2 ticks < 4 ticks",
                                  "es")
    assert EntryGuard(min_distance_ticks=2).check(close) is None


def test_the_entry_guard_refuses_more_than_the_maximum_loss_per_trade() -> None:
    p = plan(trade_id="aapl", quantity=100, entry_price=190.0, stop=187.0, tps=(195.0,))
    refusal = EntryGuard(max_loss_per_trade=250.0).check(p)
    assert refusal is not None
    assert str(refusal) == "max_risk: 100 x |190.00 - 187.00| x 1 = 300.00 > 250.00"
    assert refusal.trade_id == "aapl"
    assert EntryGuard(max_loss_per_trade=300.0).check(p) is None  # exactly the maximum is allowed


def test_the_risk_of_a_future_is_in_currency() -> None:
    risk = trade_risk(es_plan(stop=6856.50))
    assert risk.amount == 1700.0  # the postmortem's loss, had the stop been there
    assert risk.formula() == "1 x |6890.50 - 6856.50| x 50 = 1,700.00"
    refusal = EntryGuard(max_loss_per_trade=1000.0).check(es_plan(stop=6856.50))
    assert str(refusal) == "max_risk: 1 x |6890.50 - 6856.50| x 50 = 1,700.00 > 1,000.00"


def test_the_risk_uses_the_farthest_stop_and_exact_decimals() -> None:
    # one stop per level: before the ladder exists, every share sits under the farthest one
    p = plan(quantity=3, entry_price=0.3, tps=(0.5, 0.6, 0.7), stop=0.1, stop_losses=(0.1, 0.2, 0.25))
    assert trade_risk(p).amount == pytest.approx(0.6, abs=0)  # 3 x 0.2 exactly, not 0.6000000000000001
    assert ES.multiplier == 50.0


@pytest.mark.parametrize(
    ("position", "action", "qty", "working", "expected"),
    [
        # the postmortem: short 1, a "flatten" that buys 2 would open a long of 1
        (-1, Action.BUY, 2, 0, "exit_would_open: BUY 2 against a position of -1 would leave +1"),
        (-1, Action.BUY, 1, 0, None),
        (-2, Action.BUY, 1, 1, None),
        (-2, Action.BUY, 2, 1, "exit_would_open: BUY 2 (with 1 working) against a position of -2 would leave +1"),
        # the short was already covered: any buy opens a fresh, unprotected long
        (0, Action.BUY, 1, 0, "exit_would_open: BUY 1 against a flat position would open +1"),
        (0, Action.SELL, 1, 0, "exit_would_open: SELL 1 against a flat position would open -1"),
        # an exit in the position's own direction adds to it
        (-1, Action.SELL, 1, 0, "exit_direction: SELL 1 against a position of -1 adds to it; only BUY reduces it"),
        (3, Action.BUY, 1, 0, "exit_direction: BUY 1 against a position of +3 adds to it; only SELL reduces it"),
        (3, Action.SELL, 3, 0, None),
        (3, Action.SELL, 4, 0, "exit_would_open: SELL 4 against a position of +3 would leave -1"),
        (3, Action.SELL, 0, 0, "exit_quantity: SELL 0: must be positive"),
    ],
)
def test_an_exit_may_only_reduce(position: int, action: Action, qty: int, working: int, expected: str | None) -> None:
    refusal = check_exit(position, action, qty, working=working, trade_id="es")
    assert (None if refusal is None else str(refusal)) == expected
