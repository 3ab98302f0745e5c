"""The product's RiskDesk on the simulated exchange: the limits refuse plans and stop new entries,
the kill switch flattens a ladder in flight and opens nothing, an entry's TTL cancels it (a partial
fill keeps its protection), and the time exit closes what is left."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from broker.sim import SimBroker, SimConfig, load_bars
from broker.sim_session import bundled_day, default_plan
from supervisor.core import Supervisor
from supervisor.events import FlattenRequested, SupervisorEvent
from supervisor.guards import RiskRefusal
from supervisor.plan import EntryType, Side
from supervisor.port import Action, BrokerEvent, BrokerTruth, Command, OrderType, PlaceOrder
from supervisor.risk import RiskBook, RiskPolicy
from supervisor.risk_desk import RiskDesk, RiskRefusedError
from supervisor.runner import Runner

BARS = load_bars(bundled_day())
BREAKOUT = BARS[50].time  # 10:20, the bar after the default level broke


class Recording:
    """The simulated exchange, keeping every command handed to it."""

    def __init__(self, sim: SimBroker) -> None:
        self.sim = sim
        self.sent: list[Command] = []

    def execute(self, command: Command) -> None:
        self.sent.append(command)
        self.sim.execute(command)

    def poll(self) -> list[BrokerEvent]:
        return self.sim.poll()

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        return self.sim.query(executions_since)


class Day:
    def __init__(self, policy: RiskPolicy | None = None, config: SimConfig | None = None, **controls: float) -> None:
        self.sim = SimBroker(BARS, config=config)
        self.broker = Recording(self.sim)
        self.risk = RiskBook(policy)
        self.desk = RiskDesk(Supervisor(self.sim.now), self.risk, self.sim.now, **controls)  # type: ignore[arg-type]
        self.events: list[SupervisorEvent] = []
        self.desk.subscribe(self.events.append)
        self.refused: list[RiskRefusal] = []
        self.desk.on_refusal(self.refused.append)
        self.runner = Runner(self.desk, self.broker)

    def run_until(self, time: float) -> None:
        while self.sim.now() < time and self.sim.step():
            self.runner.pump()

    def run_to_end(self) -> None:
        while self.sim.step():
            self.runner.pump()
        for _ in range(5):
            self.sim.step()
            self.runner.pump()

    def working(self) -> list[str]:
        return [o.order_ref for o in self.sim.query().open_orders]


def _placed(commands: Iterable[Command]) -> list[PlaceOrder]:
    return [c for c in commands if isinstance(c, PlaceOrder)]


# -- the plan's limits -------------------------------------------------------------------------------
@pytest.mark.parametrize(("policy", "message"), [
    (RiskPolicy(max_risk_per_trade=50.0), "max_risk: 100 x |100.70 - 99.95| x 1 = 75.00 > 50.00"),
    (RiskPolicy(max_position=80), "max_position: SIM long: 0 held + 0 working + 100 = 100 > 80"),
])
def test_a_plan_over_a_limit_is_refused_with_its_figures_and_nothing_is_armed_or_sent(
        policy: RiskPolicy, message: str) -> None:
    day = Day(policy)
    with pytest.raises(RiskRefusedError, match=r"refused by the risk policy") as refused:
        day.runner.execute(day.desk.arm(default_plan()))
    assert str(refused.value.refusal) == message
    assert [str(r) for r in day.refused] == [message]
    assert day.desk.trades() == []
    assert day.broker.sent == []


def test_open_trades_and_trades_per_day_count_what_was_armed() -> None:
    day = Day(RiskPolicy(max_open_trades=2, max_trades_per_day=2))
    day.desk.arm(default_plan(trade_id="a"))
    day.desk.arm(default_plan(trade_id="b"))
    with pytest.raises(RiskRefusedError) as refused:
        day.desk.arm(default_plan(trade_id="c"))
    assert str(refused.value.refusal) == "max_open_trades: 2 open + 1 = 3 > 2"
    day.desk.expire("a")  # an aborted trade is no longer open, but it was a trade of the day
    with pytest.raises(RiskRefusedError) as refused:
        day.desk.arm(default_plan(trade_id="c"))
    assert str(refused.value.refusal) == "max_trades_per_day: 2 today + 1 = 3 > 2"
    assert [t.trade_id for t in day.desk.trades()] == ["a", "b"]


def test_the_days_loss_moves_the_account_to_reducing_new_entries_are_refused_exits_go() -> None:
    # a short at the market under a rising morning: its stop at 100.95 loses about 33
    loser = default_plan(trade_id="loser", side=Side.SHORT, entry_type=EntryType.MARKET, entry_price=100.62,
                         take_profits=(100.0,), stop_losses=(100.95,), allocation=None)
    waiting = default_plan(trade_id="waiting", entry_price=100.40)  # a limit under the market: works
    later = default_plan(trade_id="later")
    day = Day(RiskPolicy(max_daily_loss=20.0))
    for plan in (loser, waiting, later):
        day.runner.execute(day.desk.arm(plan))
    day.run_until(BREAKOUT)
    day.runner.execute(day.desk.trigger("loser"))
    day.runner.execute(day.desk.trigger("waiting"))
    day.run_until(BARS[75].time)

    assert day.risk.state == "reducing"
    assert day.desk.trade("loser").state == "closed"
    assert day.desk.trade("loser").leg("sl1").state == "filled"
    # the working entry was cancelled when the account left active, the armed one expired
    assert day.desk.trade("waiting").leg("entry").state == "cancelled"
    assert day.desk.trade("later").state == "aborted"
    sent_before = len(day.broker.sent)
    day.runner.execute(day.desk.trigger("later"))
    assert len(day.broker.sent) == sent_before
    with pytest.raises(RiskRefusedError, match="trading_state: the account is reducing"):
        day.desk.arm(default_plan(trade_id="another"))
    assert day.working() == []
    assert day.sim.position() == 0


# -- the kill switch ---------------------------------------------------------------------------------
def test_the_kill_switch_flattens_a_ladder_in_flight_leaves_nothing_working_and_opens_nothing() -> None:
    day = Day()
    plan = default_plan()
    day.runner.execute(day.desk.arm(plan))
    day.run_until(BREAKOUT)
    day.runner.execute(day.desk.trigger(plan.trade_id))
    day.run_until(BARS[90].time)  # TP1 filled at 101.20, TP2 and TP3 and their stops working
    in_flight = day.desk.trade(plan.trade_id)
    assert in_flight.leg("tp1").state == "filled"
    assert in_flight.position == 60
    assert len(day.working()) == 4
    sent_before = len(day.broker.sent)

    day.runner.execute(day.desk.kill())
    day.run_until(BARS[95].time)

    assert day.risk.state == "halted"
    assert day.risk.snapshot().halt_reason == "kill switch"
    assert [e.reason for e in day.events if isinstance(e, FlattenRequested)] == ["kill switch"]
    after = day.broker.sent[sent_before:]
    flattens = _placed(after)
    # one reduce-only market order: selling what the executions say is held, never more
    assert [(c.action, c.order_type, c.quantity) for c in flattens] == [(Action.SELL, OrderType.MARKET, 60)]
    assert day.working() == []
    assert day.sim.position() == 0
    assert day.desk.trade(plan.trade_id).state == "closed"
    # halted: a new plan is refused, nothing more is sent
    with pytest.raises(RiskRefusedError, match="trading_state: the account is halted"):
        day.desk.arm(default_plan(trade_id="after-kill"))
    assert _placed(day.broker.sent[sent_before:]) == flattens


def test_a_trigger_while_halted_expires_the_trade_and_sends_nothing() -> None:
    day = Day()
    day.desk.arm(default_plan())
    day.desk.kill()
    assert day.desk.trigger("breakout") == []
    assert [r.rule for r in day.refused] == ["trading_state"]
    assert day.desk.trade("breakout").state == "aborted"
    assert day.broker.sent == []


# -- the entry's time to live ---------------------------------------------------------------------------
def test_an_entry_not_filled_within_its_ttl_is_cancelled() -> None:
    day = Day(entry_ttl=300.0)
    plan = default_plan(entry_price=100.40)  # the market never comes back down to it
    day.desk.arm(plan)
    day.run_until(BREAKOUT)
    day.runner.execute(day.desk.trigger(plan.trade_id))
    day.run_until(BREAKOUT + 240)
    assert day.desk.trade(plan.trade_id).leg("entry").state == "working"
    day.run_until(BREAKOUT + 330)
    trade = day.desk.trade(plan.trade_id)
    assert (trade.state, trade.leg("entry").state, trade.position) == ("aborted", "cancelled", 0)
    assert day.working() == []


def test_a_partly_filled_entry_cancelled_by_its_ttl_keeps_its_protection() -> None:
    day = Day(config=SimConfig(max_fill_qty=30), entry_ttl=300.0)
    plan = default_plan(entry_price=100.63)  # two price points under it, 30 shares each
    day.desk.arm(plan)
    day.run_until(BREAKOUT)
    day.runner.execute(day.desk.trigger(plan.trade_id))
    day.run_until(BREAKOUT + 400)
    trade = day.desk.trade(plan.trade_id)
    assert (trade.leg("entry").state, trade.position, trade.stop_coverage) == ("cancelled", 60, 60)
    assert sorted(day.working()) == ["breakout:sl1", "breakout:sl2", "breakout:tp1", "breakout:tp2"]
    assert day.sim.position() == 60


# -- the time exit ------------------------------------------------------------------------------------
def test_the_time_exit_flattens_what_is_left_and_refuses_later_entries() -> None:
    flatten_at = BARS[100].time  # 11:10, with TP1 filled and 60 shares under TP2/TP3
    day = Day(flatten_at=flatten_at)
    plan = default_plan()
    day.desk.arm(plan)
    day.desk.arm(default_plan(trade_id="late"))
    day.run_until(BREAKOUT)
    day.runner.execute(day.desk.trigger(plan.trade_id))
    day.run_to_end()
    trade = day.desk.trade(plan.trade_id)
    assert [e.reason for e in day.events if isinstance(e, FlattenRequested)] == ["time exit", "time exit"]
    assert (trade.state, trade.position, day.sim.position(), day.working()) == ("closed", 0, 0, [])
    flattened = [c for c in _placed(day.broker.sent) if c.order_type is OrderType.MARKET]
    assert [(c.action, c.quantity) for c in flattened] == [(Action.SELL, 60)]
    assert day.desk.trade("late").state == "aborted"  # armed, never triggered: expired by the flatten
    assert day.desk.trigger("late") == []


def test_the_desks_controls_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="entry_ttl=0"):
        RiskDesk(Supervisor(lambda: 0.0), RiskBook(), lambda: 0.0, entry_ttl=0)
    with pytest.raises(ValueError, match="flatten_at=nan"):
        RiskDesk(Supervisor(lambda: 0.0), RiskBook(), lambda: 0.0, flatten_at=float("nan"))
