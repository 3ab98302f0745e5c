"""`order-supervisor run` refuses non-finite and out-of-range numbers like every command (exit 2, named)."""

from __future__ import annotations

import pytest
from cli_helpers import assert_clean_exit, invoke


@pytest.mark.parametrize(("args", "option", "named"), [
    (("--level", "inf"), "--level", "'inf' is not a finite number"),
    (("--level", "nan"), "--level", "'nan' is not a finite number"),
    (("--entry-price", "-inf"), "--entry-price", "is not a finite number"),
    (("--watch-after", "-5"), "--watch-after", "'-5' must be at least 0"),
    (("--level", "-1"), "--level", "level=-1.0"),  # in range: the plan names it
    (("--qty", "0"), "--qty", "quantity=0"),
    (("--max-bars", "0"), "--max-bars", "max_bars=0"),
    (("--tp", "101.2,inf"), "--tp", "'inf' is not a finite number"),
    (("--sl", "nan"), "--sl", "'nan' is not a finite number"),
])
def test_run_refuses_bad_numbers(args: tuple[str, ...], option: str, named: str) -> None:
    result = invoke("run", *args)
    assert_clean_exit(result, 2)
    assert option in result.output
    assert named in result.output
    assert "TradeArmed" not in result.output


def test_targets_crossed_by_the_fill_are_dropped_into_the_next_level_by_default() -> None:
    # a market entry fills near 100.66 on the bundled day: TP1 at 100.60 is already behind it
    result = invoke("run", "--entry", "market", "--entry-price", "100.5", "--tp", "100.6,101.7,102.4")
    assert_clean_exit(result, 0)
    assert "TargetsCrossed" in result.output
    assert "action=drop targets=101.7/102.4 allocation=70/30" in result.output
    assert "limit_price=100.6" not in result.output  # the crossed target never went out


def test_targets_crossed_can_shift_the_ladder() -> None:
    result = invoke("run", "--entry", "market", "--entry-price", "100.5", "--tp", "100.6,101.7,102.4",
                    "--targets-crossed", "shift")
    assert_clean_exit(result, 0)
    assert "action=shift" in result.output


def test_targets_crossed_names_a_bad_choice() -> None:
    result = invoke("run", "--targets-crossed", "sideways")
    assert_clean_exit(result, 2)
    assert "--targets-crossed" in result.output


def test_tp_none_runs_the_entry_and_its_stop_only_and_a_time_exit_closes_it() -> None:
    result = invoke("run", "--tp", "none", "--flatten-at", "15:45")
    assert_clean_exit(result, 0)
    assert "order_ref=breakout:sl1 quantity=100 order_type=STP stop_price=99.95" in result.output
    assert "breakout:tp" not in result.output  # no target ever goes out
    assert "order_ref=breakout:flat1" in result.output


def test_tp_none_with_a_stop_per_level_is_refused_with_the_reason() -> None:
    result = invoke("run", "--tp", "none", "--sl", "99.95,99.9")
    assert_clean_exit(result, 2)
    assert "stop_losses" in result.output
    assert "TradeArmed" not in result.output
