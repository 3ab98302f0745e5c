"""After a reconnect, as IB does it: open orders come back with their ids, finished orders come back
through completed orders with orderId 0 (permId and orderRef to match them by), executions (the
ones that happened while away included) through reqExecutions, with its time filter. And the sim's
disconnect fault as IB's connectivity notices (1100, then 1102), or as a dropped socket."""

from __future__ import annotations

import datetime as dt

import pytest
from ib_async import IB, ExecutionFilter, LimitOrder, MarketOrder
from sim.sim_helpers import NY, T0
from tws_helpers import WireLog, advance, barrier, client, gateway, ramp, stock

from broker.sim import SimConfig

DAY = ramp(100.0, 100.0, 100.0, 100.5, 101.0, 101.5, 101.0, 100.5, 100.0, 100.0)


def _morning(server, ib: IB) -> None:  # type: ignore[no-untyped-def]
    """Entry filled, a target that fills while the client is away, one that stays, one cancelled."""
    contract = stock("AAPL")
    ib.placeOrder(contract, MarketOrder("BUY", 100, orderRef="t1:entry"))
    ib.placeOrder(contract, LimitOrder("SELL", 40, 100.75, orderRef="t1:tp1"))
    ib.placeOrder(contract, LimitOrder("SELL", 60, 105.0, orderRef="t1:tp2"))
    doomed = LimitOrder("BUY", 50, 90.0, orderRef="t1:doomed")
    ib.placeOrder(contract, doomed)
    advance(server, ib, bars=1)
    ib.cancelOrder(doomed)
    barrier(ib)


def test_open_and_completed_orders_after_a_reconnect() -> None:
    with gateway(DAY) as server:
        with client(server, client_id=5) as ib:
            _morning(server, ib)
            tp2_id = next(t.order.orderId for t in ib.openTrades() if t.order.orderRef == "t1:tp2")
            perm_ids = {t.order.orderRef: t.order.permId for t in ib.trades()}
        server.advance_bars(5)  # nobody connected: t1:tp1 fills at 101
        with client(server, client_id=5) as ib:
            (working,) = ib.openTrades()
            assert (working.order.orderRef, working.order.orderId, working.order.permId) == (
                "t1:tp2", tp2_id, perm_ids["t1:tp2"])
            assert working.orderStatus.status == "Submitted"
            completed = ib.reqCompletedOrders(apiOnly=False)
            seen = {t.order.orderRef: (t.order.orderId, t.order.permId, t.orderStatus.status,
                                       t.order.filledQuantity) for t in completed}
            assert seen == {
                "t1:entry": (0, perm_ids["t1:entry"], "Filled", 100),
                "t1:tp1": (0, perm_ids["t1:tp1"], "Filled", 40),
                "t1:doomed": (0, perm_ids["t1:doomed"], "Cancelled", 0),
            }


def test_executions_after_a_reconnect_with_the_time_filter() -> None:
    with gateway(DAY) as server:
        with client(server, client_id=5) as ib:
            _morning(server, ib)
        server.advance_bars(5)
        with client(server, client_id=5) as ib:
            # ib_async refills its fills at connect from reqExecutions (no execDetailsEvent)
            assert sorted((f.execution.orderRef, f.execution.shares) for f in ib.fills()) == [
                ("t1:entry", 100), ("t1:tp1", 40)]
            assert all(f.commissionReport.commission > 0 for f in ib.fills())
            since = dt.datetime.fromtimestamp(T0 + 120, NY).strftime("%Y%m%d %H:%M:%S America/New_York")
            later = ib.reqExecutions(ExecutionFilter(time=since))
            assert [(f.execution.orderRef, f.execution.side) for f in later] == [("t1:tp1", "SLD")]
            bought = ib.reqExecutions(ExecutionFilter(side="BUY"))
            assert [f.execution.orderRef for f in bought] == ["t1:entry"]
            assert ib.reqExecutions(ExecutionFilter(clientId=9)) == []


def test_a_dropped_socket_then_a_reconnect_finds_the_orders_working() -> None:
    with gateway(DAY) as server:
        ib = IB()
        ib.client.MaxRequests = 0
        ib.connect(server.host, server.port, clientId=2, timeout=5)
        dropped: list[bool] = []
        ib.disconnectedEvent += lambda: dropped.append(True)
        trade = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 10, 95.0, orderRef="t2:entry"))
        barrier(ib)
        server.drop_connections()  # the Gateway went away; the exchange keeps the order
        with pytest.raises(ConnectionError):  # what a bot waiting on ib_async sees
            ib.waitOnUpdate(timeout=5)
        assert dropped == [True]
        assert not ib.isConnected()
        ib.disconnect()
        with client(server, client_id=2) as again:
            (working,) = again.openTrades()
            assert (working.order.orderRef, working.order.permId) == ("t2:entry", trade.order.permId)


def test_the_disconnect_fault_is_1100_then_1102() -> None:
    config = SimConfig(outage_seconds=60)
    with gateway(DAY, faults=["disconnect:120"], config=config) as server, client(server) as ib:
        codes: list[int] = []
        ib.errorEvent += lambda req_id, code, message, contract: codes.append(code)
        advance(server, ib, bars=2)  # 09:31:45
        assert codes == []
        advance(server, ib, points=1)  # 09:32:00: the outage begins
        assert codes == [1100]
        rejected = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 10, 95.0))  # while the exchange is away
        barrier(ib)
        assert rejected.orderStatus.status == "Cancelled"
        assert codes == [1100, 504]
        advance(server, ib, bars=1)  # 09:32:45
        assert codes == [1100, 504]
        advance(server, ib, points=1)  # 09:33:00: restored
        assert codes == [1100, 504, 1102]


def test_a_client_connecting_during_the_outage_hears_1100_at_once() -> None:
    config = SimConfig(outage_seconds=60)
    with gateway(DAY, faults=["disconnect:0"], config=config) as server:
        ib = IB()
        ib.client.MaxRequests = 0
        wire = WireLog(ib)
        ib.connect(server.host, server.port, clientId=1, timeout=5)
        try:
            assert ["4", "2", "-1", "1100"] in [m[:4] for m in wire.messages]
        finally:
            ib.disconnect()


def test_the_disconnect_fault_can_drop_the_socket_instead() -> None:
    config = SimConfig(outage_seconds=60)
    with gateway(DAY, faults=["disconnect:60"], config=config, outage="drop") as server:
        ib = IB()
        ib.client.MaxRequests = 0
        ib.connect(server.host, server.port, clientId=1, timeout=5)
        dropped: list[bool] = []
        ib.disconnectedEvent += lambda: dropped.append(True)
        barrier(ib)
        server.advance_bars(2)  # the outage begins at 09:31:00
        with pytest.raises(ConnectionError):
            ib.waitOnUpdate(timeout=5)
        assert dropped == [True]
        ib.disconnect()
        assert server.clients() == []
