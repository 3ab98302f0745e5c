"""The desk and its sim driver: a short breakdown, break-confirm firing at the confirming open, a
limit entry refused on a stale quote, and a restart that finds a fire it never sent (missed)."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import assert_clean_exit, invoke, minute, write_bars

from broker.audit import read_journal
from broker.desk import Desk
from broker.desk_sim import SimDriver
from broker.sim import load_bars
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day
from strategies.breakout import BreakoutSetup
from supervisor.plan import EntryType
from supervisor.port import PlaceOrder


def notes(journal: Path, event: str) -> list[dict]:  # type: ignore[type-arg]
    return [r.value["watcher"] for r in read_journal(journal) if r.kind == "meta" and "watcher" in r.value
            and r.value["watcher"]["event"] == event]


def test_a_short_breakdown_mirrors_the_long(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "down.csv", [
        f"{minute(0)},100.20,100.30,100.10,100.15,1000",
        f"{minute(1)},100.15,100.20,99.85,99.90,1000",  # closes below 100: the breakdown
        f"{minute(2)},99.88,99.90,99.60,99.62,1000",
        f"{minute(3)},99.60,99.62,99.35,99.40,1000",  # through the 99.50 target
    ])
    result = invoke("breakout", "arm", "SIM", "--side", "short", "--level", "100", "--qty", "10", "--tp", "99.5",
                    "--sl", "100.5", "--entry", "market", "--bars", str(bars))
    assert_clean_exit(result, 0)
    assert "short 10 SIM on a close below 100" in result.output
    assert "trade sim-100 (short SIM): closed, position 0, entry filled 10" in result.output


def test_break_confirm_fires_at_the_confirming_open(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "bc.csv", [
        f"{minute(0)},100.00,100.10,99.90,100.00,1000",
        f"{minute(1)},100.00,100.60,99.95,100.20,1000",  # the break
        f"{minute(2)},100.55,100.90,100.50,100.80,1000",  # opens above: confirmed at 10:02:00
        f"{minute(3)},100.80,101.20,100.70,101.10,1000",
    ])
    journal = tmp_path / "j.sqlite"
    result = invoke("breakout", "arm", "SIM", "--level", "100.5", "--qty", "10", "--tp", "101", "--sl", "99.5",
                    "--entry", "market", "--rule", "break-confirm", "--bars", str(bars), "--journal", str(journal))
    assert_clean_exit(result, 0)
    [fired] = notes(journal, "fired")
    assert (fired["rule"], fired["price"]) == ("break-confirm", 100.55)
    assert fired["time"] == load_bars(bars)[2].time  # at the open, not a minute later


def test_a_limit_entry_on_a_stale_quote_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    quotes = write_bars(tmp_path / "q.csv", ["2024-03-14T09:30:00-04:00,99.99,100.01"], header="timestamp,bid,ask")
    journal = tmp_path / "j.sqlite"
    result = invoke("breakout", "arm", "SIM", "--level", "100.49", "--qty", "100", "--tp", "101.2", "--sl", "99.95",
                    "--watch-after", "30", "--quotes", str(quotes), "--journal", str(journal))
    assert_clean_exit(result, 0)
    assert "older than --quote-age 5s: nothing sent" in result.output
    assert not [r for r in read_journal(journal) if r.kind == "command"]


def test_a_restart_never_sends_a_fire_it_finds_only_in_the_bars(tmp_path: Path) -> None:
    day = load_bars(bundled_day())
    journal = tmp_path / "j.sqlite"
    setup = BreakoutSetup(trade_id="w1", symbol="SIM", level=100.49, quantity=100, take_profits=(101.2,),
                          stop_losses=(99.95,), entry=EntryType.MARKET, watch_from=day[0].time + 1800)
    exchange = SimExchange(day)
    desk = Desk.open(journal, exchange, exchange)
    desk.arm(setup)
    # the process journals the breakout bar and dies before its watcher sees it
    breakout = next(bar for bar in day if bar.time > setup.watch_from and bar.close >= 100.49)
    desk.recorder.journal.append("meta", {"bar": {"symbol": "SIM", "time": breakout.time, "open": breakout.open,
                                                  "high": breakout.high, "low": breakout.low,
                                                  "close": breakout.close, "volume": breakout.volume,
                                                  "seconds": breakout.seconds}})
    desk.close()
    restarted_exchange = SimExchange(day)
    restarted = Desk.open(journal, restarted_exchange, restarted_exchange)
    SimDriver(restarted, restarted_exchange).run()
    restarted.close()
    [missed] = notes(journal, "missed")
    assert "never sent (not chased late)" in missed["detail"]
    assert not notes(journal, "fired")
    assert not [r for r in read_journal(journal) if r.kind == "command" and isinstance(r.value, PlaceOrder)]


def test_a_restart_against_a_living_broker_catches_up_then_closes(tmp_path: Path) -> None:
    day = load_bars(bundled_day())
    journal = tmp_path / "j.sqlite"
    exchange = SimExchange(day)  # the broker outlives the process
    setup = BreakoutSetup(trade_id="w1", symbol="SIM", level=100.49, quantity=100, take_profits=(101.2, 101.7, 102.4),
                          tp_alloc=(40, 30, 30), stop_losses=(99.95,), entry=EntryType.MARKET,
                          watch_from=day[0].time + 1800)
    first = Desk.open(journal, exchange, exchange)
    first.arm(setup)
    SimDriver(first, exchange).run_until(day[90].time)  # 11:00: 60 held, TP2 and TP3 working
    assert first.recorder.trade("w1").position == 60
    first.close()  # the process dies here
    while exchange.now() < day[135].time:  # 11:45: TP2 filled at 11:40 while nobody listened
        exchange.step()
    exchange.poll()
    second = Desk.open(journal, exchange, exchange)
    assert second.watches["w1"].status == "fired"  # never armed again
    assert second.recorder.trade("w1").position == 60  # what the journal knew
    assert second.catch_up()
    assert second.recorder.trade("w1").position == 30  # the missed fill, from the broker's truth
    SimDriver(second, exchange).run()
    trade = second.recorder.trade("w1")
    second.close()
    assert (trade.state, trade.position, exchange.position("SIM")) == ("closed", 0, 0)
    entries = [r for r in read_journal(journal) if r.kind == "command" and isinstance(r.value, PlaceOrder)
               and r.value.order_ref == "w1:entry"]
    assert len(entries) == 1
