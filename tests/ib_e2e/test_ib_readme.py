"""The README's "Trade through IB" section: every command it shows is one the CLI accepts (checked
by click's parser, without connecting), and the section says what the live guard needs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from broker.cli.breakout import breakout
from broker.cli.run import run

SECTION = (Path(__file__).resolve().parents[2] / "README.md").read_text().split(
    "## Trade through IB", 1)[1].split("\n## ", 1)[0]
COMMANDS = [line.strip() for block in re.findall(r"```bash\n(.*?)```", SECTION, re.DOTALL)
            for line in block.splitlines() if line.strip()]


def words_of(command: str) -> list[str]:
    """The command's words, without the environment variables set in front of it."""
    words = shlex.split(command)
    while "=" in words[0]:
        words.pop(0)
    return words


def test_the_section_shows_both_commands_and_the_live_guard() -> None:
    assert {words_of(command)[1] for command in COMMANDS} == {"run", "breakout"}
    assert "--live" in SECTION
    assert "ORDER_SUPERVISOR_LIVE=1" in SECTION
    assert "tests/ib_e2e/" in SECTION


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_parses(command: str) -> None:
    words = words_of(command)
    assert words[0] == "order-supervisor"
    if words[1] == "run":
        params = run.make_context("run", words[2:]).params
    else:
        assert words[1:3] == ["breakout", "arm"]
        arm = breakout.commands["arm"]
        params = arm.make_context("arm", words[3:]).params
    assert params["broker_name"] == "ib"
    assert params["port"] in (7497, 4002, 7496)
