"""Orders through a real `ib_async.IB()`: any symbol qualified, limits filling in pieces, attached
brackets held until the parent fills, OCA pairs reducing their sibling, modify and cancel, and the
message orders IB really sends (status before the execution it explains, reject as Cancelled then
201, commissions after executions). The market moves only when a test steps it."""

from __future__ import annotations

from typing import Any

import pytest
from ib_async import IB, LimitOrder, MarketOrder, Order, Stock, StopLimitOrder, StopOrder, Trade
from tws_helpers import WireLog, advance, barrier, client, gateway, ramp, stock

from broker.sim import SimConfig
from broker.tws.contracts import con_id_of

FLAT = ramp(*[100.0] * 10)
# 100 flat, up to 101.5, down to 99, back to 100 (one close per minute from 09:30)
DAY = ramp(100.0, 100.0, 100.0, 100.5, 101.0, 101.5, 101.0, 100.5, 100.0, 99.5, 99.0, 99.5, 100.0, 100.0, 100.0)


class Story:
    """What a bot sees, in order: status changes, fills, commissions and errors, by order id."""

    def __init__(self, ib: IB) -> None:
        self.items: list[tuple[Any, ...]] = []
        ib.orderStatusEvent += lambda t: self.items.append(
            ("status", t.order.orderId, t.orderStatus.status, t.orderStatus.filled))
        ib.execDetailsEvent += lambda t, f: self.items.append(
            ("exec", t.order.orderId, f.execution.shares, f.execution.cumQty))
        ib.commissionReportEvent += lambda t, f, r: self.items.append(("commission", t.order.orderId, r.commission))
        ib.errorEvent += lambda req_id, code, message, contract: self.items.append(("error", req_id, code))

    def of(self, order_id: int) -> list[tuple[Any, ...]]:
        return [item for item in self.items if item[1] == order_id]


def test_any_stock_symbol_qualifies_with_a_conid_derived_from_it() -> None:
    with gateway(FLAT) as server, client(server) as ib:
        contracts = [Stock(symbol, "SMART", "USD") for symbol in ("AAPL", "ZZXQ", "brk.b")]
        qualified = ib.qualifyContracts(*contracts)
        assert [(c.symbol, c.conId) for c in qualified] == [
            ("AAPL", con_id_of("AAPL")), ("ZZXQ", con_id_of("ZZXQ")), ("BRK.B", con_id_of("BRK.B"))]
        assert con_id_of("AAPL") == con_id_of("aapl")  # the same in every run and every case
        (details,) = ib.reqContractDetails(Stock(conId=con_id_of("AAPL")))  # found again by conId alone
        assert details.contract.symbol == "AAPL"
        assert details.minTick == 0.01


def test_a_non_stock_has_no_security_definition() -> None:
    with gateway(FLAT) as server, client(server) as ib:
        errors: list[int] = []
        ib.errorEvent += lambda req_id, code, message, contract: errors.append(code)
        assert ib.qualifyContracts(Stock("AAPL", "SMART", "EUR")) == [None]
        assert errors == [200]


def test_a_limit_fills_in_pieces_and_every_piece_is_an_execution() -> None:
    with gateway(FLAT, config=SimConfig(max_fill_qty=30)) as server, client(server) as ib:
        trade = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 100, 100.5, orderRef="t1:entry"))
        barrier(ib)
        assert trade.orderStatus.status == "Submitted"
        advance(server, ib, bars=1)  # four price points, one execution of at most 30 shares at each
        assert [(f.execution.shares, f.execution.cumQty, f.execution.price) for f in trade.fills] == [
            (30, 30, 100.0), (30, 60, 100.0), (30, 90, 100.0), (10, 100, 100.0)]
        assert {f.execution.orderRef for f in trade.fills} == {"t1:entry"}
        assert trade.orderStatus.status == "Filled"
        assert trade.orderStatus.filled == 100


def test_status_comes_before_the_execution_it_explains_then_repeats_then_commission() -> None:
    with gateway(FLAT, config=SimConfig(max_fill_qty=60)) as server, client(server) as ib:
        story, wire = Story(ib), WireLog(ib)
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, bars=1)
        oid = trade.order.orderId
        assert wire.names(oid) == [
            "openOrder", "orderStatus Submitted",
            "orderStatus Submitted", "execDetails", "orderStatus Submitted",  # 60 of 100
            "orderStatus Filled", "execDetails", "orderStatus Filled",  # the last 40
        ]
        # what the bot saw: the status with the new filled quantity before each fill, the
        # repeats dropped by ib_async, each commission after its fill
        assert story.of(oid) == [
            ("status", oid, "Submitted", 0.0),
            ("status", oid, "Submitted", 60.0), ("exec", oid, 60.0, 60.0), ("commission", oid, 0.3),
            ("status", oid, "Filled", 100.0), ("exec", oid, 40.0, 100.0), ("commission", oid, 0.2),
        ]


def test_commission_reports_can_come_much_later() -> None:
    with gateway(FLAT, commission_delay=90.0) as server, client(server) as ib:
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, points=1)  # filled at 09:30:00
        (fill,) = trade.fills
        assert fill.commissionReport.commission == 0.0  # not reported yet
        advance(server, ib, bars=1)  # 09:30:45
        assert fill.commissionReport.commission == 0.0
        advance(server, ib, bars=1)  # 09:31:45: the 90 seconds have passed
        assert fill.commissionReport.commission == 0.5


def test_commissions_still_held_back_when_the_data_ends_are_delivered() -> None:
    with gateway(FLAT, commission_delay=3600.0) as server, client(server) as ib:
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, points=1)
        assert trade.fills[0].commissionReport.commission == 0.0
        server.run_to_end()  # ten minutes of data, not an hour: the end releases them
        barrier(ib)
        assert trade.fills[0].commissionReport.commission == 0.5


def _custom_bracket(ib: IB, parent_qty: int, tp_qty: int, sl_qty: int) -> tuple[Trade, Trade, Trade]:
    parent = LimitOrder("BUY", parent_qty, 100.5, orderId=ib.client.getReqId(), transmit=False, orderRef="b:entry")
    take = LimitOrder("SELL", tp_qty, 101.0, orderId=ib.client.getReqId(), parentId=parent.orderId, transmit=False,
                      orderRef="b:tp1")
    stop = StopOrder("SELL", sl_qty, 99.0, orderId=ib.client.getReqId(), parentId=parent.orderId, transmit=True,
                     orderRef="b:sl1")
    contract = stock("AAPL")
    return ib.placeOrder(contract, parent), ib.placeOrder(contract, take), ib.placeOrder(contract, stop)


def test_a_bracket_is_held_until_the_last_child_transmits_and_children_wait_for_the_parent() -> None:
    with gateway(DAY) as server, client(server) as ib:
        wire = WireLog(ib)
        parent = LimitOrder("BUY", 100, 100.5, orderId=ib.client.getReqId(), transmit=False)
        held = ib.placeOrder(stock("AAPL"), parent)
        barrier(ib)
        assert wire.names(held.order.orderId) == []  # transmit=False: TWS keeps it to itself
        take = LimitOrder("SELL", 70, 101.0, orderId=ib.client.getReqId(), parentId=parent.orderId, transmit=True)
        child = ib.placeOrder(stock("AAPL"), take)
        barrier(ib)
        assert held.orderStatus.status == "Submitted"
        assert child.orderStatus.status == "PreSubmitted"  # attached: waits for its parent's fill
        advance(server, ib, points=1)  # the parent's limit is marketable: it fills, the child is released
        assert held.orderStatus.status == "Filled"
        assert child.orderStatus.status == "Submitted"
        assert child.order.totalQuantity == 70  # sized as sent, not as its parent


def test_bracket_children_are_sized_as_sent_and_reduce_each_other() -> None:
    with gateway(DAY) as server, client(server) as ib:
        entry, take, stop = _custom_bracket(ib, 100, 70, 100)
        advance(server, ib, points=1)
        assert entry.orderStatus.status == "Filled"
        assert (take.order.totalQuantity, stop.order.totalQuantity) == (70, 100)
        advance(server, ib, bars=6)  # up through 101.0 (a limit fills when the price trades through it)
        assert (take.orderStatus.status, take.orderStatus.filled) == ("Filled", 70)
        # the bracket's siblings are one OCA group (type 3): the stop was reduced to the 30 left
        assert (stop.orderStatus.status, stop.orderStatus.remaining) == ("Submitted", 30)
        advance(server, ib, bars=5)  # down to 99: the stop sells the 30
        assert (stop.orderStatus.status, stop.orderStatus.filled) == ("Filled", 30)
        assert ib.positions() == []


def test_an_oca_pair_of_type_3_reduces_the_sibling_piece_by_piece() -> None:
    with gateway(DAY, config=SimConfig(max_fill_qty=40)) as server, client(server) as ib:
        contract = stock("AAPL")
        ib.placeOrder(contract, MarketOrder("BUY", 100))
        advance(server, ib, bars=1)
        take = ib.placeOrder(contract, LimitOrder("SELL", 100, 101.0, ocaGroup="t1:pair1", ocaType=3))
        stop = ib.placeOrder(contract, StopOrder("SELL", 100, 99.0, ocaGroup="t1:pair1", ocaType=3))
        remaining: list[float] = []
        stop.statusEvent += lambda t: remaining.append(t.orderStatus.remaining)
        advance(server, ib, bars=6)
        assert [f.execution.shares for f in take.fills] == [40, 40, 20]
        assert take.orderStatus.status == "Filled"
        # working 100, reduced after each piece, then cancelled when the last piece left nothing
        assert remaining == [100, 60, 20, 20]
        assert stop.orderStatus.status == "Cancelled"
        assert stop.fills == []


def test_modify_then_cancel() -> None:
    with gateway(FLAT) as server, client(server) as ib:
        wire = WireLog(ib)
        order = LimitOrder("BUY", 100, 95.0)
        trade = ib.placeOrder(stock("AAPL"), order)
        barrier(ib)
        order.lmtPrice = 96.0
        ib.placeOrder(stock("AAPL"), order)  # the same order id: a modification
        barrier(ib)
        assert trade.order.lmtPrice == 96.0
        assert [entry.message for entry in trade.log][-2:] == ["Modify", "Modified"]  # ib_async saw the ack
        order.totalQuantity = 120
        ib.placeOrder(stock("AAPL"), order)
        barrier(ib)
        assert (trade.order.totalQuantity, trade.orderStatus.remaining) == (120, 120)
        assert trade.orderStatus.status == "Submitted"
        advance(server, ib, points=1)
        ib.cancelOrder(order)
        barrier(ib)
        assert trade.orderStatus.status == "Cancelled"
        assert wire.names(order.orderId)[-3:] == ["orderStatus Cancelled", "error 202", "orderStatus Cancelled"]
        assert trade.fills == []


def test_a_reject_is_status_cancelled_then_error_201_in_that_order() -> None:
    with gateway(FLAT, faults=["reject:201@2"]) as server, client(server) as ib:
        story, wire = Story(ib), WireLog(ib)
        first = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 100, 95.0))
        second = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 100, 95.0))
        barrier(ib)
        assert first.orderStatus.status == "Submitted"
        oid = second.order.orderId
        assert wire.names(oid) == ["orderStatus Cancelled", "error 201"]
        assert story.of(oid) == [("status", oid, "Cancelled", 0.0), ("error", oid, 201)]
        (message,) = [m for m in wire.of(4) if m[2] == str(oid)]
        assert message[4].startswith("Order rejected - reason:")
        advance(server, ib, bars=1)
        assert second.fills == []


def test_cancel_of_a_filled_order_is_161_and_modify_of_a_filled_order_is_104() -> None:
    with gateway(FLAT) as server, client(server) as ib:
        story = Story(ib)
        order = MarketOrder("BUY", 100)
        trade = ib.placeOrder(stock("AAPL"), order)
        advance(server, ib, points=1)
        assert trade.orderStatus.status == "Filled"
        ib.client.cancelOrder(order.orderId)  # the raw requests: ib_async refuses both for done trades
        order.totalQuantity = 200
        ib.client.placeOrder(order.orderId, stock("AAPL"), order)
        barrier(ib)
        assert [item for item in story.of(order.orderId) if item[0] == "error"] == [
            ("error", order.orderId, 161), ("error", order.orderId, 104)]


def test_cancel_of_an_unknown_order_id_is_10147() -> None:
    with gateway(FLAT) as server, client(server) as ib:
        story = Story(ib)
        ib.client.cancelOrder(4242)
        barrier(ib)
        assert story.of(4242) == [("error", 4242, 10147)]


def test_a_fill_after_the_cancel_keeps_the_status_cancelled() -> None:
    with gateway(FLAT, faults=["late-fill"]) as server, client(server) as ib:
        order = LimitOrder("BUY", 100, 95.0)
        trade = ib.placeOrder(stock("AAPL"), order)
        statuses: list[str] = []
        trade.statusEvent += lambda t: statuses.append(t.orderStatus.status)
        advance(server, ib, points=1)
        ib.cancelOrder(order)
        barrier(ib)
        assert [f.execution.shares for f in trade.fills] == [100]  # the late fill is reported...
        assert trade.orderStatus.status == "Cancelled"  # ...and the status stays Cancelled
        assert "Filled" not in statuses
        assert trade.orderStatus.filled == 100


def test_a_correction_arrives_as_a_new_exec_id_suffix() -> None:
    config = SimConfig(correction_delay=30.0)
    with gateway(FLAT, faults=["correction"], config=config) as server, client(server) as ib:
        trade = ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, points=1)
        advance(server, ib, bars=1)
        ids = [f.execution.execId for f in trade.fills]
        assert len(ids) == 2
        assert ids[0].endswith(".01.01")
        assert ids[1] == ids[0][:-2] + "02"  # IB's correction: the same id, the next suffix
        assert trade.fills[1].execution.price == pytest.approx(100.01)


def test_positions_follow_the_executions() -> None:
    with gateway(FLAT) as server, client(server) as ib:
        updates: list[float] = []
        ib.positionEvent += lambda p: updates.append(p.position)
        ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        ib.placeOrder(stock("MSFT"), MarketOrder("SELL", 30))
        advance(server, ib, points=1)
        held = {p.contract.symbol: (p.position, p.avgCost) for p in ib.positions()}
        assert held == {"AAPL": (100.0, 100.0), "MSFT": (-30.0, 100.0)}
        assert sorted(updates) == [-30.0, 100.0]  # reqPositions at connect subscribed to updates
        values = {v.tag: float(v.value) for v in ib.accountValues() if v.tag in ("TotalCashValue", "NetLiquidation")}
        assert values["TotalCashValue"] == pytest.approx(1_000_000 - 100 * 100.0 + 30 * 100.0 - 0.5 - 0.15)


@pytest.mark.parametrize(("order", "code", "field"), [
    (LimitOrder("BUY", 10.5, 100.0), 321, "totalQuantity"),
    (LimitOrder("BUY", 10, 100.0, tif="IOC"), 321, "tif"),
    (LimitOrder("BUY", 10, 100.0, account="U999"), 321, "account"),
    (Order(action="BUY", totalQuantity=10, orderType="TRAIL"), 387, "TRAIL"),
])
def test_an_order_the_simulator_cannot_work_is_refused_naming_the_field(order: Any, code: int, field: str) -> None:
    with gateway(FLAT) as server, client(server) as ib:
        messages: list[tuple[int, str]] = []
        ib.errorEvent += lambda req_id, c, message, contract: messages.append((c, message))
        trade = ib.placeOrder(stock("AAPL"), order)
        barrier(ib)
        ((got_code, text),) = messages
        assert got_code == code
        assert field in text
        advance(server, ib, bars=1)
        assert trade.fills == []


def test_a_stop_limit_waits_for_its_stop_then_works_as_a_limit() -> None:
    with gateway(DAY) as server, client(server) as ib:
        ib.placeOrder(stock("AAPL"), MarketOrder("BUY", 100))
        advance(server, ib, bars=6)  # up to 101.5
        trade = ib.placeOrder(stock("AAPL"), StopLimitOrder("SELL", 100, 100.3, 100.4))  # limit 100.3, stop 100.4
        advance(server, ib, bars=2)  # back down to 100.5: the stop is not touched
        assert (trade.orderStatus.status, trade.fills) == ("Submitted", [])
        advance(server, ib, bars=1)  # 100.5 -> 100.0 crosses 100.4: triggered, then a marketable limit
        assert trade.orderStatus.status == "Filled"
        assert [f.execution.price for f in trade.fills] == [100.4]  # crossed on the way: at its stop


def test_day_orders_expire_at_the_close_and_gtc_orders_stay() -> None:
    with gateway() as server, client(server) as ib:  # the bundled day runs to 16:00
        day = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 10, 50.0))
        gtc = ib.placeOrder(stock("AAPL"), LimitOrder("BUY", 10, 50.0, tif="GTC"))
        barrier(ib)
        server.run_to_end()
        barrier(ib)
        assert day.orderStatus.status == "Cancelled"
        assert gtc.orderStatus.status == "Submitted"


def test_every_client_sees_every_order_through_req_all_open_orders() -> None:
    with gateway(FLAT) as server, client(server, client_id=1) as first, client(server, client_id=2) as second:
        mine = first.placeOrder(stock("AAPL"), LimitOrder("BUY", 10, 95.0, orderRef="c1:entry"))
        barrier(first)
        assert second.reqOpenOrders() == []  # its own open orders: none
        (seen,) = second.reqAllOpenOrders()
        assert (seen.order.orderRef, seen.order.clientId, seen.order.orderId, seen.order.permId) == (
            "c1:entry", 1, mine.order.orderId, mine.order.permId)
        with client(server, client_id=0) as master:  # client 0 hears every client's orders
            assert [t.order.orderRef for t in master.reqOpenOrders()] == ["c1:entry"]


def test_perm_ids_are_unique_across_clients_and_symbols() -> None:
    with gateway(FLAT) as server, client(server, client_id=1) as first, client(server, client_id=2) as second:
        trades = [ib.placeOrder(stock(symbol), LimitOrder("BUY", 10, 95.0))
                  for ib in (first, second) for symbol in ("AAPL", "MSFT", "AAPL")]
        barrier(first)
        barrier(second)
        perm_ids = [t.order.permId for t in trades]
        assert len(set(perm_ids)) == len(perm_ids) == 6
        assert all(p > 0 for p in perm_ids)


def test_a_modification_below_the_filled_quantity_is_refused_and_the_order_works_on() -> None:
    with gateway(FLAT, config=SimConfig(max_fill_qty=60)) as server, client(server) as ib:
        story = Story(ib)
        order = LimitOrder("BUY", 100, 100.5)
        trade = ib.placeOrder(stock("AAPL"), order)
        advance(server, ib, points=1)  # 60 of 100 filled
        order.totalQuantity = 50
        ib.placeOrder(stock("AAPL"), order)
        barrier(ib)
        assert [item for item in story.of(order.orderId) if item[0] == "error"] == [("error", order.orderId, 321)]
        advance(server, ib, points=1)
        assert (trade.orderStatus.status, trade.orderStatus.filled) == ("Filled", 100)
