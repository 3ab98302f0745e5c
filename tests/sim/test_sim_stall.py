"""The `stall` fault: no bar reaches data subscribers for a while, the exchange keeps matching."""

from __future__ import annotations

import datetime as dt

import pytest
from sim_helpers import NY, T0, bars, flat, limit

from broker.sim import FAULT_HELP, Fault, FaultName, Faults, SimBroker, parse_fault
from supervisor.port import Action, ExecutionReported


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stall:600:300", Fault(FaultName.STALL, after_seconds=600.0, seconds=300.0)),
        ("STALL:0:1.5", Fault(FaultName.STALL, after_seconds=0.0, seconds=1.5)),
        ("stall:2024-03-14T10:30:00-04:00:120",
         Fault(FaultName.STALL, at_time=dt.datetime(2024, 3, 14, 10, 30, tzinfo=NY).timestamp(), seconds=120.0)),
    ],
)
def test_parse_stall(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected
    assert parse_fault(str(expected)) == expected


@pytest.mark.parametrize(
    "text",
    ["stall", "stall:600", "stall:600:0", "stall:600:-5", "stall:soon:60", "stall:-1:60", "stall:600:inf",
     "stall:2024-03-14T10:30:00:60"],
)
def test_a_bad_stall_says_how_to_spell_it(text: str) -> None:
    with pytest.raises(ValueError, match="stall") as info:
        parse_fault(text)
    assert repr(text) in str(info.value)


def test_stall_takes_no_at_n_and_is_documented() -> None:
    with pytest.raises(ValueError, match="stall takes no @N"):
        parse_fault("stall:60:60@2")
    assert "stall:WHEN:SECONDS" in FAULT_HELP[FaultName.STALL][2]
    assert Faults.of(["stall:600:300", "stall:60:30"]).stalls(T0) == [(T0 + 60, T0 + 90), (T0 + 600, T0 + 900)]


def test_no_bar_is_handed_out_during_the_stall_and_those_bars_are_lost() -> None:
    sim = SimBroker(flat(10), faults=["stall:120:240"])  # bars close at +45, +105, ... +585
    handed = []
    while (bar := sim.next_bar()) is not None:
        handed.append(bar.time - T0)
    assert handed == [0, 60, 360, 420, 480, 540]  # those closing at +165 ... +345 never arrive
    assert [b.time - T0 for b in sim.stalled_bars] == [120, 180, 240, 300]


def test_advance_to_skips_the_withheld_bars_too() -> None:
    sim = SimBroker(flat(10), faults=["stall:0:200"])
    assert [b.time - T0 for b in sim.advance_to(T0 + 600)] == [180, 240, 300, 360, 420, 480, 540]


def test_the_exchange_keeps_matching_while_the_bars_are_withheld() -> None:
    day = bars((100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 98.5, 99), (99, 101, 99, 100.5))
    sim = SimBroker(day, faults=["stall:60:120"])
    sim.execute(limit("dip", Action.BUY, 99.0, qty=10))
    seen, fills = [], []
    while sim.step():
        fills += [e for e in sim.poll() if isinstance(e, ExecutionReported)]
        if sim.last_closed is not None:
            seen.append(sim.last_closed.time - T0)
    assert seen == [0, 180]  # the dip's bar (and the one before it) never reached a subscriber ...
    assert [(f.qty, f.price, f.time - T0) for f in fills] == [(10, 99.0, 150.0)]  # ... but it traded
    assert sim.position() == 10
