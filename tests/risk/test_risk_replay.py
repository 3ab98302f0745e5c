"""The risk book survives a restart: rebuilt from the journal a supervisor wrote, it is the book
that watched the day live. A refused plan leaves nothing behind, not even in the journal. And a
property: for any facts, a book that saw every execution twice (a reconnect re-sends them) is the
book that saw each once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.sim import SimBroker, load_bars
from broker.sim_session import bundled_day, default_plan
from supervisor.events import TradeClosed
from supervisor.journal import Journal
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import Side
from supervisor.port import Action, CommissionReported, ExecutionReported
from supervisor.risk import KillSwitch, Resume, RiskBook, RiskPolicy
from supervisor.risk_desk import RiskDesk, RiskRefusedError
from supervisor.runner import Runner

POLICY = RiskPolicy(max_daily_loss=50.0, max_open_trades=2, max_trades_per_day=4)


def test_the_book_rebuilt_from_the_journal_is_the_book_that_watched_the_day(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    bars = load_bars(bundled_day())
    sim = SimBroker(bars)
    recorder = JournalRecorder.open(path, sim.now, fsync="off")
    live = RiskBook(POLICY)
    desk = RiskDesk(recorder, live, sim.now, record=recorder.journal.append_call)
    runner = Runner(desk, sim)
    plan = default_plan()
    desk.arm(plan)
    sim.advance_to(bars[50].time)  # just after the breakout
    runner.execute(desk.trigger(plan.trade_id))
    while sim.step():
        runner.pump()
    runner.pump()
    # the operator's kill switch, journaled as the supervisor will journal it
    runner.execute(desk.kill("end of day"))
    recorder.close()

    assert desk.trade(plan.trade_id).state == "closed"
    snapshot = live.snapshot()
    assert snapshot.realized_pnl == desk.trade(plan.trade_id).realized_pnl  # a stock: multiplier 1
    assert snapshot.commissions > 0
    assert (snapshot.state, snapshot.trades_opened, snapshot.open_trades, snapshot.positions) == ("halted", 1, 0, ())
    with Journal.open(path) as journal:
        rebuilt = RiskBook.replay(POLICY, journal.records())
    assert rebuilt.snapshot() == snapshot


def test_a_refused_plan_is_not_armed_and_sends_nothing(tmp_path: Path) -> None:
    bars = load_bars(bundled_day())
    sim = SimBroker(bars)
    recorder = JournalRecorder.open(tmp_path / "refused.sqlite", sim.now, fsync="off")
    desk = RiskDesk(recorder, RiskBook(RiskPolicy(max_risk_per_trade=50.0)), sim.now)
    plan = default_plan()  # 100 x |100.70 - 99.95| = 75.00 at risk
    with pytest.raises(RiskRefusedError, match=r"max_risk: 100 x \|100.70 - 99.95\| x 1 = 75.00 > 50.00"):
        desk.submit(plan)
    assert [str(r) for r in desk.refusals] == ["max_risk: 100 x |100.70 - 99.95| x 1 = 75.00 > 50.00"]
    assert desk.trades() == []
    recorder.close()
    with Journal.open(tmp_path / "refused.sqlite") as journal:
        assert [r.kind for r in journal.records()] == []  # nothing reached the supervisor


# -- any facts, fed to a new book again, give the same book ---------------------------------------
def _facts() -> st.SearchStrategy[list[tuple[object, float]]]:
    ids = st.sampled_from(["a", "b"])
    times = st.floats(1.7e9, 1.7e9 + 4 * 86400, allow_nan=False)
    execution = st.builds(
        lambda trade, buy, qty, price, n, t: (
            ExecutionReported(f"{trade}:leg", None, f"e{n}", Action.BUY if buy else Action.SELL, qty, price, t), t),
        ids, st.booleans(), st.integers(1, 60), st.sampled_from([9.5, 10.0, 10.5]), st.integers(0, 5), times)
    commission = st.builds(lambda n, c, t: (CommissionReported(f"e{n}", c, time=t), t),
                           st.integers(0, 5), st.sampled_from([0.25, 1.0]), times)
    opened = st.builds(lambda trade, short, t: (
        default_plan(trade_id=trade, side=Side.SHORT, take_profits=(99.0,), stop_losses=(101.0,), allocation=None)
        if short else default_plan(trade_id=trade), t), ids, st.booleans(), times)
    closed = st.builds(lambda trade, t: (TradeClosed(trade_id=trade, entry_filled=0, exit_filled=0, realized_pnl=0.0,
                                                     time=t), t), ids, times)
    kill = st.builds(lambda t: (KillSwitch("test"), t), times)
    resume = st.builds(lambda t: (Resume(), t), times)  # refused when there is nothing to resume
    return st.lists(st.one_of(opened, execution, commission, closed, kill, resume), max_size=25)


@settings(max_examples=100)  # a book builds its account machine: a few ms each
@given(_facts())
def test_rebuilding_from_any_facts_is_exact(facts: list[tuple[object, float]]) -> None:
    # every execution reported twice (a reconnect re-sends them): each counts once, so the book
    # that saw the doubles is the book that saw each once
    doubled = [pair for fact in facts for pair in ([fact, fact] if isinstance(fact[0], ExecutionReported) else [fact])]
    assert RiskBook.rebuild(POLICY, doubled).snapshot() == RiskBook.rebuild(POLICY, facts).snapshot()


def test_the_risk_books_records_are_not_broker_events_when_the_supervisor_replays() -> None:
    from supervisor.calls import apply
    from supervisor.core import Supervisor

    supervisor = Supervisor(lambda: 1.0)
    assert apply(supervisor, KillSwitch("end of day")) == []
    assert apply(supervisor, Resume()) == []
    assert supervisor.drain_events() == []  # no UnknownOrderEvent for a record beside its inputs
