"""The simulated exchange's faults, as a real ib_async client meets them through the gateway: the
incidents behind this project (a status saying Filled with no execution, children sized to their
parent) reproduced on the wire, plus duplicated executions and reordered acknowledgements."""

from __future__ import annotations

from ib_async import LimitOrder, MarketOrder, StopOrder
from tws_helpers import WireLog, advance, barrier, client, gateway, ramp, stock

FLAT = ramp(*[100.0] * 10)


def test_status_without_fill_says_filled_with_no_execution_behind_it() -> None:
    with gateway(FLAT, faults=["status-without-fill"]) as server, client(server) as ib:
        filled: list[float] = []
        trade = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 100, 95.0))
        trade.filledEvent += lambda t: filled.append(t.orderStatus.filled)
        barrier(ib)
        assert trade.orderStatus.status == "Filled"  # ib_async believes the status...
        assert filled == [100.0]
        assert trade.fills == []  # ...while not one share has executed
        assert ib.positions() == []


def test_duplicate_executions_arrive_twice_and_ib_async_keeps_one() -> None:
    with gateway(FLAT, faults=["duplicate-executions"]) as server, client(server) as ib:
        wire = WireLog(ib)
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, points=1)
        exec_ids = [m[14] for m in wire.of(11)]
        assert len(exec_ids) == 2
        assert exec_ids[0] == exec_ids[1]
        assert len(trade.fills) == 1


def test_parent_sized_children_is_the_ladder_sized_100_100() -> None:
    with gateway(FLAT, faults=["parent-sized-children"]) as server, client(server) as ib:
        parent = LimitOrder("BUY", 100, 100.5, orderId=ib.client.getReqId(), transmit=False)
        take = LimitOrder("SELL", 70, 101.0, orderId=ib.client.getReqId(), parentId=parent.orderId, transmit=False)
        stop = StopOrder("SELL", 70, 99.0, orderId=ib.client.getReqId(), parentId=parent.orderId, transmit=True)
        trades = [ib.placeOrder(stock("AAPL"), order) for order in (parent, take, stop)]
        barrier(ib)
        # the broker acknowledged the 70-share children with the parent's 100 (the JDZG incident)
        assert [t.order.totalQuantity for t in trades] == [100, 100, 100]


def test_reorder_holds_the_acknowledgement_until_after_the_first_execution() -> None:
    with gateway(FLAT, faults=["reorder"]) as server, client(server) as ib:
        wire = WireLog(ib)
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        barrier(ib)
        assert wire.names(trade.order.orderId) == []
        advance(server, ib, points=1)
        story = wire.names(trade.order.orderId)
        assert story.index("execDetails") < story.index("openOrder")
        assert trade.fills[0].execution.shares == 100


def test_drop_ack_never_acknowledges_but_the_order_works() -> None:
    with gateway(FLAT, faults=["drop-ack"]) as server, client(server) as ib:
        wire = WireLog(ib)
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, points=1)
        story = wire.names(trade.order.orderId)
        assert "openOrder" not in story
        assert story.count("execDetails") == 1
