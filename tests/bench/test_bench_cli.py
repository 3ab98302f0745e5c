"""`order-supervisor bench`: it runs, prints every figure of issue 10 in a well-formed table or JSON,
and refuses bad input with exit 2. No timing is asserted: the figures are whatever this machine
measures; the shape, the names, the budgets and the consistency of the numbers are checked.

The command runs in a subprocess (it starts a TWS simulator and an event loop of its own, switches
tracemalloc on and off): the test waits for it, so nothing it started outlives the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from broker.bench import NAMES

TIMEOUT = 240  # a failure bound only: --quick takes well under a minute


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broker.cli", "bench", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)


@pytest.fixture(scope="module")
def quick_json() -> dict[str, Any]:
    done = bench("--quick", "--json")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_quick_json_has_every_figure_in_order(quick_json: dict[str, Any]) -> None:
    assert [f["name"] for f in quick_json["figures"]] == list(NAMES)
    assert quick_json["quick"] is True


@pytest.mark.parametrize("name", NAMES)
def test_quick_json_figure_schema(quick_json: dict[str, Any], name: str) -> None:
    figure = next(f for f in quick_json["figures"] if f["name"] == name)
    for key in ("name", "median_us", "p99_us", "reference_median_us", "ratio", "budget", "met"):
        assert key in figure, key
    assert isinstance(figure["budget"], str)
    assert figure["budget"]
    assert figure["met"] in (True, False, None)
    assert figure["samples"] > 0
    if figure["met"] is False:
        assert figure["reason"], "a missed budget says why"
    if figure["median_us"] is not None:
        assert 0 < figure["median_us"] <= figure["p99_us"]
    else:
        assert figure["value"] is not None, "a figure that is not a duration has a value"
        assert figure["unit"]


@pytest.mark.parametrize("name", ["signal_to_wire", "fill_to_protected", "fill_to_protected_two_piece"])
def test_order_path_figures_have_their_bare_reference(quick_json: dict[str, Any], name: str) -> None:
    figure = next(f for f in quick_json["figures"] if f["name"] == name)
    assert figure["reference_median_us"] > 0
    assert figure["ratio"] == pytest.approx(figure["median_us"] / figure["reference_median_us"], rel=0.01)
    if name != "signal_to_wire":
        assert isinstance(figure["details"]["round_trips"], int)
        if figure["details"]["round_trips"]:
            assert figure["met"] is False  # an extra broker round trip misses the budget, whatever the times


def test_one_piece_fill_needs_no_broker_round_trip(quick_json: dict[str, Any]) -> None:
    figure = next(f for f in quick_json["figures"] if f["name"] == "fill_to_protected")
    assert figure["details"]["round_trips"] == 0


def test_rates_and_sizes_are_derived_from_the_samples(quick_json: dict[str, Any]) -> None:
    figures = {f["name"]: f for f in quick_json["figures"]}
    events = figures["supervisor_event"]
    assert events["unit"] == "events/s"
    assert events["value"] > 0
    assert events["met"] is (events["value"] >= 3000)
    assert events["details"]["live_trades"] == 50
    assert events["details"]["transitions_per_event"] > 0
    memory = figures["memory_per_trade"]
    assert memory["unit"] == "KB"
    assert memory["met"] is (memory["value"] <= 100)
    replay = figures["journal_replay"]
    assert replay["details"]["trades"] > 0
    assert replay["unit"] == "s per 10,000 trades"
    assert figures["journal_append"]["met"] is None  # the issue gives it no budget


def test_the_bare_state_machine_transition_is_printed(quick_json: dict[str, Any]) -> None:
    transition = quick_json["statemachine_transition"]
    assert 0 < transition["median_us"] <= transition["p99_us"]
    assert any("python-statemachine" in note for note in quick_json["notes"])


def test_table_lists_the_figures_asked_for() -> None:
    done = bench("--quick", "--only", "arm", "--only", "journal_append")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:5] == ["figure", "median", "p99", "reference", "ratio"]
    rows = [line for line in lines[2:] if line.split() and line.split()[0] in NAMES]
    assert [row.split()[0] for row in rows] == ["arm", "journal_append"]
    assert rows[0].rstrip().endswith(("met", "MISSING"))
    assert rows[1].rstrip().endswith("-")  # no budget: neither met nor missing
    assert any(line.startswith("python-statemachine: one bare transition") for line in lines)
    assert any(line.startswith("machine: ") for line in lines)


@pytest.mark.parametrize(("args", "named"), [
    (["--only", "nonsense"], "nonsense"),
    (["--only", "arm", "--only", "signal-to-wire"], "signal-to-wire"),
    (["--bogus"], "--bogus"),
])
def test_bad_input_exits_2_naming_it(args: list[str], named: str) -> None:
    done = bench(*args)
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_an_existing_journal_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "wire.sqlite"
    taken.write_text("keep me")
    done = bench("--quick", "--only", "signal_to_wire", "--journal", str(taken))
    assert done.returncode == 2
    assert "--journal" in done.stderr
    assert "exists" in done.stderr
    assert taken.read_text() == "keep me"
