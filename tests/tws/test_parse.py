"""Client messages as ib_async 2.1 writes them (its own `Client`, at the gateway's server version),
parsed by the gateway; and malformed messages, refused with IB errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from ib_async import (
    ComboLeg,
    Contract,
    ExecutionFilter,
    LimitOrder,
    MarketOrder,
    Order,
    StopLimitOrder,
    StopOrder,
    TagValue,
)
from tws_helpers import stock, written

from broker.tws.parse import parse_request
from broker.tws.requests import (
    Cancel,
    CancelOrderRequest,
    PlaceOrderRequest,
    ReqExecutions,
    ReqHistoricalData,
    ReqMktData,
    ReqRealTimeBars,
    RequestError,
    Simple,
    StartApi,
    Unsupported,
)
from broker.tws.wire import SERVER_VERSION


def place(order: Order, contract: Contract | None = None, order_id: int = 21) -> PlaceOrderRequest:
    request = parse_request(written("placeOrder", order_id, contract or stock("AAPL"), order), SERVER_VERSION)
    assert isinstance(request, PlaceOrderRequest)
    return request


def test_a_limit_order_with_every_field_the_gateway_uses() -> None:
    order = LimitOrder("SELL", 70, 101.2, tif="GTC", ocaGroup="t1:pair1", ocaType=3, account="DU1234567",
                       orderRef="t1:tp1", outsideRth=True)
    r = place(order)
    assert (r.order_id, r.contract.symbol, r.contract.sec_type, r.contract.exchange) == (21, "AAPL", "STK", "SMART")
    assert (r.action, r.quantity, r.order_type, r.limit_price, r.aux_price) == ("SELL", 70.0, "LMT", 101.2, None)
    assert (r.tif, r.oca_group, r.oca_type, r.account, r.order_ref) == ("GTC", "t1:pair1", 3, "DU1234567", "t1:tp1")
    assert (r.transmit, r.parent_id, r.outside_rth, r.what_if) == (True, 0, True, False)


@pytest.mark.parametrize(("order", "kind", "limit", "aux"), [
    (MarketOrder("BUY", 100), "MKT", None, None),
    (StopOrder("SELL", 100, 99.95), "STP", None, 99.95),
    (StopLimitOrder("SELL", 100, 99.9, 99.95), "STP LMT", 99.9, 99.95),
])
def test_order_types_and_their_prices(order: Order, kind: str, limit: float | None, aux: float | None) -> None:
    r = place(order)
    assert (r.order_type, r.limit_price, r.aux_price) == (kind, limit, aux)


def test_bracket_children_carry_their_parent_and_transmit_flags() -> None:
    parent = LimitOrder("BUY", 100, 100.7, orderId=30, transmit=False)
    child = StopOrder("SELL", 100, 99.95, orderId=32, parentId=30, transmit=True)
    assert (place(parent, order_id=30).transmit, place(parent, order_id=30).parent_id) == (False, 0)
    assert (place(child, order_id=32).transmit, place(child, order_id=32).parent_id) == (True, 30)


def test_the_walk_reaches_what_if_past_algo_scale_and_hedge_sections() -> None:
    order = LimitOrder("BUY", 100, 100.7, algoStrategy="Adaptive", algoParams=[TagValue("adaptivePriority", "Normal")],
                       scalePriceIncrement=0.05, hedgeType="D", hedgeParam="0.5", whatIf=True)
    assert place(order).what_if is True
    combo = Contract(secType="BAG", symbol="AAPL", currency="USD", exchange="SMART",
                     comboLegs=[ComboLeg(conId=1, ratio=1, action="BUY", exchange="SMART")])
    request = place(LimitOrder("BUY", 1, 1.0), contract=combo)
    assert request.contract.sec_type == "BAG"  # parsed through the legs; refused later as no stock


def test_data_requests() -> None:
    contract = stock("AAPL")
    hist = parse_request(written("reqHistoricalData", 7, contract, "", "1 D", "1 min", "TRADES", 1, 2, True, []),
                         SERVER_VERSION)
    assert hist == ReqHistoricalData(7, hist.contract, "", "1 min", "1 D", True, "TRADES", 2, True)  # type: ignore[union-attr]
    mkt = parse_request(written("reqMktData", 8, contract, "233", True, False, []), SERVER_VERSION)
    assert isinstance(mkt, ReqMktData)
    assert (mkt.req_id, mkt.contract.symbol, mkt.generic_ticks, mkt.snapshot) == (8, "AAPL", "233", True)
    rt = parse_request(written("reqRealTimeBars", 9, contract, 5, "TRADES", False, []), SERVER_VERSION)
    assert isinstance(rt, ReqRealTimeBars)
    assert (rt.req_id, rt.bar_size, rt.what_to_show, rt.use_rth) == (9, 5, "TRADES", False)
    flt = ExecutionFilter(clientId=3, time="20240314 10:00:00 America/New_York", side="SELL")
    ex = parse_request(written("reqExecutions", 10, flt), SERVER_VERSION)
    assert isinstance(ex, ReqExecutions)
    assert (ex.req_id, ex.client_id, ex.time, ex.side) == (10, 3, "20240314 10:00:00 America/New_York", "SELL")


@pytest.mark.parametrize(("call", "args", "expected"), [
    ("startApi", (), StartApi(5, "")),
    ("cancelOrder", (44,), CancelOrderRequest(44)),
    ("cancelMktData", (8,), Cancel("mktData", 8)),
    ("cancelHistoricalData", (7,), Cancel("historicalData", 7)),
    ("cancelRealTimeBars", (9,), Cancel("realTimeBars", 9)),
    ("reqCompletedOrders", (False,), Simple("completedOrders", 0)),
    ("reqPositions", (), Simple("positions")),
    ("reqCurrentTime", (), Simple("currentTime")),
    ("reqGlobalCancel", (), Simple("globalCancel")),
    ("reqMatchingSymbols", (12, "AA"), Unsupported(81, 12)),
])
def test_small_requests(call: str, args: tuple[Any, ...], expected: object) -> None:
    assert parse_request(written(call, *args), SERVER_VERSION) == expected


def test_a_truncated_order_is_error_320_naming_the_missing_field_and_the_order() -> None:
    fields = written("placeOrder", 21, stock("AAPL"), LimitOrder("BUY", 100, 100.7))
    with pytest.raises(RequestError) as caught:
        parse_request(fields[:20], SERVER_VERSION)
    assert caught.value.code == 320
    assert caught.value.req_id == 21
    assert "'auxPrice'" in caught.value.message  # fields 0..19 arrived: the next one is missing


@pytest.mark.parametrize(("index", "value", "field"), [(17, "lots", "totalQuantity"), (19, "1O0.7", "lmtPrice"),
                                                      (27, "yes", "transmit"), (28, "x", "parentId")])
def test_a_field_that_does_not_parse_is_error_321_naming_it_and_the_value(index: int, value: str, field: str) -> None:
    fields = written("placeOrder", 21, stock("AAPL"), LimitOrder("BUY", 100, 100.7))
    fields[index] = value
    with pytest.raises(RequestError) as caught:
        parse_request(fields, SERVER_VERSION)
    assert (caught.value.code, caught.value.req_id) == (321, 21)
    assert f"'{field}'" in caught.value.message
    assert repr(value) in caught.value.message


@pytest.mark.parametrize("fields", [[], [""], ["abc", "1"]])
def test_a_message_without_a_usable_id_is_error_320(fields: list[str]) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(fields, SERVER_VERSION)
    assert caught.value.code == 320


def test_an_unknown_message_id_is_unsupported_not_an_exception() -> None:
    assert parse_request(["250", "1", "2"], SERVER_VERSION) == Unsupported(250)
