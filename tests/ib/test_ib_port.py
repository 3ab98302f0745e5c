"""The adapter through the port only, against every backend of `connected` (today the in-process
fake with a fake exchange behind it; the TWS-protocol simulator joins as another backend)."""

from __future__ import annotations

from collections.abc import Callable

from conftest import Connected
from ib_steps import limit, stop

from supervisor.port import (
    BrokerEvent,
    BrokerPort,
    CancelOrder,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderSent,
    ReplaceAccepted,
)


def collect(c: Connected, done: Callable[[list[BrokerEvent]], bool], seen: list[BrokerEvent],
            limit_: int = 500) -> list[BrokerEvent]:
    for _ in range(limit_):
        seen += c.broker.poll()
        if done(seen):
            return seen
        c.pump()
    raise AssertionError(f"gave up waiting; events so far: {seen}")


def of(kind: type, ref: str, events: list[BrokerEvent]) -> list[BrokerEvent]:
    return [e for e in events if isinstance(e, kind) and getattr(e, "order_ref", None) == ref]


def test_the_adapter_is_a_broker_port(connected: Connected) -> None:
    assert isinstance(connected.broker, BrokerPort)


def test_an_order_is_sent_then_accepted_under_one_id(connected: Connected) -> None:
    connected.broker.execute(limit("p:entry", qty=40, price=50.0))
    events = collect(connected, lambda seen: bool(of(OrderAccepted, "p:entry", seen)), [])
    (sent,) = of(OrderSent, "p:entry", events)
    (accepted,) = of(OrderAccepted, "p:entry", events)
    assert isinstance(sent, OrderSent)
    assert isinstance(accepted, OrderAccepted)
    assert events.index(sent) < events.index(accepted)
    assert (accepted.order_id, accepted.quantity, accepted.limit_price) == (sent.order_id, 40, 50.0)
    assert accepted.perm_id is not None


def test_a_bracket_is_accepted_leg_by_leg_with_each_quantity(connected: Connected) -> None:
    connected.broker.execute_all([limit("b:entry", qty=100, price=50.0),
                                  stop("b:tp1", qty=70, price=60.0, parent_ref="b:entry"),
                                  stop("b:sl1", qty=100, price=45.0, parent_ref="b:entry")])
    events = collect(connected, lambda seen: len([e for e in seen if isinstance(e, OrderAccepted)]) == 3, [])
    assert {(e.order_ref, e.quantity) for e in events if isinstance(e, OrderAccepted)} == {
        ("b:entry", 100), ("b:tp1", 70), ("b:sl1", 100)}


def test_a_modify_is_acknowledged_with_the_new_figures(connected: Connected) -> None:
    connected.broker.execute(stop("m:sl1", qty=100, price=45.0))
    events = collect(connected, lambda seen: bool(of(OrderAccepted, "m:sl1", seen)), [])
    (accepted,) = of(OrderAccepted, "m:sl1", events)
    connected.broker.execute(ModifyOrder("m:sl1", accepted.order_id, stop_price=46.0))  # type: ignore[union-attr]
    events = collect(connected, lambda seen: bool(of(ReplaceAccepted, "m:sl1", seen)), [])
    (replaced,) = of(ReplaceAccepted, "m:sl1", events)
    assert (replaced.quantity, replaced.stop_price) == (100, 46.0)  # type: ignore[union-attr]


def test_a_cancel_is_confirmed_once(connected: Connected) -> None:
    connected.broker.execute(limit("c:entry", price=1.0))
    events = collect(connected, lambda seen: bool(of(OrderAccepted, "c:entry", seen)), [])
    connected.broker.execute(CancelOrder("c:entry"))
    events = collect(connected, lambda seen: bool(of(OrderCancelled, "c:entry", seen)), events)
    for _ in range(5):
        connected.pump()
        events += connected.broker.poll()
    assert len(of(OrderCancelled, "c:entry", events)) == 1
