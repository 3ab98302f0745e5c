"""The BrokerPort contract, checked against every adapter.

Each adapter comes as a `Harness`: the broker, the symbol it trades, a way to let time pass and
a price no buy limit will reach. A harness factory is a context manager (an adapter that connects
somewhere is closed afterwards). The simulated exchange is listed here; the ib_async adapter runs
the same tests over loopback against the TWS-protocol simulator in tests/ib_e2e/test_ib_contract.py,
which imports them with its own `harness` fixture. The tests speak only the port's vocabulary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from zoneinfo import ZoneInfo

import attrs
import pytest

from broker.sim import Bar, SimBroker, SimConfig
from supervisor.port import (
    Action,
    BrokerEvent,
    BrokerPort,
    CancelOrder,
    ExecutionReported,
    OrderAccepted,
    OrderCancelled,
    OrderSent,
    OrderType,
    PlaceOrder,
)


@attrs.frozen
class Harness:
    broker: BrokerPort
    symbol: str
    advance: Callable[[], object]  # let the broker's time move on a little
    far_below: float  # a buy limit at this price never fills


def contract_day() -> list[Bar]:
    """Thirty quiet bars around 100 from a regular open."""
    start = dt.datetime(2024, 3, 14, 9, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()
    return [Bar(start + 60 * k, 100.0, 100.2, 99.8, 100.1, 1000.0) for k in range(30)]


# the exchange's knobs every harness trades with: fills of at most 30, acknowledgements and fills late
CONTRACT_CONFIG = SimConfig(max_fill_qty=30, ack_latency=0.5, fill_latency=0.2)


@contextlib.contextmanager
def sim_harness() -> Iterator[Harness]:
    sim = SimBroker(contract_day(), config=CONTRACT_CONFIG, symbol="SIM")
    yield Harness(sim, "SIM", sim.step, far_below=50.0)


HARNESSES: dict[str, Callable[[], AbstractContextManager[Harness]]] = {"sim": sim_harness}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with HARNESSES[request.param]() as made:
        yield made


def collect(h: Harness, done: Callable[[list[BrokerEvent]], bool], seen: list[BrokerEvent], limit: int = 200) -> None:
    """Poll into `seen`, letting time pass, until `done(seen)`."""
    for _ in range(limit):
        seen += h.broker.poll()
        if done(seen):
            return
        h.advance()
    raise AssertionError(f"gave up waiting; events so far: {seen}")


def place(h: Harness, ref: str, qty: int = 100, price: float | None = None) -> PlaceOrder:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    command = PlaceOrder(ref, h.symbol, Action.BUY, kind, qty, limit_price=price)
    h.broker.execute(command)
    return command


def for_ref(ref: str, events: list[BrokerEvent]) -> list[BrokerEvent]:
    return [e for e in events if getattr(e, "order_ref", None) == ref]


def test_the_adapter_is_a_broker_port(harness: Harness) -> None:
    assert isinstance(harness.broker, BrokerPort)


def test_place_yields_order_sent_then_order_accepted_with_the_ref(harness: Harness) -> None:
    place(harness, "c:accept", price=harness.far_below)
    events: list[BrokerEvent] = []
    collect(harness, lambda seen: any(isinstance(e, OrderAccepted) for e in seen), events)
    mine = [e for e in for_ref("c:accept", events) if isinstance(e, OrderSent | OrderAccepted)]
    assert [type(e) for e in mine] == [OrderSent, OrderAccepted]
    sent, accepted = mine
    assert isinstance(accepted, OrderAccepted)
    assert accepted.order_id == sent.order_id
    assert (accepted.quantity, accepted.limit_price) == (100, harness.far_below)


def test_executions_carry_id_qty_price_and_sum_to_the_order_quantity(harness: Harness) -> None:
    place(harness, "c:fill", qty=100)
    events: list[BrokerEvent] = []

    def filled(seen: list[BrokerEvent]) -> bool:
        return sum(e.qty for e in seen if isinstance(e, ExecutionReported)) >= 100

    collect(harness, filled, events)
    executions = [e for e in events if isinstance(e, ExecutionReported)]
    assert all(e.order_ref == "c:fill" and e.action is Action.BUY and e.symbol == harness.symbol for e in executions)
    assert all(e.exec_id and e.qty > 0 and e.price > 0 for e in executions)
    assert len({e.exec_id for e in executions}) == len(executions)
    assert sum(e.qty for e in executions) == 100


def test_cancel_yields_order_cancelled(harness: Harness) -> None:
    place(harness, "c:cancel", price=harness.far_below)
    events: list[BrokerEvent] = []
    collect(harness, lambda seen: any(isinstance(e, OrderAccepted) for e in seen), events)
    harness.broker.execute(CancelOrder("c:cancel"))
    collect(harness, lambda seen: any(isinstance(e, OrderCancelled) for e in seen), events)
    (cancelled,) = [e for e in events if isinstance(e, OrderCancelled)]
    assert cancelled.order_ref == "c:cancel"
    assert all(o.order_ref != "c:cancel" for o in harness.broker.query().open_orders)


def test_query_reflects_open_orders_positions_and_executions(harness: Harness) -> None:
    place(harness, "c:long", qty=60)
    place(harness, "c:resting", qty=10, price=harness.far_below)
    events: list[BrokerEvent] = []
    collect(harness, lambda seen: sum(e.qty for e in seen if isinstance(e, ExecutionReported)) >= 60, events)
    truth = harness.broker.query()
    assert [(o.order_ref, o.quantity, o.filled) for o in truth.open_orders] == [("c:resting", 10, 0)]
    assert [(p.symbol, p.quantity) for p in truth.positions] == [(harness.symbol, 60)]
    reported = {e.exec_id for e in events if isinstance(e, ExecutionReported)}
    assert {e.exec_id for e in truth.executions} == reported
    assert harness.broker.query(executions_since=truth.time + 1).executions == ()


def test_poll_returns_each_event_once(harness: Harness) -> None:
    place(harness, "c:once", qty=100)
    place(harness, "c:gone", price=harness.far_below)
    harness.broker.execute(CancelOrder("c:gone"))
    events: list[BrokerEvent] = []
    collect(harness, lambda seen: sum(e.qty for e in seen if isinstance(e, ExecutionReported)) >= 100, events)
    for _ in range(5):
        harness.advance()
        events += harness.broker.poll()
    assert harness.broker.poll() == []
    assert len(events) == len(set(events))  # no event handed out twice
    assert [type(e) for e in for_ref("c:gone", events) if isinstance(e, OrderSent | OrderCancelled)] == [
        OrderSent,
        OrderCancelled,
    ]
