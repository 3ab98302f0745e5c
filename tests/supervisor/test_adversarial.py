"""Property: against an adversarial broker, the supervisor keeps its promises after every event.

The broker (`model_broker.ModelBroker`) fills at the prices of a random walk, reports in IB's
orders and out of them, refuses, rejects, duplicates, corrects and disconnects (see its module).
A random history of those steps is played against one trade, for AUTO (detached ladders) and
ATTACHED (brackets) exit modes, with one to three take-profits or none (a stop-only plan), and
after every step:

- the broker is never short;
- once everything in flight has landed, the broker holds no more working exit quantity than the
  position, unless the broker refused the very command that would have cut it;
- once the grace period has passed, every share the broker holds is under a working stop (with
  the connection up), unless the supervisor said `ProtectionFailed`;
- once every report has been delivered, the supervisor counts exactly the broker's executions:
  none twice (duplicates, corrections before their originals), none dropped;
- no command is repeated without a new fact about its order: an order is placed once, a cancel
  goes again only after the broker refused it or listed the order as open in a reconciliation,
  a modify only after the last one was answered;
- every call returns, with a bounded number of commands.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import attrs
from factories import plan
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from model_broker import Choices, ModelBroker

from supervisor import events as ev
from supervisor.clock import ManualClock
from supervisor.core import Supervisor
from supervisor.plan import ExitMode
from supervisor.policy import Policy
from supervisor.port import (
    Action,
    BrokerEvent,
    CancelOrder,
    CancelRejected,
    Command,
    ExecutionReported,
    ModifyOrder,
    OrderType,
    PlaceOrder,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)

GRACE = 2.0
MAX_DELAY = 0.5
EXAMPLES = int(os.environ.get("ADVERSARIAL_EXAMPLES", "2000"))
STEPS = ["move", "move", "move", "process", "process", "deliver", "deliver", "deliver", "deliver", "reorder",
         "tick", "tick", "duplicate", "reject", "disconnect", "reconnect", "reconcile"]


SupervisorMaker = Callable[[ManualClock, Policy], Any]


@attrs.define
class Run:
    sup: Any  # a Supervisor, or a JournalRecorder around one
    broker: ModelBroker
    clock: ManualClock
    events: list[ev.SupervisorEvent] = attrs.field(factory=list)
    answered: dict[str, int] = attrs.field(factory=dict)  # facts delivered about each order_ref
    last_cmd: dict[tuple[str, str], int] = attrs.field(factory=dict)  # (kind, ref) -> facts seen then
    lost: bool = False  # reports were lost in an outage since the last reconciliation
    short_since: float | None = None
    excess_since: int = 0  # index in `events` when the excess was first seen

    # -- moving values between the two sides -------------------------------------------------
    def feed(self, event: BrokerEvent) -> None:
        ref = getattr(event, "order_ref", None)
        if ref:
            self.answered[ref] = self.answered.get(ref, 0) + 1
        if isinstance(event, ExecutionReported):
            self.broker.delivered.append(event)
        self.carry(self.sup.handle(event))

    def carry(self, commands: list[Command]) -> None:
        assert len(commands) < 60, f"one call returned {len(commands)} commands"
        for cmd in commands:
            self.check_new_fact(cmd)
        for local in self.broker.take(commands):
            self.feed(local)
        settled = self.sup.settle()
        if settled:
            self.carry(settled)

    def check_new_fact(self, cmd: Command) -> None:
        """A command for an order goes again only after a fact about that order arrived."""
        kind = type(cmd).__name__
        key = (kind, cmd.order_ref)
        facts = self.answered.get(cmd.order_ref, 0)
        if isinstance(cmd, PlaceOrder):
            assert key not in self.last_cmd, f"{cmd.order_ref} placed twice"
        elif key in self.last_cmd:
            assert facts > self.last_cmd[key], f"{kind} {cmd.order_ref} repeated with no new fact in between"
        self.last_cmd[key] = facts

    # -- the checks --------------------------------------------------------------------------
    def settled(self) -> bool:
        return self.broker.connected and not self.broker.inbox and not self.broker.outbox

    def check(self) -> None:
        broker = self.broker
        assert broker.position() >= 0 or broker.released_oversized, f"the broker is short {broker.position()}"
        if not self.settled():
            return
        refused = [e for e in self.events[self.excess_since:]
                   if isinstance(e, (ev.CommandRefused, ev.RetryLimitReached, ev.InvalidTransition))]
        if broker.working_exits() > broker.position():
            assert refused or broker.released_oversized, (
                f"working exits {broker.working_exits()} > position {broker.position()} with nothing in flight")
        else:
            self.excess_since = len(self.events)
        if not self.lost:
            truth_entry = sum(e.qty for e in broker.executions.values() if e.action is Action.BUY)
            truth_exit = sum(e.qty for e in broker.executions.values() if e.action is Action.SELL)
            trade = self.sup.trade("T1")
            assert (trade.entry_filled, trade.exit_filled) == (truth_entry, truth_exit), trade
        failed = any(isinstance(e, ev.ProtectionFailed) for e in self.events)
        if broker.working_stops() < broker.position() and not failed:
            if self.short_since is None:
                self.short_since = self.clock.now
            waited = self.clock.now - self.short_since
            assert waited <= GRACE + MAX_DELAY + 1.5 or refused, (
                f"stops {broker.working_stops()} < position {broker.position()} for {waited:.1f}s")
        else:
            self.short_since = None


# the take-profits of a plan: three ladders, and none (a stop-only plan: the entry and its stop)
LADDERS: list[tuple[float, ...]] = [(10.5,), (10.5, 11.0), (10.5, 11.0, 11.5), ()]


def play(data: st.DataObject, mode: ExitMode, make: SupervisorMaker | None = None,
         ladders: list[tuple[float, ...]] = LADDERS) -> Run:
    tps = data.draw(st.sampled_from(ladders), label="levels")
    qty = data.draw(st.integers(1, 300), label="qty")
    choices = Choices(
        refuse_cancel=data.draw(st.sampled_from([0.0, 0.0, 0.3, 1.0]), label="refuse_cancel"),
        refuse_modify=data.draw(st.sampled_from([0.0, 0.0, 0.3, 1.0]), label="refuse_modify"),
        reject_place=data.draw(st.sampled_from([0.0, 0.0, 0.1, 0.4]), label="reject_place"),
        reject_code=data.draw(st.sampled_from([201, 202, 110]), label="reject_code"),
        parent_sized=data.draw(st.booleans(), label="parent_sized"),
        duplicate=data.draw(st.sampled_from([0.0, 0.3]), label="duplicate"),
        correct=data.draw(st.sampled_from([0.0, 0.3]), label="correct"),
        piece=data.draw(st.sampled_from([1000, 1, 7, 40]), label="piece"),
    )
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = random.Random(seed)
    clock = ManualClock(1000.0)
    policy = Policy(protection_grace=GRACE, status_grace=GRACE, retry_backoff=0.5)
    sup = make(clock, policy) if make is not None else Supervisor(clock, policy)
    run = Run(sup, ModelBroker(choices, rng.random, clock, MAX_DELAY), clock)
    sup.subscribe(run.events.append)
    run.carry(sup.submit(plan(quantity=qty, tps=tps, stop=9.5, exit_mode=mode)))
    for action in data.draw(st.lists(st.sampled_from(STEPS), min_size=10, max_size=50), label="steps"):
        step(run, action, rng)
        run.check()
    finish(run)
    return run


def step(run: Run, action: str, rng: random.Random) -> None:
    broker = run.broker
    if action == "process":
        broker.process()
    elif action == "move":
        broker.move(round(max(broker.price + rng.choice([-0.6, -0.3, -0.1, 0.1, 0.3, 0.6]), 8.0), 2))
    elif action in ("deliver", "reorder") and broker.outbox:
        index = rng.randrange(min(3, len(broker.outbox))) if action == "reorder" else 0
        run.feed(broker.outbox.pop(index).event)
    elif action == "tick":
        while overdue := broker.overdue():  # no report waits longer than MAX_DELAY
            broker.outbox.remove(overdue[0])
            run.feed(overdue[0].event)
        run.clock.advance(rng.choice([0.25, 0.5, 1.0, 1.5]))
        run.carry(run.sup.tick())
    elif action == "duplicate" and broker.delivered:
        run.feed(rng.choice(broker.delivered))
    elif action == "reject" and broker.orders:
        broker.reject_live(rng.choice(sorted(broker.orders)))
    elif action == "disconnect":  # even while already down
        run.lost = True
        run.feed(broker.disconnect())
    elif action == "reconnect" and not broker.connected:
        run.feed(broker.reconnect())
        reconcile(run)
    elif action == "reconcile" and broker.connected:
        reconcile(run)


def reconcile(run: Run) -> None:
    truth = run.broker.truth()
    # the broker's truth is a fact about every order it lists: an order still open after an
    # outage may be asked again (the cancel sent before the outage may never have arrived)
    for ref in {o.order_ref for o in truth.open_orders} | {e.order_ref for e in truth.executions}:
        run.answered[ref] = run.answered.get(ref, 0) + 1
    run.carry(run.sup.reconcile(truth))
    run.lost = False


def finish(run: Run) -> None:
    """Let everything land: the connection back, every command processed, every report delivered."""
    if not run.broker.connected:
        run.feed(run.broker.reconnect())
        reconcile(run)
    for _ in range(30):
        run.broker.process()
        while run.broker.outbox:
            run.feed(run.broker.outbox.pop(0).event)
        run.clock.advance(1.0)
        run.carry(run.sup.tick())
        run.check()
        if not run.broker.inbox and not run.broker.outbox:
            break
    assert not run.broker.inbox, "the supervisor never stopped sending"
    assert not run.broker.outbox


# Each property runs in shards of its examples, each from its own seed: the same number of examples
# in all, spread over the workers of a parallel run instead of one long test on one of them.
SHARDS = 4


def _sharded(mode: ExitMode, shard: int) -> Callable[[], None]:
    @seed(0xAD0 + 16 * shard + (mode is ExitMode.ATTACHED))
    @settings(max_examples=max(EXAMPLES // SHARDS, 1), deadline=None)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        play(data, mode)

    return run  # type: ignore[no-any-return]


def _stop_only(mode: ExitMode) -> Callable[[], None]:
    """Stop-only plans alone, so each run has some whatever the shards draw."""
    @seed(0x5709 + (mode is ExitMode.ATTACHED))
    @settings(max_examples=max(EXAMPLES // 16, 1), deadline=None)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        play(data, mode, ladders=[()])

    return run  # type: ignore[no-any-return]


test_stop_only_plans_keep_their_promises_against_an_adversarial_broker = _stop_only(ExitMode.AUTO)
test_attached_stop_only_plans_keep_their_promises_against_an_adversarial_broker = _stop_only(ExitMode.ATTACHED)

for _shard in range(SHARDS):
    globals()[f"test_auto_ladders_keep_their_promises_against_an_adversarial_broker_{_shard}"] = (
        _sharded(ExitMode.AUTO, _shard))
    globals()[f"test_attached_brackets_keep_their_promises_against_an_adversarial_broker_{_shard}"] = (
        _sharded(ExitMode.ATTACHED, _shard))


def test_the_model_broker_refuses_rejects_and_reorders() -> None:
    """The adversary really does what the property relies on (a property against a tame broker
    proves nothing)."""
    clock = ManualClock(0.0)
    broker = ModelBroker(Choices(refuse_cancel=1.0, refuse_modify=1.0, piece=10), lambda: 0.0, clock)
    order = PlaceOrder(order_ref="T1:tp1", symbol="ABC", action=Action.SELL, order_type=OrderType.LIMIT,
                       quantity=30, limit_price=10.0)
    broker.take([order])
    broker.process()
    broker.take([CancelOrder(order_ref="T1:tp1"), ModifyOrder(order_ref="T1:tp1", quantity=20)])
    broker.process()
    kinds = [type(r.event) for r in broker.outbox]
    assert CancelRejected in kinds
    assert ReplaceRejected in kinds
    assert ReplaceAccepted not in kinds
    broker.move(10.0)
    reports = [r.event for r in broker.outbox]
    status_at = next(i for i, e in enumerate(reports) if isinstance(e, StatusObserved) and e.filled == 10)
    exec_at = next(i for i, e in enumerate(reports) if isinstance(e, ExecutionReported))
    assert status_at < exec_at  # status before execution, as IB usually does
    broker.disconnect()
    assert not broker.outbox
    assert not broker.connected
