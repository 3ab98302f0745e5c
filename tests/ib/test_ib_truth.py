"""Broker truth (fetch_truth, query), contract qualification, and push versus poll delivery."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from conftest import Connected
from ib_async import Contract, ContractDetails, Execution, Order, OrderState
from ib_fakes import CLIENT_ID, PAPER
from ib_steps import SYMBOL, kinds, limit, place, stop

from supervisor.port import Action, BrokerEvent, Instrument, OrderType, SecType


def _order(order_id: int, ref: str, client_id: int = CLIENT_ID, **kwargs: object) -> Order:
    fields: dict[str, object] = {"action": "SELL", "totalQuantity": 30, "orderType": "STP", "auxPrice": 99.0}
    fields.update(kwargs)
    return Order(orderId=order_id, clientId=client_id, permId=500 + order_id, orderRef=ref, account=PAPER,
                 **fields)  # type: ignore[arg-type]


def _stock() -> Contract:
    return Contract(secType="STK", symbol=SYMBOL, exchange="SMART", currency="USD", conId=265598)


def test_fetch_truth_reads_all_four_answers(rig: Connected, sync_loop: asyncio.AbstractEventLoop) -> None:
    fake = rig.fake
    fake.open_orders = [
        (_stock(), _order(3, "t1:sl2", ocaGroup="t1:oca2"), OrderState(status="Submitted")),
        (_stock(), _order(3, "other:bot", client_id=99), OrderState(status="Submitted")),  # another client's id 3
    ]
    es = Contract(secType="FUT", symbol="ES", multiplier="50", exchange="CME")
    fake.positions = [(PAPER, _stock(), 70.0, 100.05), (PAPER, es, -2.0, 262_500.0),
                      (PAPER, Contract(symbol="X"), 0.0, 0.0)]
    at = dt.datetime(2024, 3, 14, 14, 35, tzinfo=dt.UTC)
    fake.executions = [(_stock(), Execution(execId="e.01.01", time=at, acctNumber=PAPER, side="BOT", shares=70,
                                             price=100.05, permId=501, clientId=CLIENT_ID, orderId=0,
                                             orderRef="t1:entry"))]
    done = _order(0, "t1:entry", action="BUY", totalQuantity=100, filledQuantity=70)  # orderId 0 after a reconnect
    fake.completed = [(_stock(), done, OrderState(status="Cancelled", completedStatus="Cancelled by Trader"))]
    since = at.timestamp() - 10
    truth = rig.broker.query(executions_since=since)
    assert [(o.order_ref, o.order_id, o.order_type, o.quantity, o.stop_price, o.oca_group, o.perm_id)
            for o in truth.open_orders] == [("t1:sl2", 3, OrderType.STOP, 30, 99.0, "t1:oca2", 503),
                                            ("other:bot", None, OrderType.STOP, 30, 99.0, None, 503)]
    assert [(p.symbol, p.quantity, p.avg_cost) for p in truth.positions] == [("AAPL", 70, 100.05), ("ES", -2, 5250.0)]
    assert [(e.exec_id, e.order_ref, e.order_id, e.qty, e.action, e.time) for e in truth.executions] == [
        ("e.01.01", "t1:entry", None, 70, Action.BUY, at.timestamp())]
    (completed,) = truth.completed_orders
    assert (completed.order_ref, completed.order_id, completed.perm_id, completed.status, completed.filled,
            completed.reason) == ("t1:entry", None, 500, "Cancelled", 70, "Cancelled by Trader")
    # executions were asked for from a minute before the mark, in UTC
    expected = dt.datetime.fromtimestamp(since - 60, dt.UTC).strftime("%Y%m%d-%H:%M:%S")
    assert fake.exec_filter_time() == expected
    assert truth.time == rig.clock.now


def test_query_inside_a_running_loop_says_to_await_fetch_truth(rig: Connected) -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match=r"await broker\.fetch_truth\(executions_since\) instead"):
            rig.broker.query()
        truth = await rig.broker.fetch_truth()
        assert truth.open_orders == ()

    asyncio.run(inside())


def test_fetch_truth_needs_a_connection(rig: Connected) -> None:
    rig.fake.drop()
    with pytest.raises(ConnectionError, match="not connected"):
        asyncio.run(rig.broker.fetch_truth())


def test_qualify_asks_once_and_orders_use_the_answer(rig: Connected, sync_loop: asyncio.AbstractEventLoop) -> None:
    found = Contract(secType="FUT", symbol="ES", exchange="CME", currency="USD", conId=551601561, multiplier="50",
                     lastTradeDateOrContractMonth="20260618")
    rig.fake.details["ES"] = [ContractDetails(contract=found, minTick=0.25)]
    es = Instrument("ES", SecType.FUTURE, exchange="CME", contract_month="202606")
    qualified = rig.broker.qualify(es)
    assert (qualified.con_id, qualified.multiplier, qualified.tick_size) == (551601561, 50.0, 0.25)
    assert rig.broker.qualify(es) == qualified
    assert len([f for f in rig.fake.sent if f[0] == "9"]) == 1  # cached
    from supervisor.port import PlaceOrder

    place(rig, PlaceOrder("f1:entry", "ES", Action.BUY, OrderType.MARKET, 1, instrument=es))
    assert rig.fake.placed[-1].contract.conId == 551601561


def test_qualify_names_what_it_could_not_find(rig: Connected, sync_loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(LookupError, match="IB has no contract for 'NOPE'"):
        rig.broker.qualify(Instrument("NOPE"))
    rig.fake.details["AMBI"] = [ContractDetails(contract=Contract(symbol="AMBI", conId=n)) for n in (1, 2)]
    with pytest.raises(LookupError, match="2 contracts"):
        rig.broker.qualify(Instrument("AMBI"))


# -- delivery --------------------------------------------------------------------------------


def test_poll_hands_each_event_once_in_arrival_order(rig: Connected) -> None:
    order_id = place(rig)
    rig.tws.ack(order_id)
    rig.tws.execution(order_id, 100, 100.0)
    assert kinds(rig.broker.poll()) == ["OrderSent", "OrderAccepted", "StatusObserved", "ExecutionReported"]
    assert rig.broker.poll() == []


def test_push_answers_an_execution_with_exits_inside_the_same_callback(rig: Connected) -> None:
    seen: list[tuple[str, int]] = []
    depth = [0]

    def supervisor(event: BrokerEvent) -> None:
        depth[0] += 1
        seen.append((type(event).__name__, depth[0]))
        if type(event).__name__ == "ExecutionReported":
            rig.broker.execute_all([stop("t1:sl1", qty=100), stop("t1:tp1", qty=100, price=110.0)])
        depth[0] -= 1

    order_id = place(rig)
    rig.broker.set_event_handler(supervisor)  # the queued OrderSent goes to the handler first
    placed_before = len(rig.fake.placed)
    rig.tws.execution(order_id, 100, 100.0)  # returns only after the handler ran
    assert len(rig.fake.placed) == placed_before + 2  # the exits were written within the callback
    assert seen == [("OrderSent", 1), ("ExecutionReported", 1), ("OrderSent", 1), ("OrderSent", 1)]  # never nested
    assert rig.broker.poll() == []


def test_a_failing_handler_loses_no_later_event(rig: Connected) -> None:
    got: list[str] = []

    def handler(event: BrokerEvent) -> None:
        got.append(type(event).__name__)
        if len(got) == 1:
            raise RuntimeError("boom")

    rig.broker.set_event_handler(handler)
    order_id = place(rig)
    rig.tws.ack(order_id)
    assert got == ["OrderSent", "OrderAccepted", "StatusObserved"]
    rig.broker.set_event_handler(None)
    place(rig, limit("t2:entry"))
    assert kinds(rig.broker.poll()) == ["OrderSent"]


def test_closing_a_bots_ib_adapter_leaves_the_connection_and_removes_the_taps(rig: Connected) -> None:
    order_id = place(rig)
    rig.broker.poll()
    rig.broker.close()
    assert rig.ib.isConnected()  # the bot's connection is the bot's
    assert "openOrder" not in vars(rig.ib.wrapper)
    rig.tws.ack(order_id)
    assert rig.broker.poll() == []
