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
from broker.desk import Desk
from broker.sim import SimBroker, load_bars
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day
from strategies.breakout import BreakoutSetup, FastEntry
from strategies.health import StaleBarIgnored
from supervisor.market import Bar, Quote
from supervisor.plan import EntryType, Side

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


# -- the desk itself, on a fake clock ---------------------------------------------------------------------

START = 1_710_426_600.0  # 2024-03-14 09:30 in New York


class Market:
    """The desk's market source on a clock the test moves (no market-data port)."""

    def __init__(self) -> None:
        self.time = START
        self.asked: list[tuple[str, int, float]] = []

    def now(self) -> float:
        return self.time

    def history(self) -> list[Bar]:
        return []

    def latest_quote(self, symbol: str) -> Quote | None:
        return None


class PortMarket(Market):
    """The same, taking `subscribe_bars` as a market-data port does: each request recorded."""

    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None:
        self.asked.append((symbol, bar_seconds, self.time))


def fast_setup(trade_id: str, symbol: str = "AAA") -> BreakoutSetup:
    return BreakoutSetup(trade_id=trade_id, symbol=symbol, level=101.0, quantity=10, side=Side.LONG,
                         entry=EntryType.MARKET, take_profits=(103.0,), stop_losses=(99.0,), fast=FastEntry(0.05))


def open_desk(journal: Path, market: Market) -> Desk:
    return Desk.open(journal, SimBroker([Bar(START, 100.0, 100.0, 100.0, 100.0, 1000.0, 60.0)]), market)


def health_notes(desk: Desk) -> list[dict[str, Any]]:
    return [r.value["health"] for r in desk.recorder.journal.records(kinds=("meta",)) if "health" in r.value]


def test_a_stale_second_bar_is_kept_from_a_fast_watcher_and_a_fresh_one_fires_it(tmp_path: Path) -> None:
    market = PortMarket()
    desk = open_desk(tmp_path / "j.sqlite", market)
    seen: list[object] = []
    desk.subscribe(seen.append)
    try:
        desk.arm(fast_setup("up"))
        market.time = START + 20  # the 1-second bar at START+5 ended 14 s ago: older than 10 s
        desk.on_fast_bar("AAA", Bar(START + 5, 101.1, 101.1, 101.1, 101.1, 100.0, 1.0, symbol="AAA"))
        assert desk.watches["up"].status == "watching"
        assert [type(e) for e in seen if isinstance(e, StaleBarIgnored)] == [StaleBarIgnored]
        assert [(n["event"], n["trade_ids"], n["bar_time"]) for n in health_notes(desk)] == [
            ("StaleBarIgnored", ["up"], START + 5)]
        desk.on_fast_bar("AAA", Bar(START + 19, 101.1, 101.1, 101.1, 101.1, 100.0, 1.0, symbol="AAA"))
        assert desk.watches["up"].status == "fired"
    finally:
        desk.close()


def test_the_attempts_are_bounded_and_go_to_the_market_data_port(tmp_path: Path) -> None:
    market = PortMarket()
    desk = open_desk(tmp_path / "j.sqlite", market)
    try:
        desk.arm(fast_setup("up"))
        for t in range(0, 600, 5):  # ten silent minutes, checked every 5 s
            market.time = START + t
            desk.check_health()
        assert market.asked == [("AAA", 60, START + 180), ("AAA", 60, START + 210), ("AAA", 60, START + 240)]
        assert [(n["event"], n["time"] - START) for n in health_notes(desk)] == [
            ("BarStreamStalled", 180), ("BarStreamRecoveryStarted", 180), ("BarStreamRecoveryStarted", 210),
            ("BarStreamRecoveryStarted", 240), ("BarStreamRecoveryFailed", 270)]
        market.time = START + 600
        desk.on_bar("AAA", Bar(START + 540, 100.0, 100.2, 99.9, 100.1, 1000.0, 60.0, symbol="AAA"))
        assert health_notes(desk)[-1]["event"] == "BarStreamRecovered"
        assert health_notes(desk)[-1]["attempts"] == 3
    finally:
        desk.close()


def test_without_a_port_the_stall_is_still_said_and_an_ended_watcher_stops_the_monitoring(tmp_path: Path) -> None:
    market = Market()
    desk = open_desk(tmp_path / "j.sqlite", market)
    try:
        desk.arm(fast_setup("up"))
        desk.arm(fast_setup("other", "BBB"))
        desk.cancel(["BBB"])
        market.time = START + 180
        desk.check_health()
        assert [(n["event"], n["symbol"]) for n in health_notes(desk)] == [
            ("BarStreamStalled", "AAA"), ("BarStreamRecoveryStarted", "AAA")]
        assert desk.health.resubscribed == []  # nothing to carry it out
        assert set(desk.health.monitors) == {"AAA"}
    finally:
        desk.close()


def test_the_console_prints_the_health_events() -> None:
    script = ["breakout SIM level=100.49 qty=100 tp=101.2 sl=99.95 entry=market watch_after=30", "run 10:21",
              "quit"]
    result = invoke("console", "--sim-fault", STALL_THEN_BACK, input="\n".join(script) + "\n")
    assert_clean_exit(result, 0)
    stalled = "10:19:45  SIM  -      BarStreamStalled           silent_for=180 limit=180 last_bar_end=10:17:00"
    assert stalled in result.output
    assert "10:20:30  SIM  -      StaleBarIgnored            bar_end=10:19:00 age=90 limit=10" in result.output
    assert "watcher fired: close at 100.62" in result.output


# -- `order-supervisor run` (run_breakout) watches its stream the same way ------------------------------------


def run(*args: str):  # type: ignore[no-untyped-def]
    return invoke("run", "--tp", "101.2,101.7", "--sl", "99.95", *args)


def test_run_notices_the_stall_and_triggers_on_the_first_fresh_bar_only() -> None:
    result = run("--sim-fault", STALL_THEN_BACK)
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
    assert "10:20:45  breakout  entry  LegTransitioned            armed -> triggered (trigger)" in result.output
    assert result.output.strip().splitlines()[-1].startswith("OK: closed, flat, every leg final")


def test_run_with_a_stall_that_never_ends_gives_up_and_expires_with_nothing_sent() -> None:
    result = run("--sim-fault", STALL_FOREVER)
    assert_clean_exit(result, 0)
    assert [line[10:].split()[2] for line in health_lines(result.output)] == [
        "BarStreamStalled", *["BarStreamRecoveryStarted"] * 3, "BarStreamRecoveryFailed"]
    assert "OK: expired, nothing sent" in result.output
    assert "pending -> sent" not in result.output  # the entry never left


def test_run_without_a_stall_says_nothing_about_health() -> None:
    result = run()
    assert_clean_exit(result, 0)
    assert health_lines(result.output) == []


def test_run_journals_the_health_events_and_the_journal_still_reads(tmp_path: Path) -> None:
    journal = tmp_path / "run.sqlite"
    result = run("--sim-fault", STALL_THEN_BACK, "--journal", str(journal), "--quiet")
    assert_clean_exit(result, 0)
    assert health_lines(result.output) == []  # --quiet prints no event line
    health = notes(journal, "health")
    assert [h["event"] for h in health] == ["BarStreamStalled", "BarStreamRecoveryStarted", "BarStreamRecoveryStarted",
                                            "BarStreamRecovered", *["StaleBarIgnored"] * 3]
    assert [h["bar_end"] - h["time"] for h in health if h["event"] == "StaleBarIgnored"] == [-150.0, -90.0, -30.0]
    trades = invoke("trades", "--journal", str(journal))
    assert_clean_exit(trades, 0)
    assert "breakout" in trades.output


def test_on_a_terminal_the_health_lines_print_beside_the_live_table() -> None:
    """A pseudo-terminal: the rich table is redrawn in place and the health lines (through the
    table's console) come out whole, the run ending as it does piped."""
    import os
    import pty
    import select
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "50"}
    command = [sys.executable, "-m", "broker.cli", "breakout", "arm", *QUICK, "--sim-fault", STALL_THEN_BACK]
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=root)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while select.select([master], [], [], 60)[0]:  # a guard against a hung child, not a timing
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    out = b"".join(chunks).decode("utf-8", errors="replace")
    assert proc.returncode == 0, out
    assert "order-supervisor  " in out  # the live table
    assert "10:19:45  SIM  -      BarStreamStalled           silent_for=180" in out
    assert "10:20:30  SIM  -      StaleBarIgnored            bar_end=10:19:00 age=90 limit=10" in out
    assert "OK: closed, flat" in out


def test_a_restart_that_catches_up_reports_no_stall_for_the_time_it_was_down(tmp_path: Path) -> None:
    """The replay skips 09:30-10:10 to where the journal stopped: the stream starts again there."""
    journal = tmp_path / "j.sqlite"
    assert_clean_exit(arm("--journal", str(journal), "--until", "10:10"), 0)
    again = arm("--journal", str(journal))
    assert_clean_exit(again, 0)
    assert "sim-100.49: resumed from the journal (watching)" in again.output
    assert health_lines(again.output) == []
    assert "10:19:45  sim-100.49 watcher  fired" in again.output
