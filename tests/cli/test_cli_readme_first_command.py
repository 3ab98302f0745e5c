"""The README's first command, as a fresh machine would run it after `pip install .`: it arms a
breakout on the simulated exchange, completes it, and prints the audit."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from cli_helpers import assert_clean_exit, invoke

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_first_command_arms_completes_and_prints_the_audit() -> None:
    block = re.search(r"## Quick start\n\n```bash\n(.*?)```", README, re.S)
    assert block is not None
    first = block.group(1).splitlines()[0]
    args = shlex.split(first.split("&& order-supervisor ", 1)[1])
    assert args[:2] == ["breakout", "arm"]
    result = invoke(*args)
    assert_clean_exit(result, 0)
    assert "trade sim-100.49 (long SIM): closed, position 0, entry filled 100, exits filled 100" in result.output
    assert "  tp3      filled                        30/30" in result.output
    assert result.output.strip().splitlines()[-1] == "OK: closed, flat, realized P&L 105.30"
    # the README shows this output: its lines are the command's lines
    shown = README.split(first, 1)[1].split("```\n", 2)[2]
    for line in shown.split("```", 1)[0].splitlines():
        if line and line != "...":
            assert line in result.output.splitlines(), line
