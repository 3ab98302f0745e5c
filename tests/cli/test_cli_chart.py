"""`order-supervisor chart`: what the journal gives the chart (pure), the PNG, and its refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import QUICK, assert_clean_exit, invoke

from broker.audit import read_journal
from broker.chart import collect


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    journal = tmp_path_factory.mktemp("chart") / "day.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *QUICK, "--journal", str(journal)), 0)
    return journal


def test_the_journal_holds_everything_the_chart_draws(day: Path) -> None:
    data = collect(read_journal(day), "sim-100.49")
    assert len(data.bars) == 390  # the history before arming, and every bar after
    assert data.level == 100.49
    assert data.fired is not None
    assert data.fired[1] == 100.61
    assert data.prices["tp1"] == [(data.prices["tp1"][0][0], 101.2)]
    assert [p for _, p in data.prices["sl3"]] == [99.95, 100.66, 101.2]  # placed, then repriced twice
    assert [(side, qty, price) for _, price, side, qty in data.executions] == [
        ("BUY", 100, 100.66), ("SELL", 40, 101.2), ("SELL", 30, 101.71), ("SELL", 30, 102.4)]
    assert set(data.ended) == {"entry", "tp1", "sl1", "tp2", "sl2", "tp3", "sl3"}


def test_the_chart_is_written(day: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "day.png"
    result = invoke("chart", "--journal", str(day), "-o", str(out))
    assert_clean_exit(result, 0)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "390 bars, level 100.49, 3 targets, 3 stops (3 repricings), 4 executions" in result.output


def test_without_matplotlib_it_says_how_to_install_it(day: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # an import of it now fails
    result = invoke("chart", "--journal", str(day), "-o", str(tmp_path / "x.png"))
    assert_clean_exit(result, 2)
    assert 'pip install "order-supervisor[chart]"' in result.output
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(("args", "named"), [
    (("--journal", "/nonexistent/j.sqlite"), "no such journal"),
    (("--trade", "nope"), "'nope' is not in"),
])
def test_bad_input_exits_2(day: Path, tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    base = ("--journal", str(day)) if args[0] != "--journal" else ()
    result = invoke("chart", *base, *args, "-o", str(tmp_path / "x.png"))
    assert_clean_exit(result, 2)
    assert named in result.output
