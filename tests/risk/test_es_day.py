"""An ES day on the simulated exchange: the sim trades the plan's contract (tick 0.25, x50), the
supervisor ladders out on the 0.25 grid, and the risk book counts the day in dollars."""

from __future__ import annotations

import datetime as dt

from es import ES, NEW_YORK, es_plan

from broker.sim import Bar, SimBroker, SimConfig
from broker.sim.orders import on_tick_grid
from strategies.breakout import BreakoutWatcher, Trigger
from supervisor.core import Supervisor
from supervisor.events import LegFilled, StopRepriced, SupervisorEvent
from supervisor.risk import RiskBook, RiskPolicy
from supervisor.risk_desk import RiskDesk
from supervisor.runner import Runner

OPEN = dt.datetime(2025, 12, 12, 9, 30, tzinfo=NEW_YORK).timestamp()
# an opening range under 6890, a breakout, a run to 6906, a pullback that stops the last contract
CLOSES = [6885.00, 6886.50, 6884.25, 6887.75, 6889.00, 6888.25, 6887.50, 6889.75, 6891.25, 6893.00,
          6895.50, 6897.25, 6899.00, 6901.50, 6904.25, 6906.00, 6903.75, 6900.00, 6896.50, 6892.75,
          6890.00, 6887.25, 6885.00, 6884.00]


def es_day() -> list[Bar]:
    bars, previous = [], CLOSES[0]
    for i, close in enumerate(CLOSES):
        high, low = max(previous, close) + 0.25, min(previous, close) - 0.25
        bars.append(Bar(OPEN + 60 * i, previous, high, low, close, 1_000.0, 60.0, "ES"))
        previous = close
    return bars


def test_an_es_breakout_ladders_out_on_the_quarter_point_grid_and_counts_dollars() -> None:
    sim = SimBroker(es_day(), instrument=ES, config=SimConfig(tick_size=0.25, commission_per_share=2.25))
    risk = RiskBook(RiskPolicy(max_risk_per_trade=1_500.0, max_daily_loss=2_000.0))
    desk = RiskDesk(Supervisor(sim.now), risk, sim.now)
    events: list[SupervisorEvent] = []
    desk.subscribe(events.append)
    runner = Runner(desk, sim)
    # 2 contracts, one per level; at risk 2 x |6892.00 - 6884.00| x 50 = 800.00
    plan = es_plan("esday", quantity=2, entry=6892.00, stop=6884.00, targets=(6896.00, 6908.00),
                   stop_updates=(6891.00,))
    desk.arm(plan)
    assert desk.refusals == []
    watcher = BreakoutWatcher(plan, 6890.00, start=OPEN + 5 * 60)
    while sim.step():
        runner.pump()
        if sim.last_closed is not None and isinstance(watcher.on_bar(sim.last_closed), Trigger):
            runner.execute(desk.trigger(plan.trade_id))
            runner.pump()
    runner.pump()

    trade = desk.trade("esday")
    assert (trade.state, trade.position, sim.position("ES")) == ("closed", 0, 0)
    fills = {e.leg: e.avg_price for e in events if isinstance(e, LegFilled)}
    # the limit was already through at the trigger: filled at the price met; TP1; the pullback
    # never let TP2 fill and stopped the second contract at the repriced stop
    assert fills == {"entry": 6891.25, "tp1": 6896.00, "sl2": 6891.00}
    assert [(e.old_price, e.new_price) for e in events if isinstance(e, StopRepriced)] == [(6884.00, 6891.00)]
    assert all(on_tick_grid(price, 0.25) for price in fills.values())
    # the risk book: (+4.75 - 0.25) points x 50, and 4 executions x 2.25 of commissions
    snapshot = risk.snapshot()
    assert (snapshot.realized_pnl, snapshot.commissions, snapshot.net_pnl) == (225.0, 9.0, 216.0)
    assert (snapshot.state, snapshot.open_trades, snapshot.positions) == ("active", 0, ())
    assert trade.realized_pnl == 225.0  # the supervisor's own figure, in dollars: 4.5 points x 50



def test_every_order_of_an_es_trade_names_the_contract_so_the_adapter_sends_the_future() -> None:
    from factories import accepted, execution, sent

    from supervisor.port import PlaceOrder

    supervisor = Supervisor(lambda: OPEN)
    plan = es_plan("escontract", quantity=2, entry=6892.00, stop=6884.00, targets=(6896.00, 6908.00))
    supervisor.arm(plan)
    commands = list(supervisor.trigger(plan.trade_id))
    for event in (sent("entry", 1, "escontract"), accepted("entry", 2, 1, "escontract"),
                  execution("entry", 2, 6892.00, trade_id="escontract")):
        commands += supervisor.handle(event)
    placed = [c for c in commands if isinstance(c, PlaceOrder)]
    assert len(placed) == 5  # the entry, then a target and a stop per level
    assert all(c.instrument == ES for c in placed), [c.instrument for c in placed]
