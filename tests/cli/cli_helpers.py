"""Shared by the command-line tests: invoking a command through click, and small market data files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from broker.cli import main

# the documented ladder on the bundled day, as `breakout arm` options (the README's first command)
QUICK = ("SIM", "--level", "100.49", "--qty", "100", "--tp", "101.2-101.7-102.4", "--tp-alloc", "40-30-30",
         "--sl", "99.95", "--entry", "market", "--watch-after", "30")


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def assert_clean_exit(result: Result, code: int) -> None:
    """The exit code, and never a traceback: bad input ends in a message, not a crash."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def write_bars(path: Path, rows: Sequence[str], header: str = "timestamp,open,high,low,close,volume") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def minute(i: int) -> str:
    return f"2024-03-14T10:{i:02d}:00-04:00"
