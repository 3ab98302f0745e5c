"""Restoring after a crash: the journal rebuilds every machine, the broker's truth fills the gap.

    python examples/restore_after_crash.py [JOURNAL]

A bot supervises a ladder with every input journaled (`JournalRecorder`). At 11:00 the process
"crashes": its supervisor is dropped mid-trade, with shares held and exits working at the broker,
which lives on (here the simulated exchange keeps running, and fills a target while the bot is
down). The restarted process opens the same journal (`JournalRecorder.open` replays its inputs,
rebuilding the trade as it was), asks the broker for its truth and reconciles: the fill it missed
is applied, nothing the broker holds is sent again, and the day goes on to a closed, flat trade.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from broker.sim import SimBroker, load_bars
from broker.sim_session import bundled_day
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import Side, TradePlan
from supervisor.runner import Runner


def main(journal: Path) -> int:
    bars = load_bars(bundled_day())
    sim = SimBroker(bars)  # the broker: it outlives the bot's process
    plan = TradePlan(trade_id="ladder", symbol="SIM", side=Side.LONG, quantity=100, entry_price=100.70,
                     take_profits=(101.20, 101.70, 102.40), allocation=(40, 30, 30), stop_losses=(99.95,))

    # -- the first process: arm, trigger at the breakout, supervise until 11:00, then crash
    first = JournalRecorder.open(journal, sim.now)
    runner = Runner(first, sim)
    first.arm(plan)
    sim.advance_to(bars[50].time)  # 10:20, the breakout
    runner.execute(first.trigger("ladder"))
    while sim.now() < bars[90].time:  # 11:00
        sim.step()
        runner.pump()
    before = first.trade("ladder")
    print(f"11:00 crash: {before.state}, position {before.position}, working {len(before.working_orders)} orders")
    first.close()  # a crash may lose the last unflushed records; reconciliation covers for them
    del first, runner

    # -- while nobody watches, the market moves and the broker fills TP2 at 11:40
    while sim.now() < bars[135].time:  # 11:45
        sim.step()
    sim.poll()  # those reports went to a process that no longer exists

    # -- the restarted process: rebuild from the journal, then reconcile with the broker's truth
    second = JournalRecorder.open(journal, sim.now)
    runner = Runner(second, sim)
    rebuilt = second.trade("ladder")
    print(f"restored from the journal: {rebuilt.state}, position {rebuilt.position}")
    runner.reconcile()  # missed executions applied; orders the broker holds are matched, not re-sent
    after = second.trade("ladder")
    print(f"after reconciliation: {after.state}, position {after.position} (broker {sim.position()})")
    while sim.step():
        runner.pump()
    runner.pump()
    trade = second.trade("ladder")
    second.close()
    print(f"ladder: {trade.state}, position {trade.position} (broker {sim.position()}), "
          f"realized P&L {trade.realized_pnl:.2f}")
    return 0 if trade.state == "closed" and sim.position() == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) > 1:
        raise SystemExit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as folder:
        raise SystemExit(main(Path(folder) / "ladder.sqlite"))
