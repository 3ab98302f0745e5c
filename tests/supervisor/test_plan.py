"""TradePlan validation: a bad plan names the field and the value, and nothing is sent."""

from __future__ import annotations

import pytest
from factories import plan
from hypothesis import given
from hypothesis import strategies as st

from supervisor.plan import PlanError, Side, split_quantity


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        ({"tps": (9.5,)}, "take_profits[1]", 9.5),  # TP below the entry for a long
        ({"stop": 10.5}, "stop_losses[1]", 10.5),  # stop above the entry for a long
        ({"stop": 9.99, "min_stop_ticks": 4}, "stop_losses[1]", 9.99),  # closer than 4 ticks
        ({"tps": (11.0, 12.0), "allocation": (60, 30)}, "allocation", (60, 30)),  # sums to 90
        ({"quantity": 0}, "quantity", 0),
        ({"quantity": -5}, "quantity", -5),
        ({"entry_price": -1.0}, "entry_price", -1.0),
        ({"tps": (11.005,)}, "take_profits[1]", 11.005),  # off the 0.01 grid
        ({"tps": (11.0, 12.0, 13.0, 14.0)}, "take_profits", (11.0, 12.0, 13.0, 14.0)),
        ({"tps": (12.0, 11.0)}, "take_profits", (12.0, 11.0)),  # ladder must move away from entry
        ({"trade_id": "a:b"}, "trade_id", "a:b"),
        ({"tps": (11.0,), "stop_updates": (10.0,)}, "stop_updates", (10.0,)),
        ({"tps": (11.0, 12.0), "allocation": (100, 0)}, "allocation", (100, 0)),
    ],
)
def test_bad_plans_name_the_field_and_the_value(kw: dict[str, object], field: str, value: object) -> None:
    with pytest.raises(PlanError) as info:
        plan(**kw)  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.value == value
    assert field in str(info.value)


def test_a_short_mirrors_the_sides() -> None:
    short = plan(side=Side.SHORT, tps=(9.0, 8.0), stop=11.0)
    assert short.side.exit_action.value == "BUY"
    with pytest.raises(PlanError, match="take_profits"):
        plan(side=Side.SHORT, tps=(11.0,), stop=11.5)


def test_a_rejected_plan_sends_nothing() -> None:
    from harness import Harness

    h = Harness()
    with pytest.raises(PlanError):
        h.submit(plan(tps=(9.0,)))
    assert h.commands == []
    assert h.sup.trades() == []


@pytest.mark.parametrize(
    ("qty", "weights", "expected"),
    [(100, (70, 30), (70, 30)), (1000, (60, 30, 10), (600, 300, 100)), (7, (60, 30, 10), (4, 2, 1)),
     (5, (60, 30, 10), (3, 2, 0)), (1, (70, 30), (1, 0)), (3, (1, 1, 1), (1, 1, 1)), (2, (1, 1, 1), (1, 1, 0))],
)
def test_largest_remainder_split(qty: int, weights: tuple[int, ...], expected: tuple[int, ...]) -> None:
    assert split_quantity(qty, weights) == expected


@given(st.integers(1, 100_000), st.lists(st.integers(1, 100), min_size=1, max_size=3))
def test_split_always_sums_to_the_quantity(qty: int, weights: list[int]) -> None:
    parts = split_quantity(qty, tuple(weights))
    assert sum(parts) == qty
    assert all(abs(p - qty * w / sum(weights)) < 1 for p, w in zip(parts, weights, strict=True))


def test_defaults_and_milestones() -> None:
    p = plan(tps=(11.0, 12.0, 13.0))
    assert p.split(100) == (60, 30, 10)
    assert p.milestone_price(0, 10.004) == 10.0  # break-even at the entry's average, on the grid
    assert p.milestone_price(1, 10.0) == 11.0  # then TP1
    assert plan(tps=(11.0, 12.0, 13.0), stop_updates=(10.5, 11.5)).milestone_price(1, 10.0) == 11.5
    assert plan(tps=(11.0, 12.0)).split(100) == (70, 30)
