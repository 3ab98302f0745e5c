"""The main job on the embedded simulated exchange: replay a day, arm a breakout, supervise it.

`run_breakout(plan, level, ...)` wires the pieces the way a live bot would, with the sim standing in
for IB: a `SimBroker` (with faults) replaying bars, a `Supervisor` on the sim's clock, a `Runner`
carrying events and commands between them, and a `BreakoutWatcher` deciding when to trigger.
The trade is armed up front (machines are built off the trigger path); then the sim advances one
price point at a time, the runner pumps after every step, each bar that closes is fed to the
watcher, and its signal triggers (or expires) the trade. After the last bar the runner keeps
pumping until nothing more arrives. The result holds the final snapshot and every emitted event.

`BreakoutRun` is that wiring without the driving, for any `BrokerPort`: it builds the runner and the
watcher around a supervisor, arms the trade, takes completed bars (`on_bar`) and turns the
watcher's signal into a trigger or an expiry, expires a watcher the data ended on (`end_of_data`),
says when the trade is over (`finished`) and sums it up (`result`). `run_breakout` drives it on the
simulated exchange; `broker.ib.session.run_breakout_ib` drives the same object on IB.

`run_breakout` also watches the bar stream's health on the sim's clock, under `health=` (default
`HealthPolicy()`, the limits `order-supervisor run` uses) (`broker.desk_health`, as the breakout desk does): a
stall (fault `stall:WHEN:SECONDS`) is noticed, the bars asked for again (the sim's `StallReplay`
answers once the stall is over), and a bar older than the freshness limit when it arrives is not
shown to the watcher (`BreakoutRun.on_bar(bar, now)`); the health events go to `on_health` and into
the result (`SessionResult.health`). `health=None` does not watch the stream: a stall's bars stay
lost (a bar's freshness is still judged, under the default limits).

The bundled day ships inside this package (`broker/data/breakout_day.csv`, a copy of what
`examples/data/generate_day.py` writes), so the default run works from an installed wheel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path

import attrs

from broker.desk_health import HealthEvent, StreamHealth
from broker.sim import Bar, Fault, SimBroker, SimConfig, load_bars
from broker.sim_market import StallReplay
from strategies.breakout import BreakoutWatcher, Confirm, Expired, Failed, Trigger
from strategies.health import FreshBars, HealthPolicy
from supervisor.core import Supervisor
from supervisor.events import SupervisorEvent
from supervisor.plan import EntryType, ExitMode, Side, TradePlan
from supervisor.policy import Policy
from supervisor.port import BrokerPort
from supervisor.runner import EventCallback, Runner, SupervisorLike
from supervisor.snapshots import TradeSnapshot

FINAL_LEG_STATES = frozenset({"filled", "cancelled", "rejected", "dropped", "expired"})
# after the end of data the sim still answers; this many quiet pumps in a row end the session
_MAX_DRAIN_PUMPS = 50

# The documented ladder on the bundled day (examples/data/generate_day.py): a long breakout over
# the opening-range high, watched once the range is complete (30 minutes after the open).
DEFAULT_SYMBOL = "SIM"
DEFAULT_LEVEL = 100.49
DEFAULT_ENTRY_LIMIT = 100.70
DEFAULT_QUANTITY = 100
DEFAULT_TAKE_PROFITS = (101.20, 101.70, 102.40)
DOCUMENTED_SPLIT = (40, 30, 30)
DEFAULT_ALLOCATION = DOCUMENTED_SPLIT
DEFAULT_STOP = 99.95
DEFAULT_WATCH_AFTER = 30 * 60.0


def bundled_day() -> Path:
    """The bundled trading day, resolved inside the installed `broker` package."""
    # setuptools installs package data as plain files, so the resource has a real path
    return Path(str(resources.files("broker").joinpath("data", "breakout_day.csv")))


def default_plan(
    *,
    trade_id: str = "breakout",
    symbol: str = DEFAULT_SYMBOL,
    quantity: int = DEFAULT_QUANTITY,
    entry_price: float = DEFAULT_ENTRY_LIMIT,
    entry_type: EntryType = EntryType.LIMIT,
    take_profits: Sequence[float] = DEFAULT_TAKE_PROFITS,
    allocation: Sequence[int] | None = DEFAULT_ALLOCATION,
    stop_losses: Sequence[float] = (DEFAULT_STOP,),
    side: Side = Side.LONG,
    exit_mode: ExitMode = ExitMode.AUTO,
) -> TradePlan:
    """The documented ladder as a `TradePlan` (raises `PlanError` naming a bad field)."""
    return TradePlan(
        trade_id=trade_id, symbol=symbol, side=side, quantity=quantity, entry_price=entry_price,
        entry_type=entry_type, take_profits=tuple(take_profits), stop_losses=tuple(stop_losses),
        allocation=None if allocation is None else tuple(allocation), exit_mode=exit_mode,
    )


@attrs.frozen
class SessionResult:
    """What a session ended with. `ok`: closed, flat at the broker and in the books, every leg final."""

    trade: TradeSnapshot
    events: tuple[SupervisorEvent, ...]
    sim_position: int
    elapsed: float  # wall-clock seconds the session took
    signal: Trigger | Expired | Failed | None
    reconciliations: int
    health: tuple[HealthEvent, ...] = ()  # the bar stream's health events (run_breakout's)

    @property
    def legs_final(self) -> bool:
        return all(leg.state in FINAL_LEG_STATES for leg in self.trade.legs)

    @property
    def ok(self) -> bool:
        """The day ended as a trade day must: flat at the broker and in the books, every leg final,
        the trade closed (or aborted/expired: its entry never took a share)."""
        return (
            self.trade.state in ("closed", "aborted")
            and self.sim_position == 0
            and self.trade.position == 0
            and self.legs_final
        )

    @property
    def outcome(self) -> str:
        """closed, expired (the watcher never fired), refused (the broker rejected the entry),
        aborted (the entry ended without a share otherwise), or the trade's state."""
        entry = self.trade.leg("entry")
        if self.trade.state == "aborted":
            return {"expired": "expired", "rejected": "refused"}.get(entry.state, "aborted")
        return self.trade.state

    def of_type(self, kind: type[SupervisorEvent]) -> list[SupervisorEvent]:
        return [event for event in self.events if isinstance(event, kind)]


SupervisorFactory = Callable[[Callable[[], float], Policy], SupervisorLike]


def _plain_supervisor(clock: Callable[[], float], policy: Policy) -> SupervisorLike:
    return Supervisor(clock, policy)


# the stream's limits `run_breakout` watches under unless told otherwise (`order-supervisor run`'s)
DEFAULT_HEALTH = HealthPolicy()


class BreakoutRun:
    """One breakout ladder on one supervisor, over any broker: the runner between them, the watcher
    deciding when. The caller drives it: `arm()` once, `on_bar(bar)` for each completed bar, the
    runner's pump (or push delivery) for the broker's events, `end_of_data()` when the bars end.
    `trigger_time(trigger)` says when a trigger was known (the latency stamps start there)."""

    def __init__(self, plan: TradePlan, level: float, supervisor: SupervisorLike, broker: BrokerPort, *,
                 watch_from: float, confirm: Confirm = "close", max_bars: int | None = None,
                 on_event: EventCallback | None = None,
                 trigger_time: Callable[[Trigger], float] = lambda trigger: trigger.time,
                 health: HealthPolicy | None = None,
                 on_health: Callable[[HealthEvent], None] | None = None) -> None:
        self.plan = plan
        self.supervisor = supervisor
        self.events: list[SupervisorEvent] = []
        supervisor.subscribe(self.events.append)
        self.runner = Runner(supervisor, broker, on_event=on_event)
        self.watcher = BreakoutWatcher(plan, level, confirm, max_bars=max_bars, start=watch_from)
        self.signal: Trigger | Expired | Failed | None = None
        self._trigger_time = trigger_time
        self.fresh = FreshBars(self.watcher, health)
        self.health: list[HealthEvent] = []
        self._on_health = on_health

    def note(self, event: HealthEvent, **_extra: object) -> None:
        """A health event of this run (the stream's, or a stale bar kept from the watcher)."""
        self.health.append(event)
        if self._on_health is not None:
            self._on_health(event)

    def arm(self) -> None:
        """Build the trade's machines (off the trigger path)."""
        self.runner.execute(self.supervisor.arm(self.plan))

    def on_bar(self, bar: Bar, now: float | None = None) -> bool:
        """A completed bar: True when the watcher signalled on it (the trade was triggered or expired).
        Given `now`, a bar older than the freshness limit then is kept from the watcher."""
        if now is not None and self.signal is None:
            stale = self.fresh.stale(bar, now)
            if stale is not None:
                self.note(attrs.evolve(stale, symbol=stale.symbol or self.plan.symbol))  # the sim's bars: no symbol
                return False
        found = self.watcher.on_bar(bar)
        if found is None:
            return False
        self.signal = found
        if isinstance(found, Trigger):
            self.runner.execute(self.supervisor.trigger(self.plan.trade_id, source_time=self._trigger_time(found)))
        else:
            self.runner.execute(self.supervisor.expire(self.plan.trade_id))
        return True

    def end_of_data(self) -> None:
        """The bars ended before the breakout: the single-fire watcher is over, the trade expires."""
        if self.signal is None:
            self.runner.execute(self.supervisor.expire(self.plan.trade_id))

    @property
    def trade(self) -> TradeSnapshot:
        return self.supervisor.trade(self.plan.trade_id)

    @property
    def finished(self) -> bool:
        """Nothing more can happen to the trade: closed or aborted, flat in the books, every leg final."""
        trade = self.trade
        return (trade.state in ("closed", "aborted") and trade.position == 0
                and all(leg.state in FINAL_LEG_STATES for leg in trade.legs))

    def result(self, broker_position: int, elapsed: float) -> SessionResult:
        return SessionResult(trade=self.trade, events=tuple(self.events), sim_position=broker_position,
                             elapsed=elapsed, signal=self.signal, reconciliations=self.runner.reconciliations,
                             health=tuple(self.health))


class _Resubscribe:
    """The sim's market-data port for one venue: a re-subscription goes to its `StallReplay`."""

    def __init__(self, replay: StallReplay) -> None:
        self.replay = replay

    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None:
        self.replay.subscribe()


def run_breakout(
    plan: TradePlan,
    level: float,
    *,
    bars: Sequence[Bar] | None = None,
    csv: str | Path | None = None,
    faults: Iterable[Fault | str] = (),
    policy: Policy | None = None,
    config: SimConfig | None = None,
    confirm: Confirm = "close",
    watch_after: float = DEFAULT_WATCH_AFTER,
    max_bars: int | None = None,
    seed: int = 0,
    on_event: EventCallback | None = None,
    make_supervisor: SupervisorFactory | None = None,
    on_step: Callable[[SimBroker, SupervisorLike], None] | None = None,
    health: HealthPolicy | None = DEFAULT_HEALTH,
    on_health: Callable[[HealthEvent], None] | None = None,
) -> SessionResult:
    """Replay `bars` (or the CSV at `csv`, default the bundled day) and supervise `plan`, triggered
    by a breakout of `level`. `make_supervisor(clock, policy)` builds the supervisor (default a
    plain `Supervisor`; the CLI's `--journal` gives a `JournalRecorder` there)."""
    started = time.perf_counter()
    day = list(bars) if bars is not None else load_bars(csv if csv is not None else bundled_day())
    sim = SimBroker(day, config=config, faults=faults, seed=seed, symbol=plan.symbol)
    supervisor = (make_supervisor or _plain_supervisor)(sim.now, policy or Policy())
    # the sim saw a close at its last price point, a little before the bar's nominal end
    run = BreakoutRun(plan, level, supervisor, sim, watch_from=day[0].time + watch_after, confirm=confirm,
                      max_bars=max_bars, on_event=on_event, trigger_time=lambda found: min(found.time, sim.now()),
                      health=health, on_health=on_health)
    runner = run.runner
    replay = StallReplay(sim)
    stream = StreamHealth(run.fresh.policy, _Resubscribe(replay), run.note)
    if health is not None:  # without a policy the stream is not watched (as before health existed)
        stream.watch(plan.symbol, sim.now())

    run.arm()
    runner.pump()
    while sim.step():
        runner.pump()
        if on_step is not None:
            on_step(sim, supervisor)
        closed = sim.last_closed
        for bar in [*replay.after_step(), *([closed] if closed is not None else [])]:
            stream.heard(plan.symbol, bar, sim.now())
            if run.on_bar(bar, sim.now() if health is not None else None):
                runner.pump()
        stream.check(sim.now(), {plan.symbol} if run.signal is None else set())
    run.end_of_data()
    quiet = 0
    for _ in range(_MAX_DRAIN_PUMPS):
        sim.step()  # at the end of data: lets every pending latency and expiry come due
        quiet = quiet + 1 if runner.pump() == 0 else 0
        if on_step is not None:
            on_step(sim, supervisor)
        if quiet >= 2:
            break
    return run.result(sim.position(plan.symbol), time.perf_counter() - started)
