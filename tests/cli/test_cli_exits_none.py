"""`--tp none` (`tp=none`): the entry and its stop only, end to end on the simulated exchange: armed,
filled, the stop working, closed at the stop or flat at `--flatten-at`, the audit showing entry and
sl1 only; the stop growing with an entry that fills in pieces; a none plan without a stop refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import assert_clean_exit, invoke, minute, write_bars

from broker.audit import read_journal
from broker.chart import collect
from broker.desk import Desk
from broker.desk_sim import SimDriver
from broker.sim import SimConfig, load_bars
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day
from strategies.breakout import BreakoutSetup
from supervisor import events as ev
from supervisor.plan import EntryType
from supervisor.port import ModifyOrder, PlaceOrder

NONE = ("SIM", "level=100.49", "qty=100", "tp=none", "sl=99.95", "entry=market", "watch_after=30")

# a breakout at 10:02, then the price falls through the stop at 100.1
FALLS = [
    f"{minute(0)},100.00,100.20,99.90,100.10,1000",
    f"{minute(1)},100.10,100.40,100.00,100.30,1000",
    f"{minute(2)},100.30,100.70,100.30,100.60,1000",  # closes above 100.5: the breakout
    f"{minute(3)},100.60,100.80,100.50,100.70,1000",
    f"{minute(4)},100.70,100.70,99.80,99.90,1000",  # through the stop
    f"{minute(5)},99.90,100.00,99.70,99.80,1000",
]


def arm(*args: str):  # type: ignore[no-untyped-def]
    return invoke("breakout", "arm", *args)


def commands(journal: Path) -> list:
    return [r.value for r in read_journal(journal) if r.kind == "command"]


def test_tp_none_is_held_under_the_stop_and_flattened_at_the_flatten_time(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    result = arm(*NONE, "--flatten-at", "15:45", "--journal", str(journal))
    assert_clean_exit(result, 0)
    out = result.output
    assert "take-profit none  (the stop alone holds all 100 until it fills or the trade is flattened" in out
    assert "10:20:00  sim-100.49 sl1      working                      0/100 avg -        at 99.95" in out
    assert "15:45:00  sim-100.49 sl1      cancelled" in out
    audit = out.split("\n\n")[-1]
    assert [line.split()[0] for line in audit.splitlines()[2:-1]] == ["entry", "sl1", "flat1"]
    assert "tp1" not in out
    assert out.strip().splitlines()[-1] == "OK: closed, flat, realized P&L 88.00"
    placed = [(c.order_ref, c.order_type.value, c.quantity) for c in commands(journal) if isinstance(c, PlaceOrder)]
    assert placed == [("sim-100.49:entry", "MKT", 100), ("sim-100.49:sl1", "STP", 100),
                      ("sim-100.49:flat1", "MKT", 100)]


def test_tp_none_closes_at_the_stop(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "bars.csv", FALLS)
    journal = tmp_path / "j.sqlite"
    result = arm("SIM", "--level", "100.5", "--qty", "40", "--tp", "none", "--sl", "100.1", "--entry", "market",
                 "--rth", "off", "--bars", str(bars), "--journal", str(journal))
    assert_clean_exit(result, 0)
    assert "sl1      filled                       40/40" in result.output
    assert result.output.strip().splitlines()[-1].startswith("OK: closed, flat, realized P&L -")
    trades = invoke("trades", "--journal", str(journal), "--json")
    assert_clean_exit(trades, 0)
    [trade] = json.loads(trades.output)["trades"]
    assert (trade["state"], trade["position"], [leg["leg"] for leg in trade["legs"]]) == ("closed", 0,
                                                                                         ["entry", "sl1"])
    assert [leg["executed_qty"] for leg in trade["legs"]] == [40, 40]


def test_the_stop_grows_with_an_entry_filled_in_pieces_and_survives_a_restart(tmp_path: Path) -> None:
    """On a desk over an exchange that fills at most 30 shares a price point: the stop follows each
    piece; the process dies at 11:00 with the shares under it, a new one takes the trade back from
    the journal, and `trades` shows entry and sl1 only."""
    day = load_bars(bundled_day())
    journal = tmp_path / "j.sqlite"
    exchange = SimExchange(day, config=SimConfig(max_fill_qty=30))  # the broker outlives the process
    setup = BreakoutSetup(trade_id="w1", symbol="SIM", level=100.49, quantity=100, tp_none=True,
                          stop_losses=(99.95,), entry=EntryType.MARKET, watch_from=day[0].time + 1800)
    first = Desk.open(journal, exchange, exchange)
    first.arm(setup)
    SimDriver(first, exchange).run_until(day[90].time)  # 11:00
    assert first.recorder.trade("w1").position == 100
    first.close()  # the process dies here
    sizes = [c.quantity for c in commands(journal)
             if isinstance(c, (PlaceOrder, ModifyOrder)) and c.order_ref == "w1:sl1"]
    assert sizes == [30, 60, 90, 100]
    events = [r.value for r in read_journal(journal) if r.kind == "supervisor_event"]
    assert not [e for e in events if isinstance(e, (ev.CoverageGap, ev.InvariantViolated))]

    again = Desk.open(journal, exchange, exchange)
    assert again.catch_up()
    trade = again.recorder.trade("w1")
    assert (trade.position, trade.stop_coverage, trade.pairs) == (100, 100, (("pair1", "armed"),))
    again.close()
    trades = invoke("trades", "--journal", str(journal))
    assert_clean_exit(trades, 0)
    assert "trade w1 (long SIM): protected, position 100, entry filled 100, exits filled 0" in trades.output
    assert [line.split()[0] for line in trades.output.splitlines()[2:]] == ["entry", "sl1"]


@pytest.mark.parametrize(("args", "option", "named"), [
    (("tp=none", "entry=market"), "--sl", "every filled share is kept under a stop"),
    (("tp=none", "sl=99.95", "stop_updates=100.6"), "--stop-updates", "with tp none there is none"),
    (("tp=none", "sl=99.95", "tp_alloc=60-40"), "--tp-alloc", "with tp none there are none"),
    (("tp=none", "sl=99.95", "sl=99"), "sl=", "sl is given twice"),
    (("tp=none", "sl=99.95-99.9"), "--sl", "takes one stop with tp none"),
    (("tp=none", "sl=99.95", "tp_count=2"), "--tp-count", "goes with --tp auto"),
    (("tp=none", "sl=99.95", "targets_crossed=drop"), "--targets-crossed", "none to cross"),
])
def test_a_bad_none_plan_exits_2_naming_the_option(args: tuple[str, ...], option: str, named: str) -> None:
    result = arm("SIM", "level=100.49", "qty=100", *args)
    assert_clean_exit(result, 2)
    text = " ".join(result.output.split())
    assert option in text
    assert named in text
    assert "watcher" not in text


def test_help_says_what_none_means() -> None:
    result = arm("--help")
    assert_clean_exit(result, 0)
    text = " ".join(result.output.split())
    assert "or none: no take-profit, the stop alone holds every share" in text
    assert "--sl is required (every filled share is kept under a stop)" in text


def test_the_chart_of_a_stop_only_trade_draws_its_stop_and_no_target(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    assert_clean_exit(arm(*NONE, "--flatten-at", "15:45", "--journal", str(journal)), 0)
    data = collect(read_journal(journal), "sim-100.49")
    assert sorted(data.prices) == ["sl1"]
    assert [p for _, p in data.prices["sl1"]] == [99.95]
    assert [(side, qty) for _, _, side, qty in data.executions] == [("BUY", 100), ("SELL", 100)]
    pytest.importorskip("matplotlib")
    out = tmp_path / "day.png"
    result = invoke("chart", "--journal", str(journal), "-o", str(out))
    assert_clean_exit(result, 0)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "0 targets, 1 stops (0 repricings), 2 executions" in result.output


def test_the_risk_limit_counts_a_stop_only_plan_at_its_stop(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    result = arm(*NONE, "--max-risk", "50", "--journal", str(journal))
    assert_clean_exit(result, 3)
    assert "max_risk: 100 x |100.49 - 99.95| x 1 = 54.00 > 50.00; nothing was sent" in result.output
    assert not commands(journal)


def test_the_readme_shows_the_command_tested_here() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"order-supervisor breakout arm {' '.join(NONE)} --flatten-at 15:45\n" in readme


def test_attached_the_stop_rides_with_the_entry_as_its_only_child(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    result = arm(*NONE, "--exit-mode", "attached", "--flatten-at", "15:45", "--journal", str(journal))
    assert_clean_exit(result, 0)
    placed = [(c.order_ref, c.parent_ref) for c in commands(journal) if isinstance(c, PlaceOrder)]
    assert placed == [("sim-100.49:entry", None), ("sim-100.49:sl1", "sim-100.49:entry"),
                      ("sim-100.49:flat1", None)]
    assert result.output.strip().splitlines()[-1] == "OK: closed, flat, realized P&L 88.00"
