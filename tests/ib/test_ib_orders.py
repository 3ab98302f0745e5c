"""What the adapter writes for each command: order fields, brackets, contracts, and what it refuses."""

from __future__ import annotations

import pytest
from conftest import Connected
from ib_steps import kinds, limit, place, stop

from supervisor.port import (
    Action,
    CancelOrder,
    CancelRejected,
    Instrument,
    ModifyOrder,
    OrderRejected,
    OrderSent,
    OrderType,
    PlaceOrder,
    ReplaceRejected,
    SecType,
    TimeInForce,
)

# placeOrder on the wire (server version 176): f1 orderId, f2..13 contract, f16 action, f17 qty,
# f18 type, f19 lmt, f20 aux, f21 tif, f22 ocaGroup, f23 account, f26 orderRef, f27 transmit, f28 parentId
F_ID, F_SYMBOL, F_SECTYPE, F_MONTH, F_MULT, F_EXCH, F_CCY = 1, 3, 4, 5, 8, 9, 11
F_ACTION, F_QTY, F_TYPE, F_LMT, F_AUX, F_TIF, F_OCA, F_ACCOUNT, F_REF, F_TRANSMIT, F_PARENT = (
    16, 17, 18, 19, 20, 21, 22, 23, 26, 27, 28)


def wire(rig: Connected) -> list[list[str]]:
    return [f for f in rig.fake.sent if f[0] == "3"]


def test_an_order_carries_ref_account_tif_outside_rth_and_oca(rig: Connected) -> None:
    place(rig, stop("t1:sl2", qty=30, price=99.5, oca_group="t1:oca2", oca_type=3, tif=TimeInForce.GTC,
                    outside_rth=True, account="DU1234567"))
    order = rig.fake.placed[-1].order
    assert (order.orderRef, order.action, order.totalQuantity, order.orderType, order.auxPrice) == (
        "t1:sl2", "SELL", 30, "STP", 99.5)
    assert (order.account, order.tif, order.outsideRth, order.ocaGroup, order.ocaType) == (
        "DU1234567", "GTC", True, "t1:oca2", 3)
    (fields,) = wire(rig)
    assert [fields[i] for i in (F_ACTION, F_QTY, F_TYPE, F_AUX, F_TIF, F_OCA, F_ACCOUNT, F_REF, F_TRANSMIT)] == [
        "SELL", "30.0", "STP", "99.5", "GTC", "t1:oca2", "DU1234567", "t1:sl2", "1"]


def test_a_bracket_batch_holds_the_parent_and_transmits_with_its_last_child(rig: Connected) -> None:
    rig.broker.execute_all([
        limit("t1:entry"),
        PlaceOrder("t1:tp1", "AAPL", Action.SELL, OrderType.LIMIT, 100, limit_price=110.0, oca_group="t1:oca1",
                   oca_type=3, parent_ref="t1:entry"),
        stop("t1:sl1", oca_group="t1:oca1", oca_type=3, parent_ref="t1:entry"),
    ])
    parent_id = rig.fake.placed[0].order_id
    sent = wire(rig)
    assert [(f[F_REF], f[F_TRANSMIT], f[F_PARENT]) for f in sent] == [
        ("t1:entry", "0", "0"), ("t1:tp1", "0", str(parent_id)), ("t1:sl1", "1", str(parent_id))]
    assert kinds(rig.broker.poll()) == ["OrderSent"] * 3


def test_a_parent_alone_is_transmitted_and_a_later_child_attaches_to_it(rig: Connected) -> None:
    parent_id = place(rig, limit("t1:entry"))
    place(rig, stop("t1:sl1", parent_ref="t1:entry"))
    assert [(f[F_TRANSMIT], f[F_PARENT]) for f in wire(rig)] == [("1", "0"), ("1", str(parent_id))]


def test_a_child_whose_parent_is_unknown_is_rejected_and_the_bracket_still_goes(rig: Connected) -> None:
    rig.broker.execute_all([
        limit("t1:entry"), stop("t1:sl1", parent_ref="t1:entry"), stop("t1:sl9", parent_ref="t9:entry")])
    assert [(f[F_REF], f[F_TRANSMIT]) for f in wire(rig)] == [("t1:entry", "0"), ("t1:sl1", "1")]
    events = rig.broker.poll()
    assert kinds(events) == ["OrderSent", "OrderSent", "OrderRejected"]
    assert (events[2].order_ref, events[2].code) == ("t1:sl9", 135)  # type: ignore[union-attr]


def test_a_future_goes_with_its_exchange_month_and_multiplier(rig: Connected) -> None:
    es = Instrument("ES", SecType.FUTURE, exchange="CME", multiplier=50.0, tick_size=0.25, contract_month="202606")
    place(rig, PlaceOrder("f1:entry", "ES", Action.BUY, OrderType.MARKET, 1, instrument=es))
    (fields,) = wire(rig)
    assert [fields[i] for i in (F_SYMBOL, F_SECTYPE, F_MONTH, F_MULT, F_EXCH, F_CCY, F_TYPE, F_LMT)] == [
        "ES", "FUT", "202606", "50", "CME", "USD", "MKT", ""]


def test_a_stock_goes_smart_in_usd_by_default(rig: Connected) -> None:
    place(rig)
    (fields,) = wire(rig)
    assert [fields[i] for i in (F_SYMBOL, F_SECTYPE, F_EXCH, F_CCY, F_LMT)] == ["AAPL", "STK", "SMART", "USD", "100.0"]


def test_a_modify_resends_the_whole_order_under_its_id(rig: Connected) -> None:
    order_id = place(rig, stop("t1:sl1", oca_group="t1:oca1", oca_type=3, outside_rth=True))
    rig.tws.ack(order_id)
    rig.broker.execute(ModifyOrder("t1:sl1", order_id, quantity=60, stop_price=100.5))
    first, again = wire(rig)
    assert again[F_ID] == first[F_ID] == str(order_id)
    changed = {i for i, (a, b) in enumerate(zip(first, again, strict=True)) if a != b}
    assert changed == {F_QTY, F_AUX}
    assert (again[F_QTY], again[F_AUX]) == ("60.0", "100.5")


def test_a_ref_placed_twice_is_refused_before_anything_is_sent(rig: Connected) -> None:
    place(rig, limit("t1:entry"))
    with pytest.raises(ValueError, match="'t1:entry' was already placed"):
        rig.broker.execute_all([limit("t1:other"), limit("t1:entry")])
    assert len(wire(rig)) == 1


def test_commands_for_unknown_refs_are_refused_locally(rig: Connected) -> None:
    rig.broker.execute(ModifyOrder("t9:sl1", 44, stop_price=1.0))
    rig.broker.execute(CancelOrder("t9:sl1", 44))
    assert [type(e) for e in rig.broker.poll()] == [ReplaceRejected, CancelRejected]
    assert rig.fake.sent == []


def test_a_modify_of_a_finished_order_is_refused_locally(rig: Connected) -> None:
    order_id = place(rig, stop())
    rig.tws.status(order_id, "Filled", filled=100)
    rig.broker.poll()
    rig.broker.execute(ModifyOrder("t1:sl1", order_id, stop_price=96.0))
    (refused,) = rig.broker.poll()
    assert isinstance(refused, ReplaceRejected)
    assert refused.code == 104
    assert len(wire(rig)) == 1


def test_a_cancel_is_written_with_the_order_id(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.execute(CancelOrder("t1:entry", order_id))
    assert rig.fake.cancelled == [order_id]


def test_while_disconnected_nothing_is_sent_and_each_command_is_refused(rig: Connected) -> None:
    order_id = place(rig)
    rig.fake.drop()
    rig.broker.poll()
    rig.broker.execute_all([limit("t2:entry"), ModifyOrder("t1:entry", order_id, limit_price=99.0),
                            CancelOrder("t1:entry", order_id)])
    events = rig.broker.poll()
    assert [(type(e), e.code) for e in events] == [  # type: ignore[union-attr]
        (OrderRejected, 504), (ReplaceRejected, 504), (CancelRejected, 504)]
    assert len(wire(rig)) == 1


def test_a_fresh_id_skips_ids_ib_async_still_holds(rig: Connected) -> None:
    rig.fake.updateReqId(5)
    rig.tws.ib.wrapper.trades[(7, 5)] = rig.ib.wrapper.trades.get((7, 5)) or _done_trade()
    place(rig)
    assert rig.broker.poll() == [OrderSent("t1:entry", 6, rig.clock.now)]


def _done_trade():  # type: ignore[no-untyped-def]
    from ib_async import Contract, Order, OrderStatus, Trade

    return Trade(Contract(), Order(orderId=5, clientId=7), OrderStatus(orderId=5, status="Filled"), [], [])


def test_a_batch_is_written_before_ib_async_books_it(rig: Connected) -> None:
    written_when_booked: list[int] = []
    rig.ib.newOrderEvent += lambda trade: written_when_booked.append(len(wire(rig)))
    rig.broker.execute_all([limit("t1:entry"), stop("t1:tp1", price=110.0, parent_ref="t1:entry"),
                            stop("t1:sl1", parent_ref="t1:entry")])
    assert written_when_booked == [3, 3, 3]  # every order's bytes went out before any bookkeeping
    trades = {t.order.orderRef: t for t in rig.ib.trades()}
    assert {ref: t.orderStatus.status for ref, t in trades.items()} == {
        "t1:entry": "PendingSubmit", "t1:tp1": "PendingSubmit", "t1:sl1": "PendingSubmit"}
    assert trades["t1:sl1"].order.clientId == 7
