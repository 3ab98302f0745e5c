"""The gateway's messages, decoded by ib_async's own `Decoder` at the gateway's server version:
a field out of place shows up here as a wrong value, not as a bot misreading an order."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from ib_async.decoder import Decoder
from ib_async.util import UNSET_DOUBLE

from broker.sim import SimConfig
from broker.tws import replies
from broker.tws import replies_data as data
from broker.tws.contracts import Contracts, StockContract, con_id_of
from broker.tws.market import AggBar
from broker.tws.records import TwsOrder
from broker.tws.requests import ContractSpec, PlaceOrderRequest
from broker.tws.wire import SERVER_VERSION, Field, encode, split_messages


class Recorder:
    """A wrapper that records every call the decoder makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = dt.UTC

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))


def decode(fields: list[Field]) -> tuple[str, tuple[Any, ...]]:
    """Frame `fields`, read them back as the client would, decode: the single wrapper call."""
    recorder = Recorder()
    decoder = Decoder(recorder, SERVER_VERSION)  # type: ignore[arg-type]
    (message,) = split_messages(encode(fields))
    decoder.handlers[int(message[0])](message)
    assert len(recorder.calls) == 1, recorder.calls
    return recorder.calls[0]


AAPL = StockContract("AAPL", con_id_of("AAPL"))


def _order(**changes: Any) -> TwsOrder:
    request = PlaceOrderRequest(
        order_id=12, contract=ContractSpec(symbol="AAPL"), action="SELL", quantity=70.0, order_type="LMT",
        limit_price=101.2, aux_price=None, tif="GTC", oca_group="t1:pair1", account="DU1234567",
        order_ref="t1:tp1", transmit=True, parent_id=0, outside_rth=True, oca_type=3,
    )
    parent = TwsOrder(client_id=4, order_id=11, perm_id=1000000007, contract=AAPL, request=request, quantity=100)
    order = TwsOrder(client_id=4, order_id=12, perm_id=1000000008, contract=AAPL, request=request, quantity=70,
                     parent=parent)
    for name, value in changes.items():
        setattr(order, name, value)
    return order


def test_open_order_decodes_field_for_field() -> None:
    name, (order_id, contract, order, state) = decode(replies.open_order(_order(), "PreSubmitted", 70, 101.2, None))
    assert name == "openOrder"
    assert order_id == 12
    assert (contract.conId, contract.symbol, contract.secType, contract.exchange) == (AAPL.con_id, "AAPL", "STK",
                                                                                     "SMART")
    assert (order.action, order.totalQuantity, order.orderType, order.lmtPrice) == ("SELL", 70.0, "LMT", 101.2)
    assert order.auxPrice == UNSET_DOUBLE
    assert (order.tif, order.ocaGroup, order.ocaType, order.account) == ("GTC", "t1:pair1", 3, "DU1234567")
    assert (order.orderRef, order.clientId, order.permId, order.parentId) == ("t1:tp1", 4, 1000000008, 11)
    assert order.outsideRth is True
    assert state.status == "PreSubmitted"
    assert order.usePriceMgmtAlgo is False  # the tail of the message lines up too


def test_completed_order_has_no_order_id_but_perm_id_and_order_ref() -> None:
    name, (contract, order, state) = decode(replies.completed_order(
        _order(), status="Filled", quantity=70, filled=70, limit=101.2, aux=None,
        completed_time="20240314 10:47:30 America/New_York", completed_status="Filled",
    ))
    assert name == "completedOrder"
    assert order.orderId == 0  # IB sends none: after a reconnect a client matches by permId/orderRef
    assert (order.permId, order.orderRef, order.totalQuantity, order.filledQuantity) == (1000000008, "t1:tp1", 70, 70)
    assert order.parentPermId == 1000000007
    assert (state.status, state.completedTime, state.completedStatus) == (
        "Filled", "20240314 10:47:30 America/New_York", "Filled")
    assert contract.symbol == "AAPL"


def test_order_status_and_exec_details_and_commission() -> None:
    order = _order(last_fill_price=101.2)
    name, args = decode(replies.order_status(order, "Filled", 70, 0, 101.2))
    assert name == "orderStatus"
    assert args == (12, "Filled", 70.0, 0.0, 101.2, 1000000008, 11, 101.2, 4, "", 0.0)

    name, (req_id, contract, execution) = decode(replies.exec_details(
        -1, order, exec_id="00000002.00000005.01.02", time="20240314 10:47:30 America/New_York",
        account="DU1234567", side="SLD", shares=30, price=101.2, cum_qty=70, avg_price=101.2,
    ))
    assert (name, req_id, contract.symbol) == ("execDetails", -1, "AAPL")
    assert (execution.execId, execution.orderId, execution.permId, execution.clientId) == (
        "00000002.00000005.01.02", 12, 1000000008, 4)
    assert (execution.side, execution.shares, execution.price, execution.cumQty) == ("SLD", 30.0, 101.2, 70.0)
    assert execution.orderRef == "t1:tp1"
    assert execution.time == dt.datetime(2024, 3, 14, 14, 47, 30, tzinfo=dt.UTC)

    name, (report,) = decode(replies.commission_report("00000002.00000005.01.02", 0.15, "USD"))
    assert (name, report.execId, report.commission, report.currency) == (
        "commissionReport", "00000002.00000005.01.02", 0.15, "USD")


def test_error_carries_the_request_id_code_and_message() -> None:
    assert decode(replies.error(12, 201, "Order rejected - reason: x")) == (
        "error", (12, 201, "Order rejected - reason: x", ""))


def test_contract_details_are_those_of_the_simulated_exchange() -> None:
    contracts = Contracts(SimConfig(tick_size=0.05))
    name, (req_id, details) = decode(contracts.details_fields(3, AAPL, "20240314"))
    assert (name, req_id) == ("contractDetails", 3)
    assert (details.contract.conId, details.contract.symbol, details.contract.primaryExchange) == (
        AAPL.con_id, "AAPL", "NASDAQ")
    assert details.minTick == 0.05
    assert details.timeZoneId == "America/New_York"
    assert details.liquidHours == "20240314:0930-20240314:1600"
    assert (details.minSize, details.sizeIncrement) == (1, 1)


def test_position_portfolio_and_account_messages() -> None:
    name, (account, contract, quantity, avg) = decode(data.position("DU1234567", AAPL, -30, 100.66))
    assert (name, account, contract.symbol, quantity, avg) == ("position", "DU1234567", "AAPL", -30.0, 100.66)
    name, args = decode(data.portfolio(AAPL, 100, 101.0, 100.5, "DU1234567"))
    assert name == "updatePortfolio"
    assert args[1:] == (100.0, 101.0, 10100.0, 100.5, 50.0, 0.0, "DU1234567")
    assert decode(data.account_value("NetLiquidation", "1000.00", "USD", "DU1")) == (
        "updateAccountValue", ("NetLiquidation", "1000.00", "USD", "DU1"))
    assert decode(data.account_download_end("DU1")) == ("accountDownloadEnd", ("DU1",))


BAR = AggBar(1710423000.0, 100.0, 100.5, 99.5, 100.25, 1500.0, 100.1, 4)


def test_bar_messages() -> None:
    recorder = Recorder()
    decoder = Decoder(recorder, SERVER_VERSION)  # type: ignore[arg-type]
    (message,) = split_messages(encode(data.historical_data(5, "a", "b", [("20240314 09:30:00 America/New_York",
                                                                              BAR)])))
    decoder.handlers[17](message)
    (bar_call, end_call) = recorder.calls
    assert bar_call[0] == "historicalData"
    bar = bar_call[1][1]
    assert (bar.date, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.average, bar.barCount) == (
        "20240314 09:30:00 America/New_York", 100.0, 100.5, 99.5, 100.25, 1500.0, 100.1, 4)
    assert end_call == ("historicalDataEnd", (5, "a", "b"))

    name, (req_id, update) = decode(data.historical_update(5, "20240314 09:30:00 America/New_York", BAR))
    assert (name, req_id, update.open, update.high, update.low, update.close) == (
        "historicalDataUpdate", 5, 100.0, 100.5, 99.5, 100.25)
    assert decode(data.realtime_bar(6, BAR)) == (
        "realtimeBar", (6, 1710423000, 100.0, 100.5, 99.5, 100.25, 1500.0, 100.1, 4))


@pytest.mark.parametrize(("fields", "expected"), [
    (data.tick_price(2, data.BID, 100.49, 100), ("priceSizeTick", (2, 1, 100.49, 100.0))),
    (data.tick_size(2, data.VOLUME, 12000), ("tickSize", (2, 8, 12000.0))),
    (data.market_data_type(2, 1), ("marketDataType", (2, 1))),
    (data.tick_snapshot_end(2), ("tickSnapshotEnd", (2,))),
    (data.next_valid_id(9), ("nextValidId", (9,))),
    (data.managed_accounts("DU1234567"), ("managedAccounts", ("DU1234567",))),
])
def test_small_messages(fields: list[Field], expected: tuple[str, tuple[Any, ...]]) -> None:
    assert decode(fields) == expected
