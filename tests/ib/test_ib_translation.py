"""Every row of the translation table (broker/ib/translate.py), driven through ib_async's own wrapper
callbacks in the orders IB sends them, checked as the port events that come out."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Connected
from ib_fakes import CLIENT_ID, PAPER
from ib_steps import SYMBOL, kinds, limit, place, stop

from broker.ib.translate import CONNECTIVITY, ERROR_TABLE, Out
from supervisor.port import (
    Action,
    BrokerNotice,
    CancelOrder,
    CancelRejected,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)


def test_place_says_order_sent_with_the_id_and_the_clock_time(rig: Connected) -> None:
    rig.clock.advance(1.5)
    order_id = place(rig)
    assert rig.broker.poll() == [OrderSent("t1:entry", order_id, rig.clock.now)]
    assert [f[0] for f in rig.fake.sent] == ["3"]  # the placeOrder message went to the wire


def test_first_open_order_is_accepted_with_the_brokers_figures_and_perm_id(rig: Connected) -> None:
    order_id = place(rig, limit(qty=70, price=101.25))
    rig.broker.poll()
    rig.tws.open_order(order_id)
    rig.tws.open_order(order_id)  # IB repeats openOrder on every change: nothing more
    assert rig.broker.poll() == [
        OrderAccepted("t1:entry", order_id, 70, 101.25, None, rig.clock.now, rig.tws.perm(order_id)),
    ]


def test_accepted_carries_the_brokers_quantity_not_ours(rig: Connected) -> None:
    # the 70/30 ladder the broker sized 100/100: the child's openOrder says 100
    order_id = place(rig, stop("t1:sl1", qty=70))
    rig.broker.poll()
    rig.tws.open_order(order_id, quantity=100)
    (accepted,) = rig.broker.poll()
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.quantity, accepted.stop_price, accepted.limit_price) == (100, 95.0, None)


def test_every_order_status_is_observed_and_nothing_else(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.tws.status(order_id, "PreSubmitted")
    rig.tws.status(order_id, "Submitted")
    rig.tws.status(order_id, "Submitted", filled=40, avg=100.0)
    rig.tws.status(order_id, "Filled", filled=100, avg=100.0)
    events = rig.broker.poll()
    assert kinds(events) == ["StatusObserved"] * 4
    assert [(e.status, e.filled, e.remaining) for e in events if isinstance(e, StatusObserved)] == [
        ("PreSubmitted", 0, 100), ("Submitted", 0, 100), ("Submitted", 40, 60), ("Filled", 100, 0)]


@pytest.mark.parametrize("status", ["Cancelled", "ApiCancelled"])
def test_a_terminal_status_is_observed_then_cancelled(rig: Connected, status: str) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.tws.status(order_id, status)
    assert kinds(rig.broker.poll()) == ["StatusObserved", "OrderCancelled"]


def test_error_202_cancels_once(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.tws.error(order_id, 202, "Order Canceled - reason:")
    rig.tws.status(order_id, "Cancelled")
    events = rig.broker.poll()
    assert kinds(events) == ["OrderCancelled", "StatusObserved"]
    assert events[0] == OrderCancelled("t1:entry", order_id, "Order Canceled - reason:", rig.clock.now)


def test_a_live_execution_is_reported_with_every_field(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.clock.advance(2.0)
    exec_id = rig.tws.execution(order_id, 40, 100.02)
    assert rig.broker.poll() == [ExecutionReported(
        "t1:entry", order_id, exec_id, Action.BUY, 40, 100.02, rig.clock.now, SYMBOL, rig.tws.perm(order_id), PAPER,
    )]


def test_a_commission_report_is_passed_on_by_exec_id(rig: Connected) -> None:
    order_id = place(rig)
    exec_id = rig.tws.execution(order_id, 100, 100.0)
    rig.broker.poll()
    rig.tws.commission(exec_id, 1.25)
    assert rig.broker.poll() == [CommissionReported(exec_id, 1.25, "USD", rig.clock.now)]


def _context(rig: Connected, context: str) -> int:
    order_id = place(rig, stop())
    rig.tws.ack(order_id)
    if context == "modify":
        rig.broker.execute(ModifyOrder("t1:sl1", order_id, stop_price=96.0))
    elif context == "cancel":
        rig.broker.execute(CancelOrder("t1:sl1", order_id))
    rig.broker.poll()
    return order_id


_EVENT_OF = {Out.REJECTED: OrderRejected, Out.CANCELLED: OrderCancelled, Out.CANCEL_REFUSED: CancelRejected,
             Out.REPLACE_REFUSED: ReplaceRejected, Out.NOTICE: BrokerNotice,
             Out.REPLACE_REFUSED_UNLESS_ENDED: ReplaceRejected}
_ROWS = [(code, context, outcome) for code, row in sorted(ERROR_TABLE.items())
         for context, outcome in zip(("place", "modify", "cancel"), row, strict=True)]


@pytest.mark.parametrize(("code", "context", "outcome"), _ROWS, ids=[f"{c}-{x}" for c, x, _ in _ROWS])
def test_each_error_code_by_the_request_in_flight(rig: Connected, code: int, context: str, outcome: Out) -> None:
    order_id = _context(rig, context)
    rig.tws.error(order_id, code, f"message {code}")
    (event,) = rig.broker.poll()
    assert type(event) is _EVENT_OF[outcome]
    if isinstance(event, BrokerNotice):
        assert (event.code, event.message) == (code, f"t1:sl1: message {code}")
    else:
        assert (event.order_ref, event.order_id) == ("t1:sl1", order_id)
        if not isinstance(event, OrderCancelled):
            assert (event.code, event.reason) == (code, f"message {code}")


def test_201_after_a_modify_rejects_the_order_when_ib_cancelled_it_meanwhile(rig: Connected) -> None:
    order_id = _context(rig, "modify")
    rig.tws.status(order_id, "Cancelled")
    rig.tws.error(order_id, 201, "Order rejected - reason: margin")
    assert kinds(rig.broker.poll()) == ["StatusObserved", "OrderCancelled", "OrderRejected"]


def test_a_modify_is_accepted_by_the_open_order_that_shows_it(rig: Connected) -> None:
    order_id = _context(rig, "modify")
    rig.tws.open_order(order_id, aux=95.0)  # an openOrder from before the modify took: the old stop
    assert rig.broker.poll() == []
    rig.tws.open_order(order_id, aux=96.0)
    assert rig.broker.poll() == [ReplaceAccepted("t1:sl1", order_id, 100, None, 96.0, rig.clock.now)]


def test_an_unknown_code_on_our_order_is_a_notice_naming_the_ref(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.tws.error(order_id, 2109, "Order Event Warning: Attribute 'Outside Regular Trading Hours' is ignored")
    (notice,) = rig.broker.poll()
    assert isinstance(notice, BrokerNotice)
    assert (notice.code, notice.message[:10]) == (2109, "t1:entry: ")


@pytest.mark.parametrize("code", [2104, 2106, 2158, 2103, 399, 10167])
def test_informational_codes_without_an_order_are_notices(rig: Connected, code: int) -> None:
    rig.tws.error(-1, code, "farm status")
    assert rig.broker.poll() == [BrokerNotice(code, "farm status", rig.clock.now)]


def test_connectivity_codes(rig: Connected) -> None:
    assert set(CONNECTIVITY) == {1100, 1101, 1102, 2110, 1300, 326, 502, 504}

    async def scenario() -> None:  # ib_async answers 1102 by asking for the account summary (a task)
        rig.tws.error(-1, 1100, "Connectivity between IB and TWS has been lost")
        rig.tws.error(-1, 1100, "Connectivity between IB and TWS has been lost")  # said once
        rig.tws.error(-1, 2110, "Connectivity between TWS and server is broken")
        rig.tws.error(-1, 1102, "Connectivity restored - data maintained")
        rig.tws.error(-1, 1100, "lost again")
        rig.tws.error(-1, 1101, "Connectivity restored - data lost")

    asyncio.run(scenario())
    now = rig.clock.now
    assert rig.broker.poll() == [
        ConnectionLost(now), BrokerNotice(2110, "Connectivity between TWS and server is broken", now),
        ConnectionRestored(now), ConnectionLost(now), ConnectionRestored(now),
    ]


def test_socket_loss_and_return(rig: Connected) -> None:
    rig.fake.drop()
    assert rig.broker.poll() == [ConnectionLost(rig.clock.now)]
    assert not rig.broker.connected
    rig.fake.come_up()
    rig.ib.connectedEvent.emit()  # what connectAsync does once synchronized
    assert rig.broker.poll() == [ConnectionRestored(rig.clock.now)]


def test_messages_for_orders_not_ours_say_nothing(rig: Connected) -> None:
    rig.ib.wrapper.orderStatus(4242, "Submitted", 0, 10, 0.0, 77, 0, 0.0, CLIENT_ID + 1, "", 0.0)
    assert rig.broker.poll() == []


def test_an_execution_of_another_clients_order_never_carries_its_order_id(rig: Connected) -> None:
    from ib_async import Contract, Execution

    rig.ib.wrapper.execDetails(-1, Contract(symbol=SYMBOL, secType="STK"), Execution(
        execId="0000e0d5.67000001.01.01", acctNumber=PAPER, side="SLD", shares=10, price=100.0, permId=31337,
        clientId=CLIENT_ID + 1, orderId=1, orderRef="other:tp1"))
    (reported,) = rig.broker.poll()
    assert isinstance(reported, ExecutionReported)
    assert (reported.order_ref, reported.order_id, reported.action) == ("other:tp1", None, Action.SELL)


def test_a_manual_trade_is_left_to_reconciliation(rig: Connected) -> None:
    from ib_async import Contract, Execution

    rig.ib.wrapper.execDetails(-1, Contract(symbol=SYMBOL, secType="STK"), Execution(
        execId="0000e0d5.67000002.01.01", acctNumber=PAPER, side="BOT", shares=10, price=100.0, permId=31338,
        clientId=0, orderId=0, orderRef=""))
    rig.tws.commission("0000e0d5.67000002.01.01", 1.0)
    assert rig.broker.poll() == []
