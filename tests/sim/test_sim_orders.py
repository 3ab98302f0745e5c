"""The exchange's answers to commands: lifecycle events and status snapshots, OCA groups (IB's
ocaType 1/2/3), held attached children, latencies, modify and cancel answers, unknown refs."""

from __future__ import annotations

import pytest
from sim_helpers import T0, bars, drain, flat, limit, names, of, order, stop

from broker.sim import SimBroker, SimConfig
from supervisor.port import (
    Action,
    CancelOrder,
    CancelRejected,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    OrderType,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
    TimeInForce,
)

RALLY = (100.0, 103.0, 99.9, 102.8)  # low first (nearer), then up to 103


def test_a_market_order_lifecycle_with_status_snapshots() -> None:
    sim = SimBroker(flat(1))
    sim.execute(order("t:entry", qty=10))
    assert sim.poll() == [
        OrderSent("t:entry", 1, T0),
        OrderAccepted("t:entry", 1, 10, None, None, T0),
        StatusObserved("t:entry", 1, "Submitted", 0, 10, 0.0, T0),
    ]
    assert sim.poll() == []
    sim.step()
    # IB's usual order: the status that counts the fill before the execution behind it
    assert names(sim.poll()) == ["StatusObserved", "ExecutionReported", "CommissionReported"]


def test_order_ids_are_integers_that_increase() -> None:
    sim = SimBroker(flat(1), config=SimConfig(first_order_id=500))
    for ref in ("a", "b", "c"):
        sim.execute(limit(ref, Action.BUY, 50.0))
    assert [e.order_id for e in of(OrderSent, sim.poll())] == [500, 501, 502]


@pytest.mark.parametrize("oca_type", [0, 1])
def test_oca_type_1_cancels_the_others_on_any_fill(oca_type: int) -> None:
    sim = SimBroker(bars(RALLY), config=SimConfig(max_fill_qty=30))
    sim.execute(limit("tp", Action.SELL, 102.0, qty=100, oca_group="g", oca_type=oca_type))
    sim.execute(stop("sl", Action.SELL, 95.0, qty=100, oca_group="g", oca_type=oca_type))
    events = drain(sim)
    # 30 at 102 (crossed on the way to 103), 30 more at 102.8 (the market already through it)
    assert [(e.order_ref, e.qty, e.price) for e in of(ExecutionReported, events)] == [
        ("tp", 30, 102.0),
        ("tp", 30, 102.8),
    ]
    assert [(e.order_ref, e.reason) for e in of(OrderCancelled, events)] == [("sl", "OCA group 'g': tp filled")]


@pytest.mark.parametrize("oca_type", [2, 3])
def test_oca_types_2_and_3_reduce_the_others_by_the_filled_amount(oca_type: int) -> None:
    sim = SimBroker(bars(RALLY, RALLY), config=SimConfig(max_fill_qty=40))
    sim.execute(limit("tp", Action.SELL, 101.0, qty=100, oca_group="g", oca_type=oca_type))
    sim.execute(stop("sl", Action.SELL, 95.0, qty=100, oca_group="g", oca_type=oca_type))
    sim.poll()
    sim.step()  # the open, 100: nothing
    sim.step()  # 99.9: nothing
    sim.step()  # 103: tp sells 40 at 101, the stop is reduced to 60
    events = sim.poll()
    assert [(e.order_ref, e.qty, e.price) for e in of(ExecutionReported, events)] == [("tp", 40, 101.0)]
    assert [(s.order_ref, s.filled, s.remaining) for s in of(StatusObserved, events)] == [
        ("tp", 40, 60),
        ("sl", 0, 60),
    ]
    assert {o.order_ref: o.quantity for o in sim.query().open_orders} == {"tp": 100, "sl": 60}
    # 102.8: 40 more (stop reduced to 20); next bar's 103: the last 20, the stop is left with nothing
    events = drain(sim)
    assert [(e.order_ref, e.qty) for e in of(ExecutionReported, events)] == [("tp", 40), ("tp", 20)]
    assert [(e.order_ref, e.reason) for e in of(OrderCancelled, events)] == [
        ("sl", "OCA group 'g': reduced to nothing by tp")
    ]
    assert sim.query().open_orders == ()


def test_attached_children_are_held_until_the_parent_fills() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), RALLY))
    sim.execute(limit("parent", Action.BUY, 99.95, qty=100))
    sim.execute(limit("tp", Action.SELL, 102.0, qty=100, parent_ref="parent", oca_group="b", oca_type=1))
    sim.execute(stop("sl", Action.SELL, 98.0, qty=100, parent_ref="parent", oca_group="b", oca_type=1))
    accepted = [(s.order_ref, s.status) for s in of(StatusObserved, sim.poll())]
    assert accepted == [("parent", "Submitted"), ("tp", "PreSubmitted"), ("sl", "PreSubmitted")]
    assert {o.order_ref: o.status for o in sim.query().open_orders} == {
        "parent": "Submitted", "tp": "PreSubmitted", "sl": "PreSubmitted"
    }
    events = drain(sim)
    assert [(e.order_ref, e.price) for e in of(ExecutionReported, events)] == [("parent", 99.95), ("tp", 102.0)]
    released = [(s.order_ref, s.status) for s in of(StatusObserved, events) if s.filled == 0]
    assert released == [("tp", "Submitted"), ("sl", "Submitted"), ("sl", "Cancelled")]


def test_cancelling_a_parent_cancels_its_held_children() -> None:
    sim = SimBroker(flat(2))
    sim.execute(limit("parent", Action.BUY, 90.0))
    sim.execute(limit("child", Action.SELL, 110.0, parent_ref="parent"))
    sim.execute(CancelOrder("parent"))
    events = sim.poll()
    assert [(e.order_ref, e.reason) for e in of(OrderCancelled, events)] == [
        ("parent", "cancelled by request"),
        ("child", "parent parent cancelled"),
    ]


def test_a_child_of_an_unknown_parent_is_rejected_naming_the_ref() -> None:
    sim = SimBroker(flat(1))
    sim.execute(limit("child", Action.SELL, 110.0, parent_ref="nope"))
    (rejected,) = of(OrderRejected, sim.poll())
    assert rejected.code == 135
    assert "'nope'" in rejected.reason


def test_an_unknown_symbol_is_rejected_with_200() -> None:
    sim = SimBroker(flat(1))
    sim.execute(limit("x", Action.BUY, 50.0).__class__("x", "MSFT", Action.BUY, OrderType.LIMIT, 1, 50.0))
    (rejected,) = of(OrderRejected, sim.poll())
    assert (rejected.code, rejected.order_ref) == (200, "x")


def test_placing_the_same_ref_twice_raises() -> None:
    sim = SimBroker(flat(1))
    sim.execute(limit("dup", Action.BUY, 50.0))
    with pytest.raises(ValueError, match="'dup' was already placed"):
        sim.execute(limit("dup", Action.BUY, 50.0))


def test_ack_and_fill_latencies_delay_the_events_on_the_sim_clock() -> None:
    sim = SimBroker(flat(2), config=SimConfig(ack_latency=20.0, fill_latency=2.0))
    sim.execute(order("m", qty=10))
    assert names(sim.poll()) == ["OrderSent"]
    sim.step()  # T0: the order has not reached the exchange
    sim.step()  # T0+15
    assert sim.poll() == []
    sim.step()  # T0+30: accepted at T0+20, filled at T0+30, reported at T0+32
    assert [(type(e).__name__, e.time - T0) for e in sim.poll()] == [
        ("OrderAccepted", 20.0), ("StatusObserved", 20.0)
    ]
    sim.step()  # T0+45
    status, execution, *_ = sim.poll()
    assert isinstance(status, StatusObserved)
    assert isinstance(execution, ExecutionReported)
    assert execution.time - T0 == 30.0


def test_advance_to_moves_the_clock_between_price_points() -> None:
    sim = SimBroker(flat(2), config=SimConfig(ack_latency=5.0))
    sim.execute(limit("l", Action.BUY, 50.0))
    assert sim.advance_to(T0 + 4.0) == []
    assert names(sim.poll()) == ["OrderSent"]
    sim.advance_to(T0 + 5.0)
    assert sim.now() == T0 + 5.0
    assert names(sim.poll()) == ["OrderAccepted", "StatusObserved"]
    closed = sim.advance_to(T0 + 200)
    assert [b.time - T0 for b in closed] == [0, 60]


def test_next_bar_hands_each_completed_bar_once() -> None:
    data = flat(3)
    sim = SimBroker(data)
    seen = []
    while (bar := sim.next_bar()) is not None:
        seen.append(bar)
    assert seen == data
    assert sim.step() is False


def test_modify_a_working_order_takes_effect() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), RALLY))
    sim.execute(limit("tp", Action.SELL, 105.0, qty=100))
    sim.execute(ModifyOrder("tp", quantity=60, limit_price=102.5))
    events = sim.poll()
    assert of(ReplaceAccepted, events) == [ReplaceAccepted("tp", 1, 60, 102.5, None, T0)]
    assert [(e.qty, e.price) for e in of(ExecutionReported, drain(sim))] == [(60, 102.5)]


@pytest.mark.parametrize(
    ("setup", "modify", "code", "words"),
    [
        ("filled", ModifyOrder("o", limit_price=99.0), 104, "Filled"),
        ("cancelled", ModifyOrder("o", limit_price=99.0), 10147, "Cancelled"),
        ("working", ModifyOrder("unknown", limit_price=99.0), 10147, "'unknown'"),
        ("working", ModifyOrder("o", stop_price=99.0), 201, "no stop price"),
        ("partial", ModifyOrder("o", quantity=10), 201, "not above the filled 10"),
    ],
)
def test_modify_answers_replace_rejected_with_an_ib_code(
    setup: str, modify: ModifyOrder, code: int, words: str
) -> None:
    sim = SimBroker(flat(2), config=SimConfig(max_fill_qty=10))
    price = 100.5 if setup in ("filled", "partial") else 90.0
    sim.execute(limit("o", Action.BUY, price, qty=10 if setup == "filled" else 50))
    if setup == "cancelled":
        sim.execute(CancelOrder("o"))
    sim.step()
    sim.poll()
    sim.execute(modify)
    (rejected,) = sim.poll()
    assert isinstance(rejected, ReplaceRejected)
    assert rejected.code == code
    assert words in rejected.reason


def test_cancel_a_working_order_then_again_and_a_filled_one() -> None:
    sim = SimBroker(flat(1))
    sim.execute(limit("resting", Action.BUY, 90.0))
    sim.execute(order("done", qty=5))
    sim.step()
    sim.poll()
    sim.execute(CancelOrder("resting"))
    assert [(type(e).__name__, getattr(e, "status", None)) for e in sim.poll()] == [
        ("OrderCancelled", None), ("StatusObserved", "Cancelled")
    ]
    sim.execute(CancelOrder("resting"))
    sim.execute(CancelOrder("done"))
    sim.execute(CancelOrder("ghost", order_id=77))
    answers = [(e.order_ref, e.order_id, e.code) for e in of(CancelRejected, sim.poll())]
    assert answers == [("resting", 1, 161), ("done", 2, 161), ("ghost", 77, 10147)]


def test_a_cancel_racing_a_fill_is_rejected_when_the_fill_wins() -> None:
    sim = SimBroker(flat(2), config=SimConfig(ack_latency=20.0))
    sim.execute(order("m", qty=10))
    sim.advance_to(T0 + 25)  # accepted at +20; the cancel reaches the exchange at +45
    sim.execute(CancelOrder("m"))
    events = drain(sim)  # the fill at +30 wins
    assert [e.code for e in of(CancelRejected, events)] == [161]
    assert sim.position() == 10


def test_query_shows_open_orders_positions_and_executions_since() -> None:
    sim = SimBroker(flat(3))
    sim.execute(order("a", qty=10))
    sim.execute(limit("resting", Action.SELL, 120.0, qty=10, oca_group="g"))
    sim.next_bar()
    sim.execute(order("b", qty=5))
    drain(sim)
    truth = sim.query()
    assert [(o.order_ref, o.quantity, o.oca_group, o.status) for o in truth.open_orders] == [
        ("resting", 10, "g", "Submitted")
    ]
    assert [(p.symbol, p.quantity) for p in truth.positions] == [("SIM", 15)]
    assert [e.order_ref for e in truth.executions] == ["a", "b"]
    assert [e.order_ref for e in sim.query(executions_since=T0 + 60).executions] == ["b"]


def test_commands_after_the_end_of_data_are_still_answered() -> None:
    sim = SimBroker(flat(1), config=SimConfig(ack_latency=5.0))
    sim.execute(limit("l", Action.BUY, 50.0, tif=TimeInForce.GTC))
    drain(sim)
    sim.execute(CancelOrder("l"))
    assert sim.step() is False
    assert [e.order_ref for e in of(OrderCancelled, sim.poll())] == ["l"]
