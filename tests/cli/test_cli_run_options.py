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
