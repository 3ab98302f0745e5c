"""The exchange's fills: order types, slippage, touch vs trade-through, gaps, partial fills and
execution ids, commissions, time in force and regular hours, quotes."""

from __future__ import annotations

import datetime as dt

import pytest
from sim_helpers import NY, T0, bars, drain, flat, limit, of, order, stop

from broker.sim import Quote, SimBroker, SimConfig
from supervisor.port import (
    Action,
    CommissionReported,
    ExecutionReported,
    OrderCancelled,
    OrderType,
    StatusObserved,
    TimeInForce,
)

# one bar: open 100, down to 99 first (nearer), up to 101.5, close 100.5
SWING = (100.0, 101.5, 99.0, 100.5)


def fills(sim: SimBroker) -> list[tuple[str, int, float, float]]:
    return [(e.order_ref, e.qty, e.price, e.time - T0) for e in of(ExecutionReported, drain(sim))]


@pytest.mark.parametrize(
    ("placed", "expected"),
    [
        (order("mkt"), [("mkt", 100, 100.0, 0)]),
        (order("mkt-sell", Action.SELL), [("mkt-sell", 100, 100.0, 0)]),
        # resting buy limit crossed on the way down: at its limit, when the low is visited
        (limit("lmt", Action.BUY, 99.5), [("lmt", 100, 99.5, 15)]),
        # marketable on arrival: takes the price met, not its (worse) limit
        (limit("lmt-marketable", Action.BUY, 100.8), [("lmt-marketable", 100, 100.0, 0)]),
        (limit("lmt-sell", Action.SELL, 101.2), [("lmt-sell", 100, 101.2, 30)]),
        (limit("lmt-never", Action.BUY, 98.0), []),
        # buy stop crossed on the way up: fills as market at its stop
        (stop("stp", Action.BUY, 101.0), [("stp", 100, 101.0, 30)]),
        (stop("stp-sell", Action.SELL, 99.4), [("stp-sell", 100, 99.4, 15)]),
        # stop-limit: triggers at 101, a limit at 101.2 marketable at the trigger price
        (order("stplmt", kind=OrderType.STOP_LIMIT, stop=101.0, limit=101.2), [("stplmt", 100, 101.0, 30)]),
    ],
)
def test_order_types_fill_where_the_price_path_takes_them(placed: object, expected: list[object]) -> None:
    sim = SimBroker(bars(SWING))
    sim.execute(placed)  # type: ignore[arg-type]
    assert fills(sim) == expected


def test_a_stop_limit_gapped_past_its_limit_rests_as_a_limit() -> None:
    # the second bar opens at 102, through the stop 101 and past the limit 101.2; it fills when
    # the price comes back through 101.2 (at the limit: resting, crossed on the way)
    sim = SimBroker(bars((100, 100, 100, 100), (102, 102.1, 101.0, 101.1)))
    sim.execute(order("s", kind=OrderType.STOP_LIMIT, stop=101.0, limit=101.2))
    assert fills(sim) == [("s", 100, 101.2, 60 + 30)]


def test_a_stop_gapped_through_fills_at_the_open_not_at_its_stop() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (97, 97.5, 96.8, 97.2)))
    sim.execute(stop("sl", Action.SELL, 99.0))
    assert fills(sim) == [("sl", 100, 97.0, 60)]


def test_a_limit_gapped_through_fills_at_the_better_open() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (98, 98.5, 97.8, 98.2)))
    sim.execute(limit("l", Action.BUY, 99.0))
    assert fills(sim) == [("l", 100, 98.0, 60)]


def test_slippage_moves_market_and_stop_fills_against_the_trader_never_limits() -> None:
    sim = SimBroker(bars(SWING), config=SimConfig(slippage_ticks=2))
    sim.execute(order("buy"))
    sim.execute(stop("sell-stop", Action.SELL, 99.4, qty=10))
    sim.execute(limit("sell-limit", Action.SELL, 101.2, qty=10))
    assert fills(sim) == [("buy", 100, 100.02, 0), ("sell-stop", 10, 99.38, 15), ("sell-limit", 10, 101.2, 30)]


def test_touch_fills_only_when_configured() -> None:
    # the low is exactly the limit (visited second, at :30): trade-through (the default) does
    # not fill, touch does
    through = SimBroker(bars((100, 100.5, 99.0, 100)))
    through.execute(limit("l", Action.BUY, 99.0))
    touch = SimBroker(bars((100, 100.5, 99.0, 100)), config=SimConfig(limit_fills_on_touch=True))
    touch.execute(limit("l", Action.BUY, 99.0))
    assert fills(through) == []
    assert fills(touch) == [("l", 100, 99.0, 30)]


def test_large_orders_fill_in_pieces_each_with_its_own_exec_id_and_commission() -> None:
    sim = SimBroker(flat(3), config=SimConfig(max_fill_qty=30, commission_per_share=0.005, min_commission=0.35))
    sim.execute(order("big", qty=100))
    events = drain(sim)
    executions = of(ExecutionReported, events)
    assert [(e.qty, e.time - T0) for e in executions] == [(30, 0), (30, 15), (30, 30), (10, 45)]
    ids = [e.exec_id for e in executions]
    assert ids == ["00000001.00000001.01.01", "00000001.00000002.01.01", "00000001.00000003.01.01",
                   "00000001.00000004.01.01"]
    commissions = {c.exec_id: c.commission for c in of(CommissionReported, events)}
    assert commissions == dict(zip(ids, [0.35, 0.35, 0.35, 0.35], strict=True))  # 30*0.005 < min
    statuses = [(s.status, s.filled, s.remaining) for s in of(StatusObserved, events)]
    assert statuses == [("Submitted", 0, 100), ("Submitted", 30, 70), ("Submitted", 60, 40),
                        ("Submitted", 90, 10), ("Filled", 100, 0)]


def test_commission_is_per_share() -> None:
    sim = SimBroker(flat(1), config=SimConfig(commission_per_share=0.0035))
    sim.execute(order("a", qty=200))
    (commission,) = of(CommissionReported, drain(sim))
    assert commission.commission == pytest.approx(0.7)
    assert commission.currency == "USD"


def test_exec_ids_are_unique_across_orders() -> None:
    sim = SimBroker(flat(2), config=SimConfig(max_fill_qty=7))
    for k in range(5):
        sim.execute(order(f"o{k}", qty=20))
    ids = [e.exec_id for e in of(ExecutionReported, drain(sim))]
    assert len(ids) == 15
    assert len(set(ids)) == 15


def premarket(n: int) -> list[float]:
    return [dt.datetime(2024, 3, 14, 9, 28, tzinfo=NY).timestamp() + 60 * k for k in range(n)]


def test_orders_without_outside_rth_wait_for_the_regular_open() -> None:
    start = premarket(1)[0]  # 09:28, 09:29 pre-market, then 09:30
    sim = SimBroker(flat(3, start=start))
    sim.execute(order("regular"))
    sim.execute(order("extended", outside_rth=True))
    assert [(e.order_ref, e.time) for e in of(ExecutionReported, drain(sim))] == [
        ("extended", start),
        ("regular", T0),
    ]


def test_day_orders_expire_at_the_close_gtc_orders_do_not() -> None:
    close = dt.datetime(2024, 3, 14, 16, 0, tzinfo=NY).timestamp()
    sim = SimBroker(flat(3, start=close - 120) + flat(1, start=close + 600))  # 15:58 .. 16:10
    sim.execute(limit("day", Action.BUY, 90.0))
    sim.execute(limit("day-ext", Action.BUY, 90.0, outside_rth=True))
    sim.execute(limit("gtc", Action.BUY, 90.0, tif=TimeInForce.GTC))
    events = drain(sim)
    assert [(e.order_ref, e.time, e.reason) for e in of(OrderCancelled, events)] == [
        ("day", close, "DAY order expired at the session close")  # at the 16:00 bar
    ]
    assert {o.order_ref for o in sim.query().open_orders} == {"day-ext", "gtc"}


def test_day_orders_expire_when_the_data_ends_after_the_close() -> None:
    close = dt.datetime(2024, 3, 14, 16, 0, tzinfo=NY).timestamp()
    sim = SimBroker(flat(2, start=close - 120))  # the last bar ends at 16:00
    sim.execute(limit("day", Action.BUY, 90.0))
    assert [e.order_ref for e in of(OrderCancelled, drain(sim))] == ["day"]
    assert sim.now() == close


def test_market_orders_fill_at_the_quote_when_quotes_are_loaded() -> None:
    quotes = [Quote(T0, 99.98, 100.03), Quote(T0 + 20, 100.1, 100.14)]
    sim = SimBroker(flat(1), quotes=quotes)
    sim.execute(order("buy", qty=10))
    sim.step()
    sim.step()
    sim.execute(order("sell", Action.SELL, qty=10))
    assert fills(sim) == [("buy", 10, 100.03, 0), ("sell", 10, 100.1, 30)]


def test_a_sell_with_no_position_opens_a_short() -> None:
    sim = SimBroker(flat(1))
    sim.execute(order("short", Action.SELL, qty=50))
    drain(sim)
    assert sim.position() == -50
    (position,) = sim.query().positions
    assert (position.symbol, position.quantity, position.avg_cost, position.account) == ("SIM", -50, 100.0, "SIM")


def test_positions_follow_the_average_cost_rule() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (102, 102, 102, 102), (104, 104, 104, 104)))
    sim.execute(order("a", qty=100))
    sim.next_bar()
    sim.execute(order("b", qty=100))
    sim.next_bar()
    sim.execute(order("c", Action.SELL, qty=250))
    drain(sim)
    (position,) = sim.query().positions
    assert (position.quantity, position.avg_cost) == (-50, 104.0)  # flipped through zero at 104
    sim2 = SimBroker(bars((100, 100, 100, 100), (102, 102, 102, 102)))
    sim2.execute(order("a", qty=100))
    sim2.next_bar()
    sim2.execute(order("b", qty=100))
    drain(sim2)
    assert sim2.query().positions[0].avg_cost == pytest.approx(101.0)
