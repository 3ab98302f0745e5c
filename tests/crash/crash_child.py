"""The supervisor process of the crash test: a breakout ladder supervised over pipes, journaled.

Started by `lockstep.py` with its stdin and stdout as pipes (`broker.pipe`); the simulated
exchange lives in the parent, which may SIGKILL this process at any message and start it again
on the same journal. What it does is what `broker.sim_session.run_breakout` does in one process,
one price point per "step" message:

    start        open the journal (JournalRecorder.open replays it); a new trade is armed, a
                 restored one reconciled with the broker's truth (executions since the last
                 one it applied, open orders, positions): the reconnect after a crash; pump
    step         pump; a closed bar goes to the watcher, whose signal triggers (or expires)
    end_of_data  the single-fire watcher is over: expire an entry never triggered
    finish       close the journal and answer with the final snapshot

Every message is answered by {"op": "done"} once its work is journaled: the journal runs with
fsync="batch" and a batch delay far longer than the test, so it is committed exactly at the
`flush()` before "done", and a kill in the middle of a step loses that step's records (the
window between an order's bytes reaching the broker and the journal's commit).
"""

from __future__ import annotations

import sys
from typing import Any

from broker.pipe import PipeBroker, PipeClosedError
from broker.sim import Bar
from strategies.breakout import BreakoutWatcher, Expired, Trigger
from supervisor import codec
from supervisor.events import SupervisorEvent
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.runner import Runner

NEVER = 24 * 3600.0  # a batch delay no test outlives: commits happen at flush() only


def main(journal: str) -> int:
    broker = PipeBroker.stdio()
    start = broker.receive()
    plan = codec.decode(start["plan"])
    assert isinstance(plan, TradePlan)
    recorder = JournalRecorder.open(journal, broker.now, Policy(), fsync="batch", batch_delay=NEVER,
                                    max_batch=10_000_000)
    seen: list[SupervisorEvent] = []
    runner = Runner(recorder, broker, on_event=seen.append)
    restored = any(trade.trade_id == plan.trade_id for trade in recorder.trades())
    watcher = BreakoutWatcher(plan, float(start["level"]), "close", start=float(start["watch_start"]))
    if restored:
        truth = broker.query(executions_since=recorder.last_execution_time)
        runner.execute(recorder.reconcile(truth))
    else:
        runner.execute(recorder.arm(plan))
    handled = runner.pump()
    done(broker, recorder, plan, seen, handled, restored=restored)

    while True:
        try:
            message = broker.receive()
        except PipeClosedError:
            return 1  # the parent went away
        op = message["op"]
        handled = 0
        if op == "step":
            handled = runner.pump()
            bar = message.get("bar")
            if bar is not None and not watching_is_over(recorder, plan, watcher):
                signal = watcher.on_bar(Bar(**bar))
                if isinstance(signal, Trigger):
                    runner.execute(recorder.trigger(plan.trade_id, source_time=min(signal.time, broker.now())))
                elif isinstance(signal, Expired):
                    runner.execute(recorder.expire(plan.trade_id))
                if signal is not None:
                    handled += runner.pump()
        elif op == "end_of_data":
            if recorder.trade(plan.trade_id).leg("entry").state == "armed":
                runner.execute(recorder.expire(plan.trade_id))
        elif op == "finish":
            recorder.close()
            broker.send({"op": "bye", **summary(recorder, plan)})
            return 0
        else:
            raise ValueError(f"unknown op {op!r}")
        done(broker, recorder, plan, seen, handled, restored=False)


def watching_is_over(recorder: JournalRecorder, plan: TradePlan, watcher: BreakoutWatcher) -> bool:
    # the watcher is not journaled: a restarted process knows the signal came from the entry leg
    return watcher.done or recorder.trade(plan.trade_id).leg("entry").state != "armed"


def summary(recorder: JournalRecorder, plan: TradePlan) -> dict[str, Any]:
    trade = recorder.trade(plan.trade_id)
    return {
        "state": trade.state, "position": trade.position, "stop_coverage": trade.stop_coverage,
        "entry_filled": trade.entry_filled, "exit_filled": trade.exit_filled,
        "realized_pnl": trade.realized_pnl, "legs": {leg.name: [leg.state, leg.filled_qty] for leg in trade.legs},
    }


def done(broker: PipeBroker, recorder: JournalRecorder, plan: TradePlan, seen: list[SupervisorEvent],
         handled: int, *, restored: bool) -> None:
    recorder.flush()
    events = [type(event).__name__ for event in seen]
    seen.clear()
    broker.send({"op": "done", "handled": handled, "restored": restored, "events": events,
                 **summary(recorder, plan)})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
