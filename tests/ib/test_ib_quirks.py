"""The IB and ib_async quirks the adapter tames, one test each, in the message orders IB really uses."""

from __future__ import annotations

import asyncio

from conftest import Connected
from ib_fakes import CLIENT_ID
from ib_steps import kinds, limit, place, stop

from supervisor.port import (
    CommissionReported,
    ExecutionReported,
    ModifyOrder,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    StatusObserved,
)


def test_filled_status_before_its_executions_moves_nothing(rig: Connected) -> None:
    order_id = place(rig)
    rig.tws.ack(order_id)
    rig.broker.poll()
    rig.tws.status(order_id, "Filled", filled=100, avg=100.0)  # IB: usually before execDetails
    assert kinds(rig.broker.poll()) == ["StatusObserved"]  # evidence only: no execution comes of it
    rig.tws.execution(order_id, 60, 100.0, cum=60)
    rig.tws.execution(order_id, 40, 100.0, cum=100)
    executions = rig.broker.poll()
    assert [(type(e).__name__, getattr(e, "qty", None)) for e in executions] == [
        ("ExecutionReported", 60), ("ExecutionReported", 40)]


def test_repeated_statuses_are_each_observed_and_end_the_order_once(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    for _ in range(3):
        rig.tws.status(order_id, "Cancelled")
    events = rig.broker.poll()
    assert kinds(events) == ["StatusObserved", "OrderCancelled", "StatusObserved", "StatusObserved"]


def test_a_reject_is_status_cancelled_then_error_201(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.tws.status(order_id, "Cancelled")
    rig.tws.error(order_id, 201, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED")
    events = rig.broker.poll()
    assert kinds(events) == ["StatusObserved", "OrderCancelled", "OrderRejected"]
    assert events[2] == OrderRejected("t1:entry", order_id, 201, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED",
                                      rig.clock.now)


def test_a_fill_after_the_cancel_is_passed_on_while_the_status_stays_cancelled(rig: Connected) -> None:
    order_id = place(rig, stop())
    rig.tws.ack(order_id)
    rig.broker.poll()
    rig.tws.status(order_id, "Cancelled")
    rig.tws.error(order_id, 202, "Order Canceled - reason:")
    exec_id = rig.tws.execution(order_id, 100, 95.0)
    rig.tws.status(order_id, "Cancelled", filled=100, remaining=0, avg=95.0)
    events = rig.broker.poll()
    assert kinds(events) == ["StatusObserved", "OrderCancelled", "ExecutionReported", "StatusObserved"]
    assert isinstance(events[2], ExecutionReported)
    assert (events[2].exec_id, events[2].qty) == (exec_id, 100)


def test_a_correction_is_one_more_execution_with_its_own_id_never_a_sum(rig: Connected) -> None:
    order_id = place(rig)
    rig.tws.execution(order_id, 100, 100.00, exec_id="0000e0d5.65f1a2b3.01.01")
    rig.tws.execution(order_id, 100, 100.01, exec_id="0000e0d5.65f1a2b3.01.02")  # the correction
    reported = [e for e in rig.broker.poll() if isinstance(e, ExecutionReported)]
    assert [(e.exec_id, e.qty, e.price) for e in reported] == [
        ("0000e0d5.65f1a2b3.01.01", 100, 100.00), ("0000e0d5.65f1a2b3.01.02", 100, 100.01)]
    # ib_async itself counts both: 200 shares "filled" of a 100-share order
    (trade,) = [t for t in rig.ib.trades() if t.order.orderRef == "t1:entry"]
    assert trade.filled() == 200


def test_a_commission_before_its_execution_is_passed_on(rig: Connected) -> None:
    seen_by_ib_async: list[object] = []
    rig.ib.commissionReportEvent += lambda *args: seen_by_ib_async.append(args)
    order_id = place(rig)
    rig.broker.poll()
    rig.tws.commission("0000e0d5.65000009.01.01", 0.35)  # the execution is not known yet
    rig.tws.execution(order_id, 100, 100.0, exec_id="0000e0d5.65000009.01.01")
    assert kinds(rig.broker.poll()) == ["CommissionReported", "ExecutionReported"]
    assert seen_by_ib_async == []  # ib_async dropped it


def test_a_late_commission_is_passed_on(rig: Connected) -> None:
    order_id = place(rig)
    exec_id = rig.tws.execution(order_id, 100, 100.0)
    rig.tws.status(order_id, "Filled", filled=100)
    rig.clock.advance(30)
    rig.tws.commission(exec_id, 1.0)
    assert rig.broker.poll()[-1] == CommissionReported(exec_id, 1.0, "USD", rig.clock.now)


def test_ib_async_overwrites_our_order_object_but_a_modify_sends_our_quantity(rig: Connected) -> None:
    order_id = place(rig, stop("t1:sl1", qty=70))
    rig.tws.open_order(order_id, quantity=100)  # the broker sized the child to its parent
    (trade,) = [t for t in rig.ib.trades() if t.order.orderRef == "t1:sl1"]
    assert trade.order.totalQuantity == 100  # the very Order object the adapter handed over
    rig.broker.execute(ModifyOrder("t1:sl1", order_id, stop_price=96.0))
    resent = rig.fake.placed[-1]
    assert (resent.order_id, resent.order.totalQuantity, resent.order.auxPrice) == (order_id, 70, 96.0)


def test_after_a_reconnect_the_startup_executions_say_nothing_and_truth_has_them(
        rig: Connected, sync_loop: asyncio.AbstractEventLoop) -> None:
    order_id = place(rig)
    rig.tws.ack(order_id)
    rig.broker.poll()
    rig.fake.drop()  # ib_async clears its fills and trades
    assert rig.ib.fills() == []
    filled_meanwhile = rig.tws.placed(order_id)
    rig.fake.executions.append((filled_meanwhile.contract, _execution(rig, order_id)))
    rig.fake.come_up()

    async def startup() -> None:  # what connectAsync asks after every connect
        await rig.ib.reqExecutionsAsync()
        rig.ib.connectedEvent.emit()

    sync_loop.run_until_complete(startup())
    assert len(rig.ib.fills()) == 1  # refilled without execDetailsEvent
    assert kinds(rig.broker.poll()) == ["ConnectionLost", "ConnectionRestored"]  # no ExecutionReported
    truth = rig.broker.query()
    assert [(e.order_ref, e.exec_id, e.qty) for e in truth.executions] == [("t1:entry", "0000e0d5.66000001.01.01", 100)]


def _execution(rig: Connected, order_id: int):  # type: ignore[no-untyped-def]
    from ib_async import Execution

    placed = rig.tws.placed(order_id)
    return Execution(execId="0000e0d5.66000001.01.01", acctNumber="DU1234567", side="BOT", shares=100, price=100.0,
                     permId=rig.tws.perm(order_id), clientId=CLIENT_ID, orderId=order_id, cumQty=100,
                     orderRef=placed.order.orderRef)


def test_finished_orders_come_back_with_order_id_0_and_are_matched_by_perm_id(rig: Connected) -> None:
    order_id = place(rig)
    rig.tws.ack(order_id)
    rig.broker.poll()
    rig.fake.drop()
    rig.fake.come_up()
    rig.ib.connectedEvent.emit()
    rig.broker.poll()
    rig.tws.open_order(order_id, wire_id=0, status="Filled")  # IB: orderId 0, the same permId
    rig.ib.wrapper.orderStatus(0, "Filled", 100, 0, 100.0, rig.tws.perm(order_id), 0, 100.0, CLIENT_ID, "", 0.0)
    events = rig.broker.poll()
    assert events == [StatusObserved("t1:entry", order_id, "Filled", 100, 0, 100.0, rig.clock.now)]


def test_order_ids_reused_after_a_gateway_restart_never_mix_two_orders(rig: Connected) -> None:
    first = place(rig, limit("t1:entry"))
    rig.tws.ack(first)
    rig.tws.status(first, "Filled", filled=100)
    old_perm = rig.tws.perm(first)
    rig.fake.drop()
    rig.fake.come_up(next_valid_id=first)  # nextValidId went back: the same id is handed out again
    rig.ib.connectedEvent.emit()
    rig.broker.poll()
    second = place(rig, PlaceOrder("t2:entry", "AAPL", limit().action, limit().order_type, 5, limit_price=99.0))
    assert second == first
    rig.tws.perm_ids[second] = old_perm + 1000  # IB gives the new order its own permId
    rig.tws.ack(second)
    rig.ib.wrapper.orderStatus(0, "Filled", 100, 0, 100.0, old_perm, 0, 100.0, CLIENT_ID, "", 0.0)
    events = rig.broker.poll()
    assert [(type(e).__name__, e.order_ref) for e in events] == [  # type: ignore[union-attr]
        ("OrderSent", "t2:entry"), ("OrderAccepted", "t2:entry"), ("StatusObserved", "t2:entry"),
        ("StatusObserved", "t1:entry")]


def test_an_id_still_held_by_a_working_order_is_never_placed_again(rig: Connected) -> None:
    first = place(rig, limit("t1:entry"))
    rig.tws.ack(first)  # still working at IB
    rig.fake.drop()
    rig.fake.come_up(next_valid_id=first)
    rig.tws.open_order(first)  # the startup openOrders bring it back under its id
    rig.ib.connectedEvent.emit()
    second = place(rig, limit("t2:entry"))
    assert second != first  # reusing it would have modified the working order


def test_a_modified_attached_child_keeps_its_parent_while_the_parent_works(rig: Connected) -> None:
    entry, sl = limit("t1:entry"), stop("t1:sl1", parent_ref="t1:entry")
    rig.broker.execute_all([entry, stop("t1:tp1", price=110.0, parent_ref="t1:entry"), sl])
    parent_id = rig.fake.placed[0].order_id
    child_id = rig.fake.placed[2].order_id
    rig.broker.execute(ModifyOrder("t1:sl1", child_id, stop_price=96.0))
    resent = rig.fake.placed[-1].order
    assert (resent.orderId, resent.parentId, resent.transmit, resent.auxPrice) == (child_id, parent_id, True, 96.0)
    rig.tws.status(parent_id, "Filled", filled=100)  # the parent filled: the child stands alone
    rig.tws.open_order(child_id, aux=96.0)
    rig.broker.execute(ModifyOrder("t1:sl1", child_id, stop_price=97.0))
    resent = rig.fake.placed[-1].order
    assert (resent.parentId, resent.transmit, resent.auxPrice, resent.ocaGroup) == (0, True, 97.0, "")


def test_a_cancel_refused_is_not_a_cancel(rig: Connected) -> None:
    # ib_async marks its trade Cancelled on error 161; IB still works (or just filled) the order
    from supervisor.port import CancelOrder

    order_id = place(rig, stop())
    rig.tws.ack(order_id)
    rig.broker.execute(CancelOrder("t1:sl1", order_id))
    rig.broker.poll()
    rig.tws.error(order_id, 161, "Cancel attempted when order is not in a cancellable state")
    events = rig.broker.poll()
    assert kinds(events) == ["CancelRejected"]
    assert not any(isinstance(e, OrderCancelled) for e in events)
