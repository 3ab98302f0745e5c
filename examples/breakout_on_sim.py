"""Arm a take-profit ladder on the simulated exchange, trigger it on a breakout, print every event.

    python examples/breakout_on_sim.py

The pieces a bot wires itself: a broker behind the port (here the embedded `SimBroker`, replaying
the bundled trading day), a `Supervisor` on the broker's clock, a `Runner` carrying events and
commands between them, and a `BreakoutWatcher` that decides when to trigger. Swap the sim for the
IB adapter and the wall clock, and the rest stays as it is.
"""

from __future__ import annotations

from broker.report import format_event
from broker.sim import SimBroker, load_bars
from broker.sim_session import bundled_day
from strategies.breakout import BreakoutWatcher, Trigger
from supervisor.core import Supervisor
from supervisor.plan import Side, TradePlan
from supervisor.runner import Runner


def main() -> int:
    bars = load_bars(bundled_day())
    plan = TradePlan(
        trade_id="orh-long", symbol="SIM", side=Side.LONG, quantity=100,
        entry_price=100.70,                       # the entry's limit
        take_profits=(101.20, 101.70, 102.40),    # three levels ...
        allocation=(40, 30, 30),                  # ... of 40, 30 and 30 shares
        stop_losses=(99.95,),                     # one stop price for every level
    )
    sim = SimBroker(bars)
    supervisor = Supervisor(sim.now)
    runner = Runner(supervisor, sim, on_event=lambda event: print(format_event(event)))

    supervisor.arm(plan)  # machines are built now, never on the trigger path
    watcher = BreakoutWatcher(plan, level=100.49, confirm="close", start=bars[0].time + 30 * 60)
    while sim.step():  # one price point of the replay
        runner.pump()
        if sim.last_closed is not None and isinstance(watcher.on_bar(sim.last_closed), Trigger):
            runner.execute(supervisor.trigger(plan.trade_id))
            runner.pump()
    runner.pump()

    trade = supervisor.trade(plan.trade_id)
    print(f"{trade.trade_id}: {trade.state}, position {trade.position} (broker {sim.position()}), "
          f"realized P&L {trade.realized_pnl:.2f}")
    return 0 if trade.state == "closed" and sim.position() == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
