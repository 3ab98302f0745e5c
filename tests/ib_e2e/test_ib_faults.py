"""What goes wrong between a bot and IB, over the wire: the TWS simulator injects it, the IB adapter
carries it, the supervisor must keep its promises. Each test trades the documented ladder on the
bundled day (entry at the 10:20 breakout, targets 101.2/101.7/102.4 for 40/30/30, stop 99.95)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from ib_wire import Desk, Wire, WireLog, gateway, wired

from broker.sim import SimConfig
from broker.sim_session import default_plan
from supervisor.events import (
    CoverageGap,
    DuplicateExecutionIgnored,
    EmergencyStopPlaced,
    LegRejected,
    LegRestored,
    QuantityMismatch,
    ReconciliationCompleted,
    StatusFillMismatch,
)
from supervisor.plan import EntryType, ExitMode, TradePlan
from supervisor.snapshots import TradeSnapshot

PLAN = default_plan(entry_type=EntryType.MARKET)
BREAKOUT_BARS = 51
LEGS = ("entry", "tp1", "sl1", "tp2", "sl2", "tp3", "sl3")


def ref(leg: str, plan: TradePlan = PLAN) -> str:
    return f"{plan.trade_id}:{leg}"


async def enter(wire: Wire, plan: TradePlan = PLAN) -> None:
    wire.arm(plan)
    await wire.advance(bars=BREAKOUT_BARS)
    wire.trigger(plan.trade_id)


async def to_the_close(wire: Wire, plan: TradePlan = PLAN, limit: int = 400) -> TradeSnapshot:
    for _ in range(limit):
        trade = wire.trade(plan.trade_id)
        if trade.state == "closed" and not trade.working_orders:
            return trade
        await wire.advance(bars=1)
    raise AssertionError(f"the trade did not close: {wire.trade(plan.trade_id)}")


def play(scenario: Callable[[Wire, Desk], Awaitable[None]], *, config: SimConfig | None = None,
         faults: tuple[str, ...] = ()) -> tuple[Desk, int]:
    """Run `scenario(wire, desk)` against a fresh simulator; returns the simulator's side and its
    position in SIM once the client is gone."""
    async def main(desk: Desk) -> None:
        async with wired(desk.server) as wire:
            await scenario(wire, desk)

    with gateway(config=config, faults=faults) as server:
        desk = Desk(server)
        asyncio.run(main(desk))
        return desk, desk.position()


def assert_books_match_the_ledger(trade: TradeSnapshot, desk: Desk) -> None:
    """The supervisor's figures are the exchange's: every leg's executed quantity and average price,
    the commissions, the position."""
    executions = desk.executions()
    for leg in trade.legs:
        fills = [e for r, e in executions if r == leg.order_ref]
        assert leg.filled_qty == sum(e.qty for e in fills), leg.name
        if fills:
            notional = sum(e.qty * e.price for e in fills)
            assert leg.avg_price == pytest.approx(notional / leg.filled_qty), leg.name
    commission = sum(SimConfig().commission(e.qty) for _, e in executions)
    assert trade.commissions == pytest.approx(commission)
    assert trade.position == desk.position()


def assert_placed_once(desk: Desk) -> None:
    """Every order ref went out under one order id (later placeOrders of it are its modifications)."""
    for order_ref in set(desk.refs()):
        assert len({r.request.order_id for r in desk.placed(order_ref)}) == 1, order_ref


def test_duplicates_after_a_reconnect_are_not_double_counted() -> None:
    # the exchange reports every execution twice (duplicate-executions), and the client's connection
    # is dropped mid-trade while the entry completes and TP1 fills: on reconnecting, ib_async's own
    # startup reqExecutions and the runner's fetch_truth hand every execution over again
    seen: dict[str, Any] = {}

    async def scenario(wire: Wire, desk: Desk) -> None:
        await enter(wire)
        await wire.advance(points=2)  # 60 of the entry executed, each reported twice
        seen["before"] = wire.trade(PLAN.trade_id).entry_filled
        reconciled = wire.runner.reconciliations
        wire.server.drop_connections()
        wire.server.advance_bars(30)  # away: the entry completes, its exits work, TP1 fills at 101.2
        await wire.until(lambda: wire.broker.connected and wire.runner.reconciliations > reconciled,
                         "the adapter to reconnect and the runner to reconcile")
        await wire.settle()
        refilled = [f.execution.execId for f in wire.broker.ib.fills()]
        seen["refilled"] = sorted(refilled)
        seen["ledger"] = sorted(e.exec_id for _, e in desk.executions())
        trade = wire.trade(PLAN.trade_id)
        assert_books_match_the_ledger(trade, desk)
        assert (trade.entry_filled, trade.leg("tp1").filled_qty) == (100, 40)
        seen["trade"] = await to_the_close(wire)
        seen["duplicates"] = len(wire.of(DuplicateExecutionIgnored))
        assert_books_match_the_ledger(wire.trade(PLAN.trade_id), desk)

    desk, position = play(scenario, config=SimConfig(max_fill_qty=30), faults=("duplicate-executions",))
    assert seen["before"] == 60
    assert seen["refilled"] == seen["ledger"]  # the client had every execution handed over again
    assert seen["duplicates"] >= 2  # the live repeats were seen and ignored
    trade = seen["trade"]
    assert isinstance(trade, TradeSnapshot)
    assert (trade.state, trade.position, trade.entry_filled, trade.exit_filled) == ("closed", 0, 100, 100)
    assert position == 0
    assert_placed_once(desk)


def test_a_201_reject_ends_the_leg_rejected_and_its_shares_keep_a_stop() -> None:
    # the exchange rejects the second order it receives: the first protective stop
    seen: dict[str, Any] = {}

    async def scenario(wire: Wire, desk: Desk) -> None:
        await enter(wire)
        await wire.advance(points=1)
        trade = wire.trade(PLAN.trade_id)
        seen["sl1"] = trade.leg("sl1")
        seen["covered"] = (trade.position, trade.stop_coverage)
        seen["rejected"] = wire.of(LegRejected)
        seen["restored"] = wire.of(LegRestored) + wire.of(EmergencyStopPlaced)
        seen["trade"] = await to_the_close(wire)

    desk, position = play(scenario, config=SimConfig(max_fill_qty=30), faults=("reject:201@2",))
    sl1 = seen["sl1"]
    assert sl1.state == "rejected"
    assert sl1.reject_reason.startswith("201 Order rejected - reason:")
    (rejected,) = seen["rejected"]
    assert (rejected.leg, rejected.code) == ("sl1", 201)
    assert "simulated rejection" in rejected.reason
    # the shares that sl1 covered got a stop again: the level restored (or an emergency stop)
    (restored,) = seen["restored"]
    assert isinstance(restored, LegRestored | EmergencyStopPlaced)
    held, coverage = seen["covered"]
    assert held == 30
    assert coverage == held
    replacement = desk.placed(restored.order_ref)
    assert replacement
    assert replacement[0].request.order_type == "STP"
    assert replacement[0].request.aux_price == PLAN.stop_for(1)
    trade = seen["trade"]
    assert isinstance(trade, TradeSnapshot)
    assert (trade.state, trade.position) == ("closed", 0)
    assert position == 0


def test_a_disconnect_in_the_middle_of_the_ladder_is_reconciled() -> None:
    # IB loses TWS twice (1100 ... 1102, the sockets stay up): first while the exits are on their way
    # (the exchange takes them, its acknowledgements are lost), then while TP1 fills and its OCA
    # group cancels sl1 (the execution and the cancel are lost). Reconciliation adopts all of it.
    seen: dict[str, Any] = {}
    faults = ("disconnect:2024-03-14T10:21:05-04:00", "disconnect:2024-03-14T10:46:50-04:00")

    async def back(wire: Wire, reconciled: int) -> None:
        """IB is back (1102): the runner asks for broker truth; wait for it to be applied."""
        await wire.until(lambda: wire.runner.reconciliations > reconciled, "the reconciliation after 1102")
        await wire.settle()

    async def scenario(wire: Wire, desk: Desk) -> None:
        await enter(wire)
        await wire.advance(points=2)  # the entry fills at 10:21:00, its exits go out; then IB is gone
        seen["down"] = {leg.name: leg.state for leg in wire.trade(PLAN.trade_id).legs}
        await wire.advance(points=4)  # 10:22:15: back
        await back(wire, 0)
        seen["after_first"] = {leg.name: leg.state for leg in wire.trade(PLAN.trade_id).legs}
        await wire.advance(bars=26)  # to 10:47:45: TP1 filled while away (10:46:50 - 10:47:50)
        await wire.advance(points=1)  # 10:48:00: back
        await back(wire, 1)
        seen["after_second"] = wire.trade(PLAN.trade_id)
        seen["reconciled"] = wire.of(ReconciliationCompleted)
        seen["gaps"] = wire.of(CoverageGap)
        seen["trade"] = await to_the_close(wire)
        assert_books_match_the_ledger(wire.trade(PLAN.trade_id), desk)

    desk, position = play(scenario, config=SimConfig(ack_latency=5.0, outage_seconds=60.0), faults=faults)
    exits = ("tp1", "sl1", "tp2", "sl2", "tp3", "sl3")
    assert {seen["down"][leg] for leg in exits} == {"unknown"}
    assert {seen["after_first"][leg] for leg in exits} == {"working"}
    second = seen["after_second"]
    assert isinstance(second, TradeSnapshot)
    tp1, sl1 = second.leg("tp1"), second.leg("sl1")
    assert (tp1.state, tp1.filled_qty, sl1.state) == ("filled", 40, "cancelled")
    first, again = seen["reconciled"]
    assert first.missed_executions == 0  # the exits were working, nothing had executed
    assert again.missed_executions == 1  # TP1's execution
    assert seen["gaps"] == []
    assert_placed_once(desk)  # nothing the exchange already held was sent again
    assert sorted(set(desk.refs())) == sorted(ref(leg) for leg in LEGS)
    trade = seen["trade"]
    assert isinstance(trade, TradeSnapshot)
    assert (trade.state, trade.position) == ("closed", 0)
    assert position == 0


def test_children_sized_to_their_parent_are_a_quantity_mismatch() -> None:
    # an attached bracket (two levels, 70/30) whose children the exchange works at the parent's 100
    plan = default_plan(entry_type=EntryType.MARKET, take_profits=(101.2, 101.7), allocation=(70, 30),
                        exit_mode=ExitMode.ATTACHED)
    seen: dict[str, Any] = {}

    async def scenario(wire: Wire, desk: Desk) -> None:
        await enter(wire, plan)
        await wire.advance(points=1)
        seen["mismatches"] = wire.of(QuantityMismatch)

    desk, _ = play(scenario, faults=("parent-sized-children",))
    # what went over the wire was right: the children as planned, attached to the entry
    sent = {r.ref: (r.quantity, r.request.parent_id != 0) for r in desk.received}
    assert sent == {ref("entry", plan): (100, False), ref("tp1", plan): (70, True), ref("sl1", plan): (70, True),
                    ref("tp2", plan): (30, True), ref("sl2", plan): (30, True)}
    # the exchange worked them at 100: the openOrder said so, and the supervisor says it
    found = {(m.leg, m.intended_qty, m.broker_qty) for m in seen["mismatches"]}
    assert found == {("tp1", 70, 100), ("sl1", 70, 100), ("tp2", 30, 100), ("sl2", 30, 100)}


def test_a_status_that_runs_ahead_of_its_execution_is_no_mismatch() -> None:
    # IB sends orderStatus Filled before the execDetails that explains it (and again after): the
    # supervisor counts the execution, and the status agrees with it by the time it is judged
    seen: dict[str, Any] = {}

    async def scenario(wire: Wire, desk: Desk) -> None:
        log = WireLog(wire.broker)
        await enter(wire)
        await wire.advance(points=1)
        entry = wire.trade(PLAN.trade_id).leg("entry")
        assert entry.order_id is not None
        seen["story"] = log.story(entry.order_id)
        seen["trade"] = await to_the_close(wire)
        seen["mismatches"] = wire.of(StatusFillMismatch)

    _, position = play(scenario)
    assert position == 0
    story = seen["story"]
    assert story[-3:] == ["orderStatus Filled", "execDetails", "orderStatus Filled"]
    assert seen["mismatches"] == []
    trade = seen["trade"]
    assert isinstance(trade, TradeSnapshot)
    assert (trade.state, trade.position) == ("closed", 0)
