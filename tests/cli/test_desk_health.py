"""Market-data health on the breakout desk, on the simulated clock (fault `stall:WHEN:SECONDS`).

The bundled day: the last bar before the stall is 10:16 (it ends 10:17), the breakout bar is 10:19
(close 100.61 over 100.49), the 10:20 bar closes at 100.62 too. `stall:2850:180` withholds the bars
that close from 10:17:30 to 10:20:30 (10:17, 10:18, 10:19): the stream is silent 180 s at 10:19:45.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli_helpers import QUICK, assert_clean_exit, invoke

from broker.audit import read_journal
from broker.sim import load_bars
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day

STALL_THEN_BACK = "stall:2850:180"
STALL_FOREVER = "stall:2850:30000"


def arm(*args: str):  # type: ignore[no-untyped-def]
    return invoke("breakout", "arm", *QUICK, *args)


def health_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line[10:].startswith("SIM  -")]


def notes(journal: Path, key: str) -> list[dict[str, Any]]:
    return [r.value[key] for r in read_journal(journal) if r.kind == "meta" and key in r.value]


def test_a_stall_is_noticed_the_stream_asked_again_and_the_stale_breakout_bar_never_triggers(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    result = arm("--sim-fault", STALL_THEN_BACK, "--journal", str(journal))
    assert_clean_exit(result, 0)
    assert health_lines(result.output) == [
        "10:19:45  SIM  -      BarStreamStalled           silent_for=180 limit=180 last_bar_end=10:17:00",
        "10:19:45  SIM  -      BarStreamRecoveryStarted   attempt=1 max_attempts=3",
        "10:20:15  SIM  -      BarStreamRecoveryStarted   attempt=2 max_attempts=3",
        "10:20:30  SIM  -      BarStreamRecovered         attempts=2 stalled_for=45",
        "10:20:30  SIM  -      StaleBarIgnored            bar_end=10:18:00 age=150 limit=10",
        "10:20:30  SIM  -      StaleBarIgnored            bar_end=10:19:00 age=90 limit=10",
        "10:20:30  SIM  -      StaleBarIgnored            bar_end=10:20:00 age=30 limit=10",
    ]
    # the breakout bar (10:19) came back 90 s old: no trigger on it; the next bar, fresh, fires
    assert "10:20:45  sim-100.49 watcher  fired" in result.output
    assert result.output.strip().splitlines()[-1].startswith("OK: closed, flat")
    health = notes(journal, "health")
    assert [h["event"] for h in health] == ["BarStreamStalled", "BarStreamRecoveryStarted", "BarStreamRecoveryStarted",
                                            "BarStreamRecovered", *["StaleBarIgnored"] * 3]
    assert [h["trade_ids"] for h in health if h["event"] == "StaleBarIgnored"] == [["sim-100.49"]] * 3
    fired = [w for w in notes(journal, "watcher") if w["event"] == "fired"]
    # 17 bars (10:00-10:16) and 10:20: the three stale ones were shown to no watcher
    assert [(f["price"], f["bars_watched"]) for f in fired] == [(100.62, 18)]
    # the stale bars are journaled all the same (the chart shows the whole day)
    journaled = {b["time"] for b in notes(journal, "bar")}
    assert {h["bar_time"] for h in health if h["event"] == "StaleBarIgnored"} <= journaled


def test_without_the_stall_nothing_is_said_and_the_day_is_the_documented_one() -> None:
    result = arm()
    assert_clean_exit(result, 0)
    assert health_lines(result.output) == []
    assert result.output.strip().splitlines()[-1] == "OK: closed, flat, realized P&L 105.30"


def test_a_stall_that_never_ends_fails_after_the_bounded_attempts_and_the_watcher_expires(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    result = arm("--sim-fault", STALL_FOREVER, "--journal", str(journal))
    assert_clean_exit(result, 0)
    assert health_lines(result.output) == [
        "10:19:45  SIM  -      BarStreamStalled           silent_for=180 limit=180 last_bar_end=10:17:00",
        "10:19:45  SIM  -      BarStreamRecoveryStarted   attempt=1 max_attempts=3",
        "10:20:15  SIM  -      BarStreamRecoveryStarted   attempt=2 max_attempts=3",
        "10:20:45  SIM  -      BarStreamRecoveryStarted   attempt=3 max_attempts=3",
        "10:21:15  SIM  -      BarStreamRecoveryFailed    attempts=3 silent_for=270",
    ]
    assert result.output.strip().splitlines()[-1] == "EXPIRED: no breakout in 17 bars: nothing sent"
    assert not [r for r in read_journal(journal) if r.kind == "command"]


def test_a_restart_does_not_replay_a_bar_journaled_as_stale(tmp_path: Path) -> None:
    """Stopped right after the stale bars came back: resumed, the watcher must not meet the 10:19
    breakout bar again (it would end `missed`); it fires on 10:20 as the uninterrupted run did."""
    journal = tmp_path / "j.sqlite"
    first = arm("--sim-fault", STALL_THEN_BACK, "--journal", str(journal), "--until", "10:20:30")
    assert_clean_exit(first, 0)
    assert [h["event"] for h in notes(journal, "health")][-1] == "StaleBarIgnored"
    again = arm("--journal", str(journal))
    assert_clean_exit(again, 0)
    assert "sim-100.49: resumed from the journal (watching)" in again.output
    assert "10:20:45  sim-100.49 watcher  fired" in again.output
    assert again.output.strip().splitlines()[-1].startswith("OK: closed, flat")


# -- the exchange's side of a re-subscription ------------------------------------------------------------


def _closed(exchange: SimExchange, resubscribe_at: float | None = None) -> list[tuple[float, float]]:
    """(bar start, time handed out) of every bar the exchange hands out, re-subscribing once at
    `resubscribe_at` (a time on its clock)."""
    out: list[tuple[float, float]] = []
    while exchange.step():
        if resubscribe_at is not None and exchange.now() >= resubscribe_at:
            exchange.subscribe_bars("SIM", 60)
            resubscribe_at = None
        bars = [*exchange.replayed, *([exchange.last_closed] if exchange.last_closed is not None else [])]
        out += [(bar.time, exchange.now()) for bar in bars]
    return out


def test_resubscribing_while_bars_flow_repeats_no_bar() -> None:
    day = load_bars(bundled_day())[:60]
    plain = _closed(SimExchange(day))
    asked = _closed(SimExchange(day), resubscribe_at=day[45].time)
    assert asked == plain
    assert [start for start, _ in plain] == [bar.time for bar in day]


def test_a_resubscription_during_a_stall_brings_the_withheld_bars_back_once_when_it_is_over() -> None:
    day = load_bars(bundled_day())[:60]
    first = day[0].time
    lost = _closed(SimExchange(day, faults=[STALL_THEN_BACK]))
    assert [b.time for b in day if b.time not in {start for start, _ in lost}] == [first + 47 * 60, first + 48 * 60,
                                                                                    first + 49 * 60]
    back = _closed(SimExchange(day, faults=[STALL_THEN_BACK]), resubscribe_at=first + 2985)  # 10:19:45
    assert [start for start, _ in back] == [bar.time for bar in day]  # each bar once, oldest first
    replayed = [(start, at) for start, at in back if start in {first + 47 * 60, first + 48 * 60, first + 49 * 60}]
    assert {at for _, at in replayed} == {first + 3030}  # 10:20:30, when the stall is over
