"""`order-supervisor kill --broker ib` against the TWS simulator: a ladder left in flight by one
process (the adapter driven as a bot drives it, journaled) is killed by another, over the wire:
every exit cancelled at the simulator, what was held sold in one reduce-only market order, nothing
opened, nothing left working, flat, and the account halted in the journal.

The test holds the simulator's clock (speed 0): the ladder is traded one price point at a time,
then the clock stands still while the command runs, until a flattening order reaches the
simulator's desk: the market then moves a few price points (`market_moves_after`), as a live one
would, and the market order fills there. Nothing waits on a wall clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from ib_wire import Desk, gateway, wired

from broker.cli import main
from broker.sim_session import default_plan
from broker.tws import TwsSimServer
from broker.tws.requests import PlaceOrderRequest
from supervisor.journal import Journal
from supervisor.plan import EntryType
from supervisor.port import CancelOrder, OrderType, PlaceOrder
from supervisor.risk import RiskBook

PLAN = default_plan(entry_type=EntryType.MARKET)  # 100 SIM, targets 101.2/101.7/102.4 for 40/30/30, stop 99.95
BREAKOUT_BARS = 51  # the bundled day closes above 100.49 at 10:20 (bar 50)
CLIENT = 7


def kill(port: int, journal: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["kill", "--broker", "ib", "--port", str(port), "--journal", str(journal),
                                     *args])


def assert_clean_exit(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def working_at_the_simulator(server: object) -> list[str]:
    def read(s: TwsSimServer) -> list[str]:
        exchange, working = s.engine.exchange, []
        for symbol in exchange.symbols():
            for order in exchange.sim(symbol).open_orders():
                tws = s.engine.desk.by_ref(order.order_ref)
                working.append(tws.request.order_ref if tws is not None else order.order_ref)
        return sorted(working)

    return server.call(read)  # type: ignore[attr-defined, no-any-return]


def market_moves_after(server: object, leg: str = "flat1", points: int = 4) -> None:
    """Once an order of `leg` is placed at the simulator, the market moves `points` price points
    (each after the placement's own replies: scheduled on the server's loop)."""
    def tap(s: TwsSimServer) -> None:
        desk = s.engine.desk
        place = desk.place

        def placing(client_id: int, request: PlaceOrderRequest) -> Any:
            out = place(client_id, request)
            if request.order_ref.endswith(":" + leg):
                loop = asyncio.get_running_loop()
                for _ in range(points):
                    loop.call_soon(s.step)
            return out

        desk.place = placing  # type: ignore[method-assign]

    server.call(tap)  # type: ignore[attr-defined]


def leave_in_flight(desk: Desk, journal: Path, session: dict[str, object] | None = None) -> None:
    """The ladder until TP1 filled: 60 shares held under TP2/TP3 and their stops; then the bot goes
    away (its connection closed, its orders left working at the simulator)."""
    if session is not None:
        with Journal.open(journal) as opened:
            opened.append("meta", {"session": session})

    async def trade() -> None:
        async with wired(desk.server, client_id=CLIENT, journal=journal) as wire:
            wire.arm(PLAN)
            await wire.advance(bars=BREAKOUT_BARS)
            wire.trigger(PLAN.trade_id)
            for _ in range(400):
                await wire.advance(points=1)
                if wire.trade(PLAN.trade_id).leg("tp1").state == "filled":
                    return
            raise AssertionError(f"TP1 never filled: {wire.trade(PLAN.trade_id)}")

    asyncio.run(trade())


def test_kill_over_ib_cancels_every_exit_sells_what_is_held_and_halts(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    with gateway() as server:
        desk = Desk(server)
        leave_in_flight(desk, journal)
        market_moves_after(server)
        before_kill = len(desk.received)
        assert desk.position() == 60
        assert len(working_at_the_simulator(server)) == 4
        with Journal.open(journal) as opened:
            last = opened.last_seq

        result = kill(server.port, journal, "--client-id", str(CLIENT), "--yes")

        working = working_at_the_simulator(server)
        position = desk.position()
        sent_by_kill = desk.received[before_kill:]
        with Journal.open(journal) as opened:
            records = [r for r in opened.records() if r.seq > last]
            book = RiskBook.replay(None, opened.records())
        again = kill(server.port, journal, "--client-id", str(CLIENT), "--yes")  # pulled twice: nothing more
        sent_again = desk.received[before_kill + len(sent_by_kill):]

    assert_clean_exit(result, 0)
    assert "broker: 4 of their orders working, positions {'SIM': 60}" in result.output
    assert "KILLED: the account is halted; 5 commands sent, nothing working, flat" in result.output
    assert working == []
    assert position == 0
    # at the simulator: one order placed by the kill, a market sell of exactly what was held
    assert [(r.client_id, r.ref, r.request.action, r.request.order_type, r.quantity) for r in sent_by_kill] == [
        (CLIENT, "breakout:flat1", "SELL", "MKT", 60)]
    sent = [r.value for r in records if r.kind == "command"]
    assert sorted(c.order_ref for c in sent if isinstance(c, CancelOrder)) == [
        "breakout:sl2", "breakout:sl3", "breakout:tp2", "breakout:tp3"]
    assert [(c.order_ref, c.action.value, c.order_type, c.quantity) for c in sent if isinstance(c, PlaceOrder)] == [
        ("breakout:flat1", "SELL", OrderType.MARKET, 60)]
    assert [r.value["kill"]["step"] for r in records if r.kind == "meta" and "kill" in r.value] == [
        "started", "flattening", "done"]
    assert book.state == "halted"
    assert_clean_exit(again, 0)
    assert "0 commands sent, nothing working, flat" in again.output
    assert sent_again == []


def test_kill_over_ib_takes_the_gateway_and_client_id_from_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "day.sqlite"
    with gateway() as server:
        desk = Desk(server)
        leave_in_flight(desk, journal, session={"broker": "ib", "host": "127.0.0.1", "port": server.port,
                                                "client_id": CLIENT, "symbols": ["SIM"]})
        market_moves_after(server)
        result = CliRunner().invoke(main, ["kill", "--broker", "ib", "--journal", str(journal), "--yes"])
        working = working_at_the_simulator(server)
        position = desk.position()
    assert_clean_exit(result, 0)
    assert f"connecting to IB at 127.0.0.1:{server.port} (client id {CLIENT})" in result.output
    assert working == []
    assert position == 0


def test_a_kill_that_cannot_finish_in_time_says_what_still_works_and_exits_4(tmp_path: Path) -> None:
    # as another client the kill may not cancel the bot's orders (IB keeps order ids per client):
    # its cancels are refused, nothing is flattened before the bound, and it says so
    journal = tmp_path / "day.sqlite"
    with gateway() as server:
        desk = Desk(server)
        leave_in_flight(desk, journal)
        result = kill(server.port, journal, "--client-id", str(CLIENT + 1), "--timeout", "0.5", "--yes")
        working = working_at_the_simulator(server)
        position = desk.position()
    assert_clean_exit(result, 4)
    for leg in ("tp2", "tp3", "sl2", "sl3"):
        assert f"still working: breakout:{leg}" in result.output
    assert "NOT DONE: 4 orders still working, positions {'SIM': 60}" in result.output
    assert len(working) == 4
    assert position == 60  # nothing was sold while exits still worked: no order could open a position


def test_the_live_guard_applies_to_kill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "day.sqlite"
    with Journal.open(journal) as opened:
        opened.append("meta", {"note": "empty day"})
    monkeypatch.delenv("ORDER_SUPERVISOR_LIVE", raising=False)
    for args in ([], ["--live"]):
        result = kill(7496, journal, "--yes", *args)
        assert_clean_exit(result, 2)
        assert "--live" in result.output
        assert "ORDER_SUPERVISOR_LIVE=1" in result.output
        assert "nothing was sent" in result.output


@pytest.mark.parametrize(("args", "option"), [
    (["--broker", "ib", "--bars", "day.csv"], "--bars"),
    (["--port", "7497"], "--port"),
    (["--timeout", "5"], "--timeout"),
    (["--broker", "ib", "--timeout", "0"], "--timeout"),
    (["--broker", "ib", "--port", "70000"], "--port"),
])
def test_options_of_the_other_broker_or_out_of_range_are_refused_by_name(tmp_path: Path, args: list[str],
                                                                        option: str) -> None:
    result = CliRunner().invoke(main, ["kill", "--journal", str(tmp_path / "day.sqlite"), "--yes", *args])
    assert_clean_exit(result, 2)
    assert option in result.output
