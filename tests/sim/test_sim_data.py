"""The bundled trading day: reproducible from its script, and the breakout ladder documented in
the script's docstring really plays out on the simulated exchange."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType

from sim_helpers import NY, limit, order, stop

from broker.sim import SimBroker, load_bars
from supervisor.port import Action, BrokerEvent, ExecutionReported, OrderType

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_day", DATA / "generate_day.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_csv_is_what_the_script_writes_with_its_default_seed() -> None:
    assert generator().render() == (DATA / "breakout_day.csv").read_text()


def test_the_day_is_a_regular_session_of_one_minute_bars() -> None:
    bars = load_bars(DATA / "breakout_day.csv")
    first, last = (dt.datetime.fromtimestamp(b.time, NY) for b in (bars[0], bars[-1]))
    assert (len(bars), first.isoformat(), last.time()) == (390, "2024-03-14T09:30:00-04:00", dt.time(15, 59))
    volumes = [b.volume for b in bars]
    assert min(volumes[:15]) > max(volumes[150:240])  # U-shaped: heavy open, light lunch
    assert min(volumes[-10:]) > max(volumes[150:240])  # ... heavy close
    opening = bars[:30]
    assert (max(b.high for b in opening), min(b.low for b in opening)) == (100.49, 99.45)


def hhmm(t: float) -> str:
    return dt.datetime.fromtimestamp(t, NY).strftime("%H:%M")


def test_the_documented_long_breakout_ladder_triggers_takes_tp1_tp2_and_exits_the_rest() -> None:
    sim = SimBroker(load_bars(DATA / "breakout_day.csv"))
    sim.execute(order("t:entry", qty=100, kind=OrderType.STOP_LIMIT, stop=100.54, limit=100.70))
    events: list[BrokerEvent] = []
    stops: list[str] = []
    while sim.step():
        events += sim.poll()
        if not stops and sim.position() == 100:
            for k, (target, qty) in enumerate([(101.20, 40), (101.70, 30), (102.40, 30)], start=1):
                sim.execute(limit(f"t:tp{k}", Action.SELL, target, qty, oca_group=f"t:{k}", oca_type=1))
                sim.execute(stop(f"t:sl{k}", Action.SELL, 99.95, qty, oca_group=f"t:{k}", oca_type=1))
                stops.append(f"t:sl{k}")
    fills = [(e.order_ref, e.qty, e.price, hhmm(e.time)) for e in events if isinstance(e, ExecutionReported)]
    assert fills == [
        ("t:entry", 100, 100.54, "10:19"),
        ("t:tp1", 40, 101.2, "10:47"),
        ("t:tp2", 30, 101.71, "11:40"),  # the 11:40 bar opens above the target,
        ("t:tp3", 30, 102.4, "12:20"),
    ]
    assert sim.position() == 0
    entry = 100.54
    lows_after_tp1 = [b.low for b in sim.bars if dt.time(10, 47) <= dt.datetime.fromtimestamp(b.time, NY).time()
                      < dt.time(12, 20)]
    assert min(lows_after_tp1) > entry  # a stop moved to break-even after TP1 is never touched
