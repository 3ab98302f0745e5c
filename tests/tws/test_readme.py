"""The README's TWS simulator section: its Python example runs as written, and every command it
shows is one the CLI accepts (checked by click's parser, without serving)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from broker.cli.tws_sim import tws_sim

SECTION = (Path(__file__).resolve().parents[2] / "README.md").read_text().split(
    "## Rehearse any ib_async bot against the TWS simulator", 1)[1].split("\n## ", 1)[0]


def test_the_python_example_runs() -> None:
    code = re.search(r"```python\n(.*?)```", SECTION, re.DOTALL)
    assert code is not None
    exec(compile(code.group(1), "README.md", "exec"), {})  # it asserts the order filled


COMMANDS = [line.split("#")[0].strip() for line in re.search(r"```bash\n(.*?)```", SECTION, re.DOTALL)
            .group(1).splitlines() if line.strip()]  # type: ignore[union-attr]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_parses(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    words = shlex.split(command)
    assert words[:2] == ["order-supervisor", "tws-sim"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_day.csv").write_text("timestamp,open,high,low,close,volume\n")  # --bars must exist
    context = tws_sim.make_context("tws-sim", words[2:])  # raises click's usage error on a bad option
    assert context.params["port"] == 7497
