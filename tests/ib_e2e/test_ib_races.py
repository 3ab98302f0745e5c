"""A modify that loses the race with its order's end, over the wire. When targets fill at once (a
fast market, or a client a little behind), the supervisor reprices the later stops after TP1 while
TP2's fill has already made the exchange cancel sl2 (its OCA group): the modify reaches an order
that is gone and IB answers 10147 "not found ... is Cancelled" after the Cancelled status. The
order's end is already reported; the adapter passes the refusal on as a notice, so no
StopRepriceFailed is raised for a stop that no longer exists (`breakout arm` would count one as a
broken invariant and exit 4)."""

from __future__ import annotations

import asyncio
from typing import Any

from ib_wire import BOUND, Desk, gateway, wired
from sim.sim_helpers import bars

from broker.ib import IBBroker, IBConfig
from broker.sim import SimConfig
from broker.sim_session import default_plan
from broker.tws import ServerThread
from supervisor.events import CommandRefused, StopRepriced, StopRepriceFailed
from supervisor.plan import EntryType
from supervisor.port import (
    Action,
    BrokerEvent,
    BrokerNotice,
    ModifyOrder,
    OrderCancelled,
    OrderType,
    PlaceOrder,
    ReplaceRejected,
)

FLAT = (100.0, 100.0, 100.0, 100.0)


def test_a_modify_that_reaches_an_order_its_oca_group_cancelled_is_a_notice() -> None:
    # the exchange takes a modification 40 s after it arrives; the target fills before that
    day = bars(*[FLAT] * 4, (100.0, 101.5, 100.0, 101.5), *[(101.5,) * 4] * 2)

    async def scenario(server: ServerThread) -> list[BrokerEvent]:
        broker = IBBroker(config=IBConfig(port=server.port, client_id=1, timeout=BOUND), environ={})
        await broker.connect()

        async def step(points: int) -> list[BrokerEvent]:
            await broker.ib.reqCurrentTimeAsync()
            for _ in range(points):
                server.step()
            await broker.ib.reqCurrentTimeAsync()
            return broker.poll()

        try:
            broker.execute(PlaceOrder("t:entry", "SIM", Action.BUY, OrderType.MARKET, 100))
            await step(5)
            broker.execute_all([
                PlaceOrder("t:tp1", "SIM", Action.SELL, OrderType.LIMIT, 100, limit_price=101.0, oca_group="t:1",
                           oca_type=1),
                PlaceOrder("t:sl1", "SIM", Action.SELL, OrderType.STOP, 100, stop_price=99.0, oca_group="t:1",
                           oca_type=1)])
            await step(11)  # both acknowledged; the bar that reaches 101.5 opens, at 100
            assert server.now() == day[4].time
            broker.execute(ModifyOrder("t:sl1", None, stop_price=99.5))  # taken at the exchange 40 s later
            return await step(3)
        finally:
            broker.close()

    with gateway(day, config=SimConfig(ack_latency=40.0)) as server:
        events = asyncio.run(scenario(server))
    mine = [e for e in events if getattr(e, "order_ref", "") == "t:sl1" or isinstance(e, BrokerNotice)]
    cancelled = [e for e in mine if isinstance(e, OrderCancelled)]
    notices = [e for e in mine if isinstance(e, BrokerNotice) and e.code == 10147]
    assert len(cancelled) == 1
    assert len(notices) == 1
    assert mine.index(cancelled[0]) < mine.index(notices[0])
    assert "t:sl1" in notices[0].message
    assert not [e for e in events if isinstance(e, ReplaceRejected)]


def test_targets_filling_at_once_leave_no_failed_reprice() -> None:
    # one price point takes the price through TP1 and TP2: TP1's fill reprices sl2 and sl3, TP2's
    # fill (same point) makes the exchange cancel sl2 before sl2's modify gets there
    day = bars(*[(100.5,) * 4] * 3, (100.5, 101.8, 100.5, 101.8), *[(101.8,) * 4] * 2,
               (101.8, 102.5, 101.8, 102.5), *[(102.5,) * 4] * 3)
    plan = default_plan(entry_type=EntryType.MARKET)
    seen: dict[str, Any] = {}

    async def scenario(desk: Desk) -> None:
        async with wired(desk.server) as wire:
            wire.arm(plan)
            wire.trigger(plan.trade_id)
            await wire.advance(points=36)
            seen["trade"] = wire.trade(plan.trade_id)
            seen["failed"] = wire.of(StopRepriceFailed) + wire.of(CommandRefused)
            seen["repriced"] = [(e.leg, e.new_price) for e in wire.of(StopRepriced)]

    with gateway(day) as server:
        desk = Desk(server)
        asyncio.run(scenario(desk))
        sl2_modifies = desk.placed("breakout:sl2")[1:]  # after its placement: the modifications sent
        position = desk.position()
    trade = seen["trade"]
    assert trade.state == "closed"
    assert position == 0
    assert [r.request.aux_price for r in sl2_modifies][-1] == 100.5  # the break-even modify went out...
    assert seen["failed"] == []  # ...lost its race with the OCA cancel, and nothing failed
    assert ("sl3", 100.5) in seen["repriced"]
