"""What a fresh clone promises: the bundled day ships inside the package (identical to the
generator's output), the README's commands are the ones CI runs, and its examples run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib

from e2e_helpers import ROOT

from broker.sim_session import bundled_day

README = (ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Quick start has exactly one bash block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_the_packaged_day_is_the_generators_output_byte_for_byte() -> None:
    shipped = bundled_day()
    assert shipped == ROOT / "broker" / "data" / "breakout_day.csv"
    assert shipped.read_bytes() == (ROOT / "examples" / "data" / "breakout_day.csv").read_bytes()


def test_the_day_is_declared_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*.csv" in config["tool"]["setuptools"]["package-data"]["broker"]


def test_the_quick_start_is_two_single_line_commands_from_a_bare_python() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    for command in commands:
        assert command.startswith("python -m venv .venv && . .venv/bin/activate && pip install ")
    assert " && order-supervisor breakout arm " in commands[0]  # arms a breakout, prints the audit


def test_ci_runs_the_quick_start_test_command_then_the_linters() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    test_command = quick_start_commands()[1]
    runs = [line for line in lines if line.startswith(test_command)]
    assert runs == [f"{test_command} || exit 1"]
    assert lines.index(runs[0]) < lines.index("ruff check .") < lines.index("mypy machines supervisor")
    assert "set -euo pipefail" in lines


def test_the_readme_library_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    section = README.split("## Using it as a library", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    exec(compile(code.group(1), "README.md", "exec"), {})  # its last line asserts a closed, flat trade
    assert "TradeClosed" in capsys.readouterr().out


def run_script(*args: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out


def test_the_example_script_arms_a_ladder_and_prints_its_events() -> None:
    code, out = run_script("examples/breakout_on_sim.py")
    assert code == 0, out
    assert "TradeClosed" in out
    assert out.strip().splitlines()[-1] == "orh-long: closed, position 0 (broker 0), realized P&L 105.30"
