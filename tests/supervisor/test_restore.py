"""Restoring from the journal: the supervisor rebuilt by replay equals the one that wrote it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from factories import execution, plan
from harness import Harness
from hypothesis import given, settings
from hypothesis import strategies as st
from test_adversarial import play

from supervisor.clock import ManualClock
from supervisor.core import Supervisor
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import ExitMode
from supervisor.policy import Policy


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from(list(ExitMode)))
def test_replaying_random_histories_rebuilds_the_same_trades(data: st.DataObject, mode: ExitMode) -> None:
    """Any history the adversarial broker makes (refusals, rejects, outages, reconciliations)
    comes back the same from the journal: every machine, every figure."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "journal.sqlite")
        recorders: list[JournalRecorder] = []

        def journaled(clock: ManualClock, policy: Policy) -> JournalRecorder:
            recorders.append(JournalRecorder.open(path, clock, policy, fsync="off"))
            return recorders[-1]

        run = play(data, mode, journaled)
        recorder = recorders[0]
        recorder.flush()
        policy = recorder.supervisor.policy
        # a restart's path: a finished trade from its checkpoint, only the rest replayed
        restored = Supervisor.restore(recorder.journal.restore_records(), run.clock, policy)
        assert restored.trades() == recorder.trades()
        # and every input replayed, the checkpoints met on the way
        replayed = Supervisor.restore(recorder.journal.records(), run.clock, policy)
        assert replayed.trades() == recorder.trades()
        recorder.close()


def test_a_restarted_process_continues_from_the_journal(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.sqlite")
    h = Harness(journal=path)
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.feed(execution("tp1", 70, 11.0))
    before = h.sup.trades()
    assert h.recorder is not None
    h.recorder.close()  # the process ends

    again = JournalRecorder.open(path, h.clock)
    assert again.trades() == before
    assert again.trade("T1").leg("sl2").state == "replace_requested"  # the milestone reprice in flight
    # it goes on where it stopped: the reprice is acknowledged, the rest exits
    from factories import replace_ok

    again.handle(replace_ok("sl2"))
    again.handle(execution("tp2", 30, 12.0))
    assert again.trade("T1").state == "closed"
    again.close()
    third = JournalRecorder.open(path, h.clock)
    assert third.trade("T1").state == "closed"
    records = list(third.journal.records())
    assert {r.kind for r in records} == {"meta", "broker_event", "command", "supervisor_event"}
    third.close()


def test_a_checkpoint_holds_every_field_of_a_leg() -> None:
    """A field added to a leg record but not to its checkpoint would be lost by a restart."""
    import attrs

    from supervisor.book import LegRecord
    from supervisor.checkpoint import LegState

    kept = {f.name for f in attrs.fields(LegState)} | {"leg", "trade_id"}
    renamed = {"name": "leg"}
    have = {renamed.get(name, name) for name in kept}
    assert {f.name for f in attrs.fields(LegRecord)} <= have
