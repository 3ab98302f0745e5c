"""RiskPolicy: every field checked, loaded from TOML (unknown keys named with the file) and from
command-line values (errors name the option)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from supervisor.risk import RiskPolicy, RiskPolicyError

GOOD_TOML = """
# the desk's limits
max_risk_per_trade = 250.0
max_position = 300
max_trades_per_day = 6
max_daily_loss = 1_000
max_open_trades = 2
min_distance_ticks = 4
timezone = "America/Chicago"
roll_hour = 17
"""


def test_defaults_enforce_only_the_always_on_guard() -> None:
    p = RiskPolicy()
    assert (p.max_risk_per_trade, p.max_position, p.max_trades_per_day, p.max_daily_loss, p.max_open_trades) == (
        None, None, None, None, None)
    assert (p.min_distance_ticks, p.timezone, p.roll_hour) == (4, "America/New_York", 0)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_risk_per_trade", 0.0, "finite amount > 0"),
        ("max_risk_per_trade", -5.0, "finite amount > 0"),
        ("max_risk_per_trade", math.inf, "finite amount > 0"),
        ("max_risk_per_trade", math.nan, "finite amount > 0"),
        ("max_daily_loss", True, "finite amount > 0"),
        ("max_daily_loss", "500", "finite amount > 0"),
        ("max_position", 0, "whole number >= 1"),
        ("max_position", 2.5, "whole number >= 1"),
        ("max_trades_per_day", -1, "whole number >= 1"),
        ("max_open_trades", False, "whole number >= 1"),
        ("min_distance_ticks", 0, "whole number of ticks >= 1"),
        ("roll_hour", 24, "whole hour from 0 to 23"),
        ("roll_hour", -1, "whole hour from 0 to 23"),
        ("timezone", "Mars/Olympus", "not a known time zone"),
        ("timezone", "", "not a known time zone"),
    ],
)
def test_every_field_is_checked_and_named(field: str, value: object, words: str) -> None:
    with pytest.raises(RiskPolicyError) as info:
        RiskPolicy(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.value is value or info.value.value == value
    assert words in str(info.value)
    assert str(info.value).startswith(f"{field}=")


def test_a_toml_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(GOOD_TOML)
    assert RiskPolicy.from_toml(path) == RiskPolicy(
        max_risk_per_trade=250.0, max_position=300, max_trades_per_day=6, max_daily_loss=1000,
        max_open_trades=2, min_distance_ticks=4, timezone="America/Chicago", roll_hour=17,
    )


def test_or_one_table_of_it(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text('[broker]\nport = 4002\n\n[risk]\nmax_daily_loss = 500.0\n')
    assert RiskPolicy.from_toml(path, table="risk") == RiskPolicy(max_daily_loss=500.0)
    with pytest.raises(RiskPolicyError, match=r"bot.toml: limits=None: no such table in the file"):
        RiskPolicy.from_toml(path, table="limits")


def test_an_unknown_key_is_an_error_naming_it_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("max_daily_los = 500.0\n")  # misspelt: it must never mean "no limit"
    with pytest.raises(RiskPolicyError) as info:
        RiskPolicy.from_toml(path)
    assert (info.value.field, info.value.source) == ("max_daily_los", str(path))
    assert str(info.value).startswith(f"{path}: max_daily_los=500.0: is not a risk limit; known: max_risk_per_trade")


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("max_daily_loss = -500\n", "max_daily_loss", "finite amount > 0"),
        ('max_position = "100"\n', "max_position", "whole number >= 1"),
        ("roll_hour = 17.5\n", "roll_hour", "whole hour"),
        ("max_daily_loss = 500\nmax_daily_loss = 600\n", "path", "is not valid TOML"),
        ("max_daily_loss = \n", "path", "is not valid TOML"),
    ],
)
def test_a_bad_value_in_a_file_names_the_file_and_the_field(tmp_path: Path, text: str, field: str,
                                                             words: str) -> None:
    path = tmp_path / "risk.toml"
    path.write_text(text)
    with pytest.raises(RiskPolicyError) as info:
        RiskPolicy.from_toml(path)
    assert info.value.field == field
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RiskPolicyError, match=r"path='.*nope.toml': cannot be read"):
        RiskPolicy.from_toml(tmp_path / "nope.toml")


def test_command_line_values_are_parsed_over_a_base() -> None:
    base = RiskPolicy.from_toml_text(GOOD_TOML, "risk.toml")
    p = RiskPolicy.from_options({"--max-daily-loss": "400", "--max-position": "50", "--max-open-trades": None,
                                 "timezone": "Europe/London"}, base=base)
    assert (p.max_daily_loss, p.max_position, p.max_open_trades, p.timezone) == (400.0, 50, 2, "Europe/London")
    assert p.max_risk_per_trade == 250.0  # not given: the file's
    assert RiskPolicy.from_options({}) == RiskPolicy()


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"--max-daily-loss": "lots"}, "--max-daily-loss", "is not a number"),
        ({"--max-position": "2.5"}, "--max-position", "is not a whole number"),
        ({"--max-position": "0"}, "--max-position", "whole number >= 1"),
        ({"--max-risk-per-trade": "nan"}, "--max-risk-per-trade", "finite amount > 0"),
        ({"--roll-hour": "25"}, "--roll-hour", "whole hour"),
        ({"--max-loss": "5"}, "--max-loss", "is not a risk option; known: --max-risk-per-trade"),
    ],
)
def test_command_line_errors_name_the_option(values: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(RiskPolicyError) as info:
        RiskPolicy.from_options(values)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(f"{field}=")
