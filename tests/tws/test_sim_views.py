"""The simulated exchange's views the TWS simulator serves from: every order (live or final) by its
ref, the truth during an outage, and the commission of one execution."""

from __future__ import annotations

import pytest
from sim.sim_helpers import T0, bars, drain, flat

from broker.sim import SimBroker, SimConfig
from supervisor.port import Action, OrderType, PlaceOrder


def _buy(ref: str, qty: int = 100, kind: OrderType = OrderType.MARKET, limit: float | None = None) -> PlaceOrder:
    return PlaceOrder(ref, "SIM", Action.BUY, kind, qty, limit)


def test_orders_lists_live_and_final_orders_with_their_status() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (100, 101, 99.5, 100.5)))
    sim.execute(_buy("t:filled"))
    sim.execute(_buy("t:resting", kind=OrderType.LIMIT, limit=90.0))
    drain(sim)
    assert [(o.order_ref, o.status, o.filled) for o in sim.orders()] == [
        ("t:filled", "Filled", 100), ("t:resting", "Submitted", 0),
    ]
    found = sim.order("t:filled")
    assert found is not None
    assert found.quantity == 100
    assert sim.order("t:unknown") is None


def test_snapshot_answers_during_an_outage_where_query_refuses() -> None:
    sim = SimBroker(flat(10), faults=["disconnect:60"], config=SimConfig(outage_seconds=120))
    sim.execute(_buy("t:entry"))
    sim.advance_to(T0 + 90)  # inside the outage
    assert not sim.connected
    with pytest.raises(ConnectionError):
        sim.query()
    truth = sim.snapshot()
    assert [(p.symbol, p.quantity) for p in truth.positions] == [("SIM", 100)]
    assert [e.order_ref for e in truth.executions] == ["t:entry"]


@pytest.mark.parametrize(
    ("per_share", "minimum", "qty", "expected"),
    [(0.005, 0.0, 100, 0.5), (0.005, 1.0, 100, 1.0), (0.0035, 0.35, 1000, 3.5)],
)
def test_commission_is_per_share_with_a_minimum(per_share: float, minimum: float, qty: int, expected: float) -> None:
    assert SimConfig(commission_per_share=per_share, min_commission=minimum).commission(qty) == expected
