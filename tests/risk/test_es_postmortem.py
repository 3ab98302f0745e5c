"""The ES postmortem (seeds/003), replayed: a short ES position, and an exit that would buy one
contract more than the short: the exit guard, exits that shrink to the short the broker reports
(a contract covered by hand outside this client), and the loss in dollars.
"""

from __future__ import annotations

import itertools

from es import ENTRY_PRICE, EXIT_PRICE, LOSS, es_plan

from supervisor.clock import ManualClock
from supervisor.core import Supervisor
from supervisor.events import PositionClosedOutside, SupervisorEvent, TradeClosed
from supervisor.guards import check_exit
from supervisor.plan import Side
from supervisor.port import (
    Action,
    BrokerEvent,
    BrokerTruth,
    CancelOrder,
    Command,
    ExecutionReported,
    ModifyOrder,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderSent,
    OrderType,
    PlaceOrder,
    Position,
)
from supervisor.risk import RiskBook


class EsDesk:
    """A supervisor on a manual clock and a broker that acknowledges whatever it is sent."""

    def __init__(self) -> None:
        self.clock = ManualClock(1_765_550_000.0)
        self.sup = Supervisor(self.clock)
        self.events: list[SupervisorEvent] = []
        self.sup.subscribe(self.events.append)
        self.sent: list[Command] = []
        self.fills: list[ExecutionReported] = []
        self._ids = itertools.count(1)
        self._execs = itertools.count(1)
        self.working: dict[str, PlaceOrder] = {}

    def feed(self, *events: BrokerEvent) -> list[Command]:
        out: list[Command] = []
        for event in events:
            out += self.sup.handle(event)
        return out

    def settle(self, commands: list[Command]) -> None:
        """The broker takes every command at once: places are acknowledged, cancels confirmed."""
        while commands:
            self.sent += commands
            follow: list[Command] = []
            for cmd in commands:
                if isinstance(cmd, PlaceOrder):
                    oid = next(self._ids)
                    self.working[cmd.order_ref] = cmd
                    follow += self.feed(OrderSent(cmd.order_ref, oid, self.clock.now),
                                        OrderAccepted(cmd.order_ref, oid, cmd.quantity, cmd.limit_price,
                                                      cmd.stop_price))
                elif isinstance(cmd, CancelOrder):
                    self.working.pop(cmd.order_ref, None)
                    follow += self.feed(OrderCancelled(cmd.order_ref, None, "cancelled", self.clock.now))
            commands = follow

    def execute(self, leg: str, action: Action, qty: int, price: float) -> None:
        self.clock.advance(1.0)
        event = ExecutionReported(f"es:{leg}", None, f"x{next(self._execs)}", action, qty, price, self.clock.now, "ES")
        self.fills.append(event)
        self.settle(self.feed(event))

    def working_buys(self) -> int:
        """Contracts the working BUY orders would buy (an OCA group counts once)."""
        groups: dict[str, int] = {}
        for ref in self.sup.trade("es").working_orders:
            cmd = self.working[ref]
            if cmd.action is Action.BUY:
                key = cmd.oca_group or ref
                groups[key] = max(groups.get(key, 0), cmd.quantity)
        return sum(groups.values())

    def placed_after(self, mark: int) -> list[PlaceOrder]:
        return [c for c in self.sent[mark:] if isinstance(c, PlaceOrder)]


def short_es(quantity: int) -> EsDesk:
    desk = EsDesk()
    desk.settle(desk.sup.submit(es_plan(side=Side.SHORT, quantity=quantity, stop=6900.50, target=6880.50)))
    desk.execute("entry", Action.SELL, quantity, ENTRY_PRICE)
    assert desk.sup.trade("es").state == "protected"
    assert desk.working_buys() == quantity  # the stop and the target of one OCA group
    return desk


def test_the_exit_guard_refuses_the_postmortems_flatten() -> None:
    # short 1; the "flatten" bought 2 (or bought 1 after the short was already covered)
    assert str(check_exit(-1, Action.BUY, 2)) == "exit_would_open: BUY 2 against a position of -1 would leave +1"
    assert str(check_exit(0, Action.BUY, 1)) == "exit_would_open: BUY 1 against a flat position would open +1"
    assert check_exit(-1, Action.BUY, 1) is None


def test_after_the_stop_covers_the_short_nothing_more_is_bought() -> None:
    desk = short_es(1)
    mark = len(desk.sent)
    desk.execute("sl1", Action.BUY, 1, 6900.50)  # the stop covers the short
    desk.working.pop("es:tp1")
    desk.settle(desk.feed(OrderCancelled("es:tp1", None, "OCA group filled", desk.clock.now)))  # IB's OCA cancel
    # the bot, unaware, asks the supervisor to stop the trade and lets time pass
    desk.settle(desk.sup.cancel("es"))
    desk.clock.advance(30.0)
    desk.settle(desk.sup.tick())
    # a reconnect re-sends the stop's execution: still counted once
    desk.settle(desk.feed(ExecutionReported("es:sl1", None, "x2", Action.BUY, 1, 6900.50, desk.clock.now, "ES")))
    assert [c for c in desk.placed_after(mark) if c.action is Action.BUY] == []
    assert desk.working_buys() == 0
    trade = desk.sup.trade("es")
    assert (trade.state, trade.position, trade.exit_filled) == ("closed", 0, 1)
    assert [type(e).__name__ for e in desk.events if isinstance(e, TradeClosed)] == ["TradeClosed"]


def test_exits_never_stay_larger_than_the_short_the_broker_reports() -> None:
    desk = short_es(2)
    trade = desk.sup.trade("es")
    # a minute later one contract was bought back from TWS by hand: the broker holds -1, this client
    # saw no execution
    desk.clock.advance(60.0)
    truth = BrokerTruth(
        open_orders=tuple(OpenOrder(ref, None, "ES", Action.BUY,
                                    OrderType.LIMIT if "tp" in ref else OrderType.STOP, 2,
                                    oca_group=desk.working[ref].oca_group)
                          for ref in trade.working_orders),
        positions=(Position("ES", -1),),
        executions=tuple(desk.fills),  # the day's executions: the entry's, at its time
        time=desk.clock.now,
    )
    desk.clock.advance(5.0)
    commands = desk.sup.reconcile(truth)
    shrunk = {c.order_ref: c.quantity for c in commands if isinstance(c, ModifyOrder)}
    cancelled = {c.order_ref for c in commands if isinstance(c, CancelOrder)}
    left = max((shrunk.get(ref, 2) for ref in trade.working_orders if ref not in cancelled), default=0)
    assert left <= 1, f"working exits would still buy {left} against a short of 1"
    [outside] = [e for e in desk.events if isinstance(e, PositionClosedOutside)]
    assert (outside.shares, outside.broker_position, outside.executed) == (1, -1, 2)
    assert desk.sup.trade("es").position == 1


def test_the_supervisor_reports_the_loss_in_dollars() -> None:
    desk = EsDesk()
    risk = RiskBook()
    plan = es_plan(stop=6880.50)
    risk.opened(plan, desk.clock.now)
    desk.settle(desk.sup.submit(plan))
    desk.execute("entry", Action.BUY, 1, ENTRY_PRICE)
    desk.execute("sl1", Action.SELL, 1, EXIT_PRICE)  # the stop gapped to the postmortem's exit
    for fill in desk.fills:
        risk.executed(fill)
    assert risk.model.realized_pnl == LOSS  # the risk book has it right
    closed = [e for e in desk.events if isinstance(e, TradeClosed)]
    assert [e.realized_pnl for e in closed] == [LOSS]
