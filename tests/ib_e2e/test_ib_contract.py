"""The BrokerPort contract suite (tests/contract) against the IB adapter, connected over loopback to
the TWS simulator: the same tests, with a `harness` that yields an `IBBroker` on its own connection.

The adapter is used the way a polling caller uses a port: commands go out at once, `poll()` returns
what arrived, `query()` blocks for broker truth. Letting time pass is one price point at the
simulator, then a round trip, so the client has read everything the gateway wrote before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from contract.test_port_contract import (  # the suite, collected here once more
    CONTRACT_CONFIG,
    Harness,
    contract_day,
    test_cancel_yields_order_cancelled,
    test_executions_carry_id_qty_price_and_sum_to_the_order_quantity,
    test_place_yields_order_sent_then_order_accepted_with_the_ref,
    test_poll_returns_each_event_once,
    test_query_reflects_open_orders_positions_and_executions,
    test_the_adapter_is_a_broker_port,
)
from ib_wire import BOUND, gateway

from broker.ib import IBBroker, IBConfig

CONTRACT_TESTS = (
    test_the_adapter_is_a_broker_port, test_place_yields_order_sent_then_order_accepted_with_the_ref,
    test_executions_carry_id_qty_price_and_sum_to_the_order_quantity, test_cancel_yields_order_cancelled,
    test_query_reflects_open_orders_positions_and_executions, test_poll_returns_each_event_once,
)


@pytest.fixture(params=["ib-over-tws"])
def harness(client_loop: asyncio.AbstractEventLoop) -> Iterator[Harness]:
    with gateway(contract_day(), config=CONTRACT_CONFIG) as server:
        broker = IBBroker(config=IBConfig(port=server.port, client_id=1, timeout=BOUND), environ={})
        client_loop.run_until_complete(broker.connect())

        def advance() -> None:
            server.step()
            broker.ib.reqCurrentTime()  # a round trip: the client has read what the step produced

        try:
            yield Harness(broker, "SIM", advance, far_below=50.0)
        finally:
            broker.close()


def test_every_contract_test_runs_here() -> None:
    import contract.test_port_contract as suite

    assert {name for name in vars(suite) if name.startswith("test_")} == {t.__name__ for t in CONTRACT_TESTS}
