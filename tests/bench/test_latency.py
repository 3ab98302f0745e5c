"""`order-supervisor latency`: the per-step figures of a journal, exact on a journal whose clock the
test moves, read from a real order-path journal, and bad journals refused with exit 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.bench import latency
from broker.bench.script import Exchange, StepClock, ladder_plan
from broker.cli import main
from supervisor.journal import Journal, Record
from supervisor.journal_recorder import JournalRecorder
from supervisor.port import Command, OrderAccepted, OrderSent, PlaceOrder


def journal_with_known_stamps(path: Path) -> None:
    """One trade whose every stamp the test chose: fired at 1000.9 (the bar), intent 1001.0, the
    entry on the wire 2 ms later, acknowledged 8 ms after that, filled at 1001.75, and its six
    exits written 1 ms apart after the fill."""
    clock = StepClock(start=1000.0)
    recorder = JournalRecorder.open(path, clock, fsync="off")
    exchange = Exchange(recorder, clock)
    exchange.run(recorder.arm(ladder_plan("T1")))
    clock.now = 1001.0
    entry = recorder.trigger("T1", source_time=1000.9)
    assert [c.order_ref for c in entry] == ["T1:entry"]
    assert isinstance(entry[0], PlaceOrder)
    order_id = exchange.hold(entry[0])
    assert recorder.settle() == []  # the machines record the entry handed out; nothing more to send
    clock.now = 1001.002
    exchange.feed([OrderSent("T1:entry", order_id, clock.now)])
    clock.now = 1001.010
    exchange.feed([OrderAccepted("T1:entry", order_id, 100, 100.70, None, clock.now)])
    clock.now = 1001.5

    def each_exit_a_millisecond_later(command: Command) -> None:
        if isinstance(command, PlaceOrder):
            clock.now += 0.001

    exchange.on_command = each_exit_a_millisecond_later
    exchange.fill("T1:entry", 100, 100.66)  # the execution is stamped 1001.75 (the clock's next step)
    assert recorder.trade("T1").state == "protected"
    recorder.close()


def test_each_step_is_the_difference_of_its_stamps(tmp_path: Path) -> None:
    path = tmp_path / "known.sqlite"
    journal_with_known_stamps(path)
    report = latency.load(path)
    values = {step.name: step.values_us for step in (*report.steps, report.whole)}
    assert values["trigger -> intent"] == pytest.approx((100_000.0,))
    assert values["intent -> sent"] == pytest.approx((2_000.0,))
    assert values["sent -> ack"] == pytest.approx((8_000.0,))
    assert values["ack -> first_execution"] == pytest.approx((740_000.0,))
    assert values["first_execution -> exits_out"] == pytest.approx((6_000.0,))  # the sixth exit, not the first
    assert values["whole path"] == pytest.approx((856_000.0,))


def test_exits_on_the_wire_is_the_last_exit_leg_first_sent() -> None:
    def sent(ref: str, t: float) -> Record:
        return Record(1, "broker_event", 0, t, None, None, ref, 1, {}, OrderSent(ref, 1, t))

    records = [sent("A:entry", 1.0), sent("A:sl1", 2.0), sent("A:tp1", 2.5), sent("A:sl1", 9.0),  # a resend
               sent("A:estop1", 7.0), sent("A:tp1~2", 8.0), sent("B:sl2", 3.0)]
    assert latency.exits_on_wire(records) == {"A": 2.5, "B": 3.0}


def test_json_and_table_of_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "known.sqlite"
    journal_with_known_stamps(path)
    done = CliRunner().invoke(main, ["latency", "--journal", str(path), "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["trades"] == 1
    assert data["unit"] == "us"
    assert [s["step"] for s in data["steps"]] == [f"{a} -> {b}" for a, b in latency.STEPS]
    for step in [*data["steps"], data["whole"]]:
        assert set(step) == {"step", "from", "to", "n", "p50_us", "p90_us", "p99_us", "max_us"}
        assert step["n"] == 1
    assert data["whole"]["p50_us"] == pytest.approx(856_000.0, abs=0.1)
    assert data["stamps"][0]["trade_id"] == "T1"
    table = CliRunner().invoke(main, ["latency", "--journal", str(path)])
    assert table.exit_code == 0, table.output
    assert "whole path (trigger -> exits_out)" in table.output
    assert "856,000.0" in table.output


def test_a_journal_with_no_trade_reports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    Journal.open(path).close()
    done = CliRunner().invoke(main, ["latency", "--journal", str(path), "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["trades"] == 0
    assert all(step["n"] == 0 and step["p50_us"] is None for step in data["steps"])


def _not_a_journal(tmp_path: Path) -> Path:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(("make", "said"), [
    (lambda tmp: tmp / "missing.sqlite", "no such journal"),
    (lambda tmp: (tmp / "garbage.sqlite").write_bytes(b"not a database at all" * 100) and tmp / "garbage.sqlite",
     "not a readable journal"),
    (_not_a_journal, "not a readable journal"),
])
def test_bad_journals_exit_2(tmp_path: Path, make, said: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    done = CliRunner().invoke(main, ["latency", "--journal", str(path)])
    assert done.exit_code == 2, done.output
    assert said in done.output
    assert "--journal" in done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates a journal


def test_latency_of_the_bench_own_journal(tmp_path: Path) -> None:
    """The order path's iterations, journaled by `bench --journal`, read back: every trade's
    stamps on the one clock the supervisor, the adapter and the journal shared."""
    path = tmp_path / "wire.sqlite"
    done = subprocess.run([sys.executable, "-m", "broker.cli", "bench", "--quick", "--only", "fill_to_protected",
                           "--journal", str(path)], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    data = latency.load(path).to_json()
    assert data["trades"] >= 20  # the quick run's iterations, warm-up included
    whole = data["whole"]
    assert whole["n"] == data["trades"]  # every trade filled and got its exits out
    for step in data["steps"]:
        assert step["n"] == data["trades"]
    for stamps in data["stamps"]:
        # one clock, in the order the path goes (no timing threshold: only the order)
        assert stamps["trigger"] <= stamps["intent"] <= stamps["sent"] <= stamps["exits_out"]
        assert stamps["first_execution"] <= stamps["exits_out"]
