"""Stocks and futures: the plan's instrument drives its tick grid, its distances and its multiplier,
old journals still decode, and the simulated exchange trades the same contract (ES: 0.25, x50)."""

from __future__ import annotations

import datetime as dt

import pytest
from es import ES, NEW_YORK, es_plan
from factories import plan

from broker.sim import Bar, SimBroker, SimConfig
from supervisor import calls, codec
from supervisor.plan import PlanError, Side, TradePlan
from supervisor.port import (
    Action,
    ExecutionReported,
    Instrument,
    ModifyOrder,
    OrderAccepted,
    OrderRejected,
    OrderType,
    PlaceOrder,
    ReplaceRejected,
    SecType,
)


def test_a_plan_without_an_instrument_trades_the_stock_named_by_its_symbol() -> None:
    p = plan()
    assert p.instrument == Instrument("ABC", SecType.STOCK, "SMART", "USD", 1.0, 0.01)
    assert (p.tick, p.tick_size, p.multiplier) == (0.01, 0.01, 1.0)
    coarse = plan(tick_size=0.05, entry_price=10.0, stop=9.0, tps=(11.0,))
    assert coarse.instrument.tick_size == coarse.tick_size == 0.05


def test_a_future_brings_its_tick_and_multiplier() -> None:
    p = es_plan()
    assert (p.instrument, p.tick, p.tick_size, p.multiplier) == (ES, 0.25, 0.25, 50.0)
    assert p.round_to_tick(6890.62) == 6890.50  # break-even on the ES grid
    assert p.milestone_price(0, 6890.70) == 6890.75


@pytest.mark.parametrize(
    ("kw", "field", "value", "words"),
    [
        ({"entry": 6890.30}, "entry_price", 6890.30, "off the tick grid (0.25)"),
        ({"stop": 6880.10}, "stop_losses[1]", 6880.10, "off the tick grid (0.25)"),
        ({"target": 6900.05}, "take_profits[1]", 6900.05, "off the tick grid (0.25)"),
        ({"tick_size": 0.01}, "tick_size", 0.01, "disagrees with the instrument's tick 0.25"),
        ({"symbol": "NQ"}, "instrument", "ES", "does not trade the plan's symbol 'NQ'"),
        ({"instrument": "ES"}, "instrument", "ES", "must be a supervisor.port.Instrument"),
        ({"min_stop_ticks": 0}, "min_stop_ticks", 0, "whole number of ticks >= 1"),
    ],
)
def test_bad_instrument_fields_name_the_field(kw: dict[str, object], field: str, value: object, words: str) -> None:
    fields: dict[str, object] = {"trade_id": "es", "symbol": "ES", "instrument": ES, "side": Side.LONG,
                                 "quantity": 1, "entry_price": 6890.50, "stop_losses": (6880.50,),
                                 "take_profits": (6900.50,)}
    prices = {"entry": "entry_price", "stop": "stop_losses", "target": "take_profits"}
    for key, val in kw.items():
        name = prices.get(key, key)
        fields[name] = (val,) if name in ("stop_losses", "take_profits") else val
    with pytest.raises(PlanError) as info:
        TradePlan(**fields)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == (field, value)
    assert words in str(info.value)


def test_plans_round_trip_through_the_journal_codec_and_old_journals_still_decode() -> None:
    assert codec.is_registered(calls.Arm)  # supervisor.calls registers plans, as the journal does
    for p in (es_plan(), plan()):
        assert codec.decode(codec.encode(p)) == p
    old = codec.encode(plan())  # a plan as journals wrote it before instruments and the 4-tick rule
    del old["instrument"]
    old["min_stop_ticks"] = 1
    old["stop_losses"] = [9.99]
    restored = codec.decode(old)
    assert restored.instrument == Instrument("ABC")
    assert restored.min_stop_ticks == 1
    assert restored.stop_losses == (9.99,)


# -- the simulated exchange trades the same contract -------------------------------------------
T0 = dt.datetime(2025, 12, 12, 9, 30, tzinfo=NEW_YORK).timestamp()


def es_bars(*closes: float) -> list[Bar]:
    bars, previous = [], closes[0]
    for i, close in enumerate(closes):
        bars.append(Bar(T0 + 60 * i, previous, max(previous, close), min(previous, close), close, 10.0, 60.0, "ES"))
        previous = close
    return bars


def es_order(ref: str, action: Action, qty: int, kind: OrderType, price: float | None = None,
             **kw: object) -> PlaceOrder:
    limit = price if kind is OrderType.LIMIT else None
    stop = price if kind is OrderType.STOP else None
    return PlaceOrder(ref, "ES", action, kind, qty, limit, stop, **kw)  # type: ignore[arg-type]


def test_the_sim_takes_the_instruments_tick_and_refuses_prices_off_its_grid() -> None:
    sim = SimBroker(es_bars(6890.50, 6891.00), instrument=ES)
    assert (sim.symbol, sim.config.tick_size, sim.instrument) == ("ES", 0.25, ES)
    sim.execute(es_order("t:off", Action.BUY, 1, OrderType.LIMIT, 6890.30))
    sim.execute(es_order("t:on", Action.BUY, 1, OrderType.LIMIT, 6880.25))
    events = sim.poll()
    [rejected] = [e for e in events if isinstance(e, OrderRejected)]
    assert (rejected.order_ref, rejected.code) == ("t:off", 110)
    assert "6890.3 is not a multiple of the tick 0.25 (ES)" in rejected.reason
    assert [e.order_ref for e in events if isinstance(e, OrderAccepted)] == ["t:on"]
    sim.execute(ModifyOrder("t:on", limit_price=6880.10))
    [refused] = [e for e in sim.poll() if isinstance(e, ReplaceRejected)]
    assert refused.code == 110


def test_the_sim_refuses_another_contract_month() -> None:
    sim = SimBroker(es_bars(6890.50), instrument=ES)
    march = Instrument("ES", SecType.FUTURE, "CME", multiplier=50.0, tick_size=0.25, contract_month="202603")
    sim.execute(es_order("t:mar", Action.BUY, 1, OrderType.MARKET, instrument=march))
    sim.execute(es_order("t:dec", Action.BUY, 1, OrderType.MARKET, instrument=ES))
    events = sim.poll()
    [rejected] = [e for e in events if isinstance(e, OrderRejected)]
    assert (rejected.order_ref, rejected.code) == ("t:mar", 200)
    assert "ES 202603 FUT x50 (this sim trades ES 202512 FUT x50)" in rejected.reason
    sim.run()
    assert sim.position("ES") == 1


def test_the_sim_refuses_a_config_whose_tick_disagrees_with_the_instrument() -> None:
    with pytest.raises(ValueError, match=r"SimConfig.tick_size=0.01 but the instrument's tick is 0.25 \(ES\)"):
        SimBroker(es_bars(6890.50), instrument=ES, config=SimConfig(tick_size=0.01))
    with pytest.raises(ValueError, match=r"symbol='NQ' but instrument\.symbol='ES'"):
        SimBroker(es_bars(6890.50), instrument=ES, symbol="NQ")


def test_an_es_stop_fills_on_the_grid() -> None:
    sim = SimBroker(es_bars(6890.50, 6870.00, 6856.50), instrument=ES, config=SimConfig(tick_size=0.25,
                                                                                          slippage_ticks=1))
    sim.execute(es_order("t:entry", Action.BUY, 1, OrderType.MARKET))
    sim.execute(es_order("t:sl", Action.SELL, 1, OrderType.STOP, 6880.00))
    sim.run()
    fills = [e for e in sim.poll() if isinstance(e, ExecutionReported)]
    assert [(f.order_ref, f.price) for f in fills] == [("t:entry", 6890.75), ("t:sl", 6879.75)]
