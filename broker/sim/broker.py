# How the simulated broker runs: a `BrokerPort` over the exchange (book.py), driven by its own
# clock. The clock is bar time: `step()` moves it to the next price point (four per bar, see
# bars.py), first running whatever fell due on the way (orders, cancels and modifies reaching the
# exchange after `ack_latency`, corrections), then matching the book at that price. Everything the
# broker says is queued with the time it becomes visible (`fill_latency` delays executions) and
# `poll()` hands out what is visible at `now()`, each event once, in order.
# Commands answer only through events: OrderSent at once on PlaceOrder; OrderAccepted (or
# OrderRejected) when the order reaches the exchange; ReplaceAccepted/ReplaceRejected and
# OrderCancelled/CancelRejected when a modify or cancel does. An unknown ref in ModifyOrder or
# CancelOrder is answered with ReplaceRejected/CancelRejected code 10147 naming the ref; a
# PlaceOrder whose parent_ref is unknown is rejected with code 135; placing an order_ref twice is a
# programming error and raises ValueError. The faults of faults.py are applied here, where facts
# become events; each comment names the fault it implements.
from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence

import attrs

from broker.sim import config as codes
from broker.sim.bars import Bar, Quote
from broker.sim.book import Book, Ended, Fact, Filled, Released, Resized
from broker.sim.config import SimConfig
from broker.sim.faults import Fault, FaultName, Faults
from broker.sim.ledger import Ledger
from broker.sim.orders import OrderState, SimOrder, exec_id, round_to_tick
from supervisor.port import (
    BrokerEvent,
    BrokerTruth,
    CancelOrder,
    CancelRejected,
    Command,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    OrderType,
    PlaceOrder,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)

# one price point: time, price, opens a bar (a possible gap), in regular hours, the bar it closes
_Point = tuple[float, float, bool, bool, Bar | None]
_Request = ModifyOrder | CancelOrder


class SimBroker:
    """The simulated exchange behind the broker port. Deterministic: same inputs, same events."""

    def __init__(
        self,
        bars: Sequence[Bar],
        *,
        quotes: Sequence[Quote] | None = None,
        config: SimConfig | None = None,
        faults: Faults | Iterable[Fault | str] = (),
        seed: int = 0,
        symbol: str = "SIM",
    ) -> None:
        if not bars:
            raise ValueError("SimBroker needs at least one bar")
        self.config = config or SimConfig()
        self.faults = faults if isinstance(faults, Faults) else Faults.of(faults)
        self.symbol = symbol
        self.bars = tuple(bars)
        self.lost_events: list[BrokerEvent] = []  # what a disconnect swallowed, for tests
        self.last_closed: Bar | None = None  # the bar whose close the last step() visited
        self._session = self.config.session
        self._book = Book(self.config, random.Random(seed))
        self._ledger = Ledger()
        self._points = self._price_points(self.bars)
        self._i = 0
        self._now = self.bars[0].time
        self._last_price = self.bars[0].open
        self._quotes = tuple(quotes or ())
        self._quote_i = 0
        self._bid: float | None = None
        self._ask: float | None = None
        self._seq = itertools.count()
        self._outbox: list[tuple[float, int, BrokerEvent]] = []
        self._actions: list[tuple[float, int, Callable[[], None]]] = []
        self._held_acks: dict[str, list[BrokerEvent]] = {}
        self._next_order_id = self.config.first_order_id
        self._counts = {"orders": 0, "children": 0, "executions": 0, "cancels": 0}
        self._finished = False
        self._outages = self.faults.outages(self.bars[0].time, self.config.outage_seconds)
        for lost, restored in self._outages:
            self._push(lost, ConnectionLost(lost))
            self._push(restored, ConnectionRestored(restored))

    def _price_points(self, bars: Sequence[Bar]) -> list[_Point]:
        points: list[_Point] = []
        for bar in bars:
            rth = self._session.in_regular_hours(bar.time)
            times, prices = bar.point_times(), bar.path()
            points += [(times[k], prices[k], k == 0, rth, bar if k == 3 else None) for k in range(4)]
        return points

    # -- the port -------------------------------------------------------------------------------

    def execute(self, command: Command) -> None:
        if isinstance(command, PlaceOrder):
            self._place(command)
        elif isinstance(command, ModifyOrder):
            self._request(command, self._modify)
        elif isinstance(command, CancelOrder):
            self._request(command, self._cancel)
        else:
            raise TypeError(f"SimBroker.execute: not a broker command: {command!r}")
        self._run_actions(self._now)  # with no ack latency the exchange answers at once

    def poll(self) -> list[BrokerEvent]:
        events: list[BrokerEvent] = []
        while self._outbox and self._outbox[0][0] <= self._now:
            events.append(heapq.heappop(self._outbox)[2])
        return events

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        if not self.connected:
            raise ConnectionError(f"SimBroker: not connected at {self._now} (simulated outage)")
        return BrokerTruth(
            open_orders=self._book.open_orders(),
            positions=self._ledger.positions(self.config.account),
            executions=self._ledger.since(executions_since),
            time=self._now,
        )

    # -- driving the clock ----------------------------------------------------------------------

    def now(self) -> float:
        return self._now

    @property
    def connected(self) -> bool:
        return not any(lost <= self._now < restored for lost, restored in self._outages)

    @property
    def last_price(self) -> float:
        return self._last_price

    def position(self, symbol: str | None = None) -> int:
        return self._ledger.position(symbol or self.symbol)[0]

    def step(self) -> bool:
        """Advance to the next price point and match the book there. False at the end of data
        (the first such call also runs out every pending latency and expires DAY orders)."""
        self.last_closed = None
        if self._i >= len(self._points):
            self._finish()
            return False
        time, price, gap, rth, closing = self._points[self._i]
        self._i += 1
        self._run_actions(time)
        self._now = time
        self._update_quote(time)
        self._report(self._book.expire(time))
        self._last_price = price
        self._report(self._book.match(time, price, gap=gap, rth=rth, bid=self._bid, ask=self._ask))
        self.last_closed = closing
        return True

    def next_bar(self) -> Bar | None:
        """Step until a bar closes and return it (None at the end of data)."""
        while self.step():
            if self.last_closed is not None:
                return self.last_closed
        return None

    def advance_to(self, time: float) -> list[Bar]:
        """Visit every price point up to `time`, then let the clock reach `time`. Returns the bars
        that closed on the way."""
        closed: list[Bar] = []
        while self._i < len(self._points) and self._points[self._i][0] <= time:
            self.step()
            if self.last_closed is not None:
                closed.append(self.last_closed)
        self._run_actions(time)
        self._now = max(self._now, time)
        return closed

    def run(self) -> None:
        while self.step():
            pass

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        end = self.bars[-1].end
        self._run_actions(end)
        self._now = max(self._now, end)
        self._report(self._book.expire(end))
        self._run_actions(math.inf)
        if self._outbox:
            self._now = max(self._now, *(due for due, _, _ in self._outbox))

    def _update_quote(self, time: float) -> None:
        while self._quote_i < len(self._quotes) and self._quotes[self._quote_i].time <= time:
            self._bid, self._ask = self._quotes[self._quote_i].bid, self._quotes[self._quote_i].ask
            self._quote_i += 1

    def _run_actions(self, until: float) -> None:
        while self._actions and self._actions[0][0] <= until:
            due, _, action = heapq.heappop(self._actions)
            self._now = max(self._now, due)
            action()

    def _schedule(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._actions, (self._now + delay, next(self._seq), action))

    def _push(self, due: float, event: BrokerEvent) -> None:
        heapq.heappush(self._outbox, (due, next(self._seq), event))

    def _emit(self, event: BrokerEvent, delay: float = 0.0) -> None:
        """Queue an event from the exchange; one that would arrive during an outage is lost."""
        due = self._now + delay
        if any(lost <= due < restored for lost, restored in self._outages):
            self.lost_events.append(event)  # fault disconnect
        else:
            self._push(due, event)

    # -- commands -------------------------------------------------------------------------------

    def _place(self, command: PlaceOrder) -> None:
        ref = command.order_ref
        if ref in self._book.by_ref:
            raise ValueError(f"SimBroker: order_ref {ref!r} was already placed (orders are keyed by order_ref)")
        if not self.connected:
            self._push(self._now, OrderRejected(ref, None, codes.CODE_NOT_CONNECTED, codes.ib_message(504), self._now))
            return
        self._counts["orders"] += 1
        quantity = command.quantity
        parent = self._book.by_ref.get(command.parent_ref) if command.parent_ref is not None else None
        if command.parent_ref is not None:
            self._counts["children"] += 1
            if parent is not None and self.faults.hits(FaultName.PARENT_SIZED_CHILDREN, self._counts["children"]):
                quantity = parent.command.quantity  # fault parent-sized-children: the 70/30 ladder sized 100/100
        order = SimOrder.from_command(command, self._next_order_id, self._counts["orders"], quantity)
        self._next_order_id += 1
        self._book.add(order)
        self._push(self._now, OrderSent(ref, order.order_id, self._now))  # local: the socket took it
        problem: tuple[int, str] | None = None
        if command.symbol != self.symbol:
            problem = (codes.CODE_NO_SECURITY, f"{command.symbol!r} (this sim trades {self.symbol!r})")
        elif command.parent_ref is not None and parent is None:
            problem = (codes.CODE_PARENT_NOT_FOUND, f"parent order ref {command.parent_ref!r} is unknown")
        self._schedule(self.config.ack_latency, lambda: self._arrive(order, problem))

    def _arrive(self, order: SimOrder, problem: tuple[int, str] | None) -> None:
        if order.state is not OrderState.PENDING:
            return  # cancelled with its parent before it got here
        code = self.faults.reject_code(order.number)  # fault reject:CODE
        parent = self._book.by_ref.get(order.command.parent_ref or "")
        if problem is None and code is not None:
            problem = (code, f"simulated rejection of order #{order.number}")
        if problem is None and parent is not None and parent.state in (OrderState.CANCELLED, OrderState.REJECTED):
            problem = (codes.CODE_REJECTED, f"parent {parent.ref} is {parent.state.value}")
        if problem is not None:
            self._book.reject(order)
            self._emit(OrderRejected(order.ref, order.order_id, problem[0], codes.ib_message(*problem), self._now))
            return
        expires = self._session.day_order_expiry(self._now, order.command.outside_rth) if order.is_day else None
        self._book.accept(order, expires)
        ack: list[BrokerEvent] = [
            OrderAccepted(order.ref, order.order_id, order.quantity, order.limit_price, order.stop_price, self._now),
            self._status(order, order.state.value),
        ]
        if self.faults.hits(FaultName.DROP_ACK, order.number):
            self.lost_events += ack  # fault drop-ack: the acknowledgement never arrives
            ack = []
        if self.faults.hits(FaultName.STATUS_WITHOUT_FILL, order.number):
            # fault status-without-fill: IB said Filled while no share had executed
            fake = StatusObserved(order.ref, order.order_id, "Filled", order.quantity, 0, self._last_price, self._now)
            ack.append(fake)
        if self.faults.hits(FaultName.REORDER, order.number):
            self._held_acks[order.ref] = ack  # fault reorder: released after the first execution
            return
        for event in ack:
            self._emit(event)

    def _request(self, command: _Request, apply: Callable[[str, SimOrder | None, _Request], None]) -> None:
        if not self.connected:
            kind = ReplaceRejected if isinstance(command, ModifyOrder) else CancelRejected
            self._push(self._now, kind(command.order_ref, command.order_id, 504, codes.ib_message(504), self._now))
            return
        order = self._book.find(command.order_ref, command.order_id)
        self._schedule(self.config.ack_latency, lambda: apply(command.order_ref, order, command))

    def _modify(self, ref: str, order: SimOrder | None, command: _Request) -> None:
        assert isinstance(command, ModifyOrder)
        problem: tuple[int, str] | None = None
        if order is None:
            problem = (codes.CODE_ORDER_NOT_FOUND, f"no order with ref {ref!r}")
        elif order.state is OrderState.FILLED:
            problem = (codes.CODE_CANT_MODIFY_FILLED, f"{ref} is Filled")
        elif order.state.final:
            problem = (codes.CODE_ORDER_NOT_FOUND, f"{ref} is {order.state.value}")
        elif command.quantity is not None and command.quantity <= order.filled:
            problem = (codes.CODE_REJECTED, f"quantity {command.quantity} is not above the filled {order.filled}")
        elif command.limit_price is not None and order.order_type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            problem = (codes.CODE_REJECTED, f"{order.order_type.value} order {ref} has no limit price")
        elif command.stop_price is not None and order.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT):
            problem = (codes.CODE_REJECTED, f"{order.order_type.value} order {ref} has no stop price")
        if problem is not None or order is None:
            code, detail = problem or (codes.CODE_ORDER_NOT_FOUND, ref)
            self._emit(ReplaceRejected(ref, command.order_id, code, codes.ib_message(code, detail), self._now))
            return
        self._book.modify(order, command.quantity, command.limit_price, command.stop_price)
        self._emit(
            ReplaceAccepted(ref, order.order_id, order.quantity, order.limit_price, order.stop_price, self._now)
        )
        self._emit(self._status(order, order.state.value))

    def _cancel(self, ref: str, order: SimOrder | None, command: _Request) -> None:
        if order is None:
            detail = f"no order with ref {ref!r}"
            self._emit(CancelRejected(ref, command.order_id, 10147, codes.ib_message(10147, detail), self._now))
            return
        if order.state.final:
            detail = f"{ref} is {order.state.value}"
            self._emit(CancelRejected(ref, order.order_id, 161, codes.ib_message(161, detail), self._now))
            return
        if order.state is OrderState.WORKING and order.remaining > 0:
            self._counts["cancels"] += 1
            if self.faults.hits(FaultName.LATE_FILL, self._counts["cancels"]):
                # fault late-fill: the exchange filled it before the cancel took effect, and the
                # cancel confirmation overtakes the execution report (IB can do this: real world)
                self._report_ended(order, "cancelled by request")
                price = order.limit_price if order.limit_price is not None else self._last_price
                self._report(self._book.fill(order, order.remaining, price, self._now))
                return
        self._report(self._book.cancel(order, "cancelled by request", self._now))

    # -- facts become events --------------------------------------------------------------------

    def _status(self, order: SimOrder, status: str) -> StatusObserved:
        return StatusObserved(order.ref, order.order_id, status, order.filled, order.remaining, order.avg_price,
                              self._now)

    def _report(self, facts: list[Fact]) -> None:
        for fact in facts:
            if isinstance(fact, Filled):
                self._report_fill(fact)
            elif isinstance(fact, Ended):
                self._report_ended(fact.order, fact.reason)
            elif isinstance(fact, Resized | Released):
                self._emit(self._status(fact.order, fact.order.state.value))

    def _report_fill(self, fact: Filled) -> None:
        order = fact.order
        self._counts["executions"] += 1
        number = self._counts["executions"]
        eid = exec_id(order.order_id, number)
        execution = ExecutionReported(order.ref, order.order_id, eid, order.action, fact.qty, fact.price, fact.time,
                                      order.command.symbol)
        self._ledger.record(execution)
        delay = self.config.fill_latency
        self._emit(execution, delay)
        if self.faults.hits(FaultName.DUPLICATE_EXECUTIONS, number):
            self._emit(execution, delay)  # fault duplicate-executions: the same execDetails twice
        status = "Filled" if fact.remaining == 0 else "Submitted"
        self._emit(StatusObserved(order.ref, order.order_id, status, fact.filled, fact.remaining, fact.avg_price,
                                  fact.time), delay)
        self._emit(self._commission(eid, fact.qty, fact.time), delay)
        self._release_ack(order, delay)
        if self.faults.hits(FaultName.CORRECTION, number):
            self._schedule(delay + self.config.correction_delay, lambda: self._correct(execution))

    def _correct(self, original: ExecutionReported) -> None:
        # fault correction: IB re-sends the execution under `<id>.01` with the corrected figures
        tick = self.config.tick_size
        price = max(round_to_tick(original.price + self.config.correction_ticks * tick, tick), tick)
        corrected = attrs.evolve(original, exec_id=original.exec_id + ".01", price=price)
        self._ledger.correct(original.exec_id, corrected)
        self._emit(corrected)
        self._emit(self._commission(corrected.exec_id, corrected.qty, self._now))

    def _commission(self, eid: str, qty: int, time: float) -> CommissionReported:
        amount = max(qty * self.config.commission_per_share, self.config.min_commission)
        return CommissionReported(eid, round(amount, 6), self.config.currency, time)

    def _report_ended(self, order: SimOrder, reason: str) -> None:
        self._release_ack(order, 0.0)
        self._emit(OrderCancelled(order.ref, order.order_id, reason, self._now))
        self._emit(self._status(order, "Cancelled"))

    def _release_ack(self, order: SimOrder, delay: float) -> None:
        for event in self._held_acks.pop(order.ref, []):
            self._emit(event, delay)
