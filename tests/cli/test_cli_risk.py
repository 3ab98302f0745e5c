"""`order-supervisor run` with the operator's controls: risk limits from flags or a TOML file (a
refused plan exits 3 with its rule and figures, nothing sent), bad values exit 2 naming the option,
the entry's TTL cancels an entry that does not fill, and the time exit ends the day flat."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_clean_exit, invoke

from supervisor import events as ev
from supervisor.journal import Journal
from supervisor.port import OrderType, PlaceOrder


@pytest.mark.parametrize(("args", "message"), [
    (("--max-risk", "50"), "max_risk: 100 x |100.70 - 99.95| x 1 = 75.00 > 50.00"),
    (("--max-position", "80"), "max_position: SIM long: 0 held + 0 working + 100 = 100 > 80"),
])
def test_a_plan_over_a_limit_exits_3_naming_the_rule_and_figures_and_sends_nothing(
        tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    journal = tmp_path / "refused.sqlite"
    result = invoke("run", *args, "--journal", str(journal))
    assert_clean_exit(result, 3)
    assert f"REFUSED: breakout: refused by the risk policy: {message}; nothing was sent" in result.output
    assert "TradeArmed" not in result.output
    with Journal.open(journal) as opened:
        assert [r for r in opened.records() if r.kind == "command"] == []


def test_limits_from_a_toml_file_and_the_flags_override_it(tmp_path: Path) -> None:
    limits = tmp_path / "limits.toml"
    limits.write_text("max_risk_per_trade = 50.0\nmax_open_trades = 2\n")
    refused = invoke("run", "--risk", str(limits), "--quiet")
    assert_clean_exit(refused, 3)
    assert "max_risk: 100 x |100.70 - 99.95| x 1 = 75.00 > 50.00" in refused.output
    allowed = invoke("run", "--risk", str(limits), "--max-risk", "100", "--quiet")
    assert_clean_exit(allowed, 0)
    assert "OK: closed, flat" in allowed.output


@pytest.mark.parametrize(("args", "option", "named"), [
    (("--max-risk", "-5"), "--max-risk", "'-5' must be greater than 0"),
    (("--max-risk", "nan"), "--max-risk", "'nan' is not a finite number"),
    (("--max-daily-loss", "inf"), "--max-daily-loss", "'inf' is not a finite number"),
    (("--max-position", "0"), "--max-position", "'0' must be at least 1"),
    (("--max-trades-per-day", "1.5"), "--max-trades-per-day", "'1.5' is not a whole number"),
    (("--max-open-trades", "x"), "--max-open-trades", "'x' is not a whole number"),
    (("--roll-hour", "24"), "--roll-hour", "'24' must be 0 to 23"),
    (("--entry-ttl", "0"), "--entry-ttl", "'0' must be greater than 0"),
    (("--entry-ttl", "inf"), "--entry-ttl", "'inf' is not a finite number"),
    (("--flatten-at", "25:00"), "--flatten-at", "'25:00' is not a time of day HH:MM"),
    (("--risk", "missing.toml"), "--risk", "missing.toml"),
])
def test_bad_control_values_exit_2_naming_the_option_and_the_value(
        args: tuple[str, ...], option: str, named: str) -> None:
    result = invoke("run", *args)
    assert_clean_exit(result, 2)
    assert option in result.output
    assert named in result.output
    assert "TradeArmed" not in result.output


@pytest.mark.parametrize(("text", "named"), [
    ("max_risk = 50\n", "max_risk=50: is not a risk limit"),
    ("max_daily_loss = -1\n", "max_daily_loss=-1: must be a finite amount > 0"),
    ("max_open_trades = [\n", "is not valid TOML"),
])
def test_a_bad_risk_file_exits_2_naming_the_file_and_the_key(tmp_path: Path, text: str, named: str) -> None:
    limits = tmp_path / "limits.toml"
    limits.write_text(text)
    result = invoke("run", "--risk", str(limits))
    assert_clean_exit(result, 2)
    assert "--risk" in result.output
    assert str(limits) in result.output.replace("\n", "")
    assert named in result.output


def test_an_entry_not_filled_within_its_ttl_is_cancelled(tmp_path: Path) -> None:
    journal = tmp_path / "ttl.sqlite"
    # a limit under the market once the level broke: it never fills
    result = invoke("run", "--entry-price", "100.40", "--entry-ttl", "300", "--journal", str(journal), "--quiet")
    assert_clean_exit(result, 0)
    assert "nothing is held" in result.output
    with Journal.open(journal) as opened:
        records = list(opened.records())
    cancelled = [r.value for r in records if r.kind == "supervisor_event" and isinstance(r.value, ev.LegCancelled)]
    assert [c.leg for c in cancelled] == ["entry"]
    sent = next(r.wall for r in records if r.kind == "command" and isinstance(r.value, PlaceOrder))
    cancel_asked = next(r.wall for r in records if r.kind == "meta" and r.value.get("type") == "Cancel")
    assert 300 <= cancel_asked - sent < 360  # on the simulated clock: the TTL, to the next price point


def test_the_time_exit_ends_the_day_flat_with_a_reduce_only_market_order(tmp_path: Path) -> None:
    journal = tmp_path / "time-exit.sqlite"
    result = invoke("run", "--flatten-at", "11:10", "--journal", str(journal), "--quiet")
    assert_clean_exit(result, 0)
    assert "OK: closed, flat, every leg final" in result.output
    assert "flat1      filled             filled 60/60" in result.output
    with Journal.open(journal) as opened:
        records = list(opened.records())
    flattens = [r.value for r in records if r.kind == "supervisor_event" and isinstance(r.value, ev.FlattenRequested)]
    assert [f.reason for f in flattens] == ["time exit"]
    markets = [r.value for r in records if r.kind == "command" and isinstance(r.value, PlaceOrder)
               and r.value.order_type is OrderType.MARKET]
    assert [(m.order_ref, m.action.value, m.quantity) for m in markets] == [("breakout:flat1", "SELL", 60)]
