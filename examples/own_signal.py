"""The supervisor in your own bot, with your own signal: no strategy module, just a decision you make.

    python examples/own_signal.py

Your bot decides WHEN (here: the first 5-bar momentum burst after 10:00, computed inline); the
supervisor decides WHAT is true and what to send (the entry, then a detached 70/30 ladder once the
entry's executions confirm the shares, a stop moved to break-even after the first target). The
broker is the embedded simulated exchange replaying the bundled day; on IB you would pass the IB
adapter and a wall clock instead, and nothing else changes.
"""

from __future__ import annotations

from collections import deque

from broker.sim import SimBroker, load_bars
from broker.sim_session import bundled_day
from supervisor.core import Supervisor
from supervisor.plan import EntryType, Side, TradePlan
from supervisor.runner import Runner


def main() -> int:
    bars = load_bars(bundled_day())
    sim = SimBroker(bars, symbol="DEMO")
    supervisor = Supervisor(sim.now)  # the supervisor reads time only from the clock you give it
    runner = Runner(supervisor, sim)  # carries broker events in and commands out
    closes: deque[float] = deque(maxlen=5)
    fired = False
    while sim.step():
        runner.pump()
        bar = sim.last_closed
        if bar is None or fired:
            continue
        closes.append(bar.close)
        after_ten = bar.time >= bars[0].time + 30 * 60
        # your signal: five closes in a row, each higher than the one before
        if after_ten and len(closes) == 5 and all(a < b for a, b in zip(closes, list(closes)[1:], strict=False)):
            fired = True
            reference = round(bar.close, 2)
            plan = TradePlan(trade_id="momentum", symbol="DEMO", side=Side.LONG, quantity=100,
                             entry_price=reference, entry_type=EntryType.MARKET,
                             take_profits=(round(reference + 0.30, 2), round(reference + 0.60, 2)),
                             stop_losses=(round(reference - 0.40, 2),))
            runner.execute(supervisor.submit(plan))  # arm + trigger: the entry goes out
            print(f"signal at {bar.close:g}: {plan.quantity} DEMO, targets {plan.take_profits}, "
                  f"stop {plan.stop_losses}")
    runner.pump()
    trade = supervisor.trade("momentum")
    for leg in trade.legs:
        print(f"  {leg.name:<6} {leg.state:<10} {leg.filled_qty}/{leg.intended_qty}"
              + (f" @ {leg.avg_price:g}" if leg.filled_qty else ""))
    print(f"momentum: {trade.state}, position {trade.position} (broker {sim.position()}), "
          f"realized P&L {trade.realized_pnl:.2f}")
    return 0 if trade.position == 0 and sim.position() == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
