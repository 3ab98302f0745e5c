# How the simulated broker runs: a `BrokerPort` over the exchange (book.py), driven by its own
# clock. The clock is bar time: `step()` moves it to the next price point (four per bar, see
# bars.py), first running whatever fell due on the way (orders, cancels and modifies reaching the
# exchange after `ack_latency`, corrections), then matching the book at that price. What the
# exchange says is queued by the reporter (reporting.py) with the time it becomes visible
# (`fill_latency` delays executions); `poll()` hands out what is visible at `now()`, once, in order.
# Commands answer only through events: OrderSent at once on PlaceOrder; OrderAccepted (or
# OrderRejected) when the order reaches the exchange; ReplaceAccepted/ReplaceRejected and
# OrderCancelled/CancelRejected when a modify or cancel does. An unknown ref in ModifyOrder or
# CancelOrder is answered with ReplaceRejected/CancelRejected code 10147 naming the ref; a
# PlaceOrder whose parent_ref is unknown is rejected with code 135; placing an order_ref twice is a
# programming error and raises ValueError. The exchange trades one contract (`instrument`: a
# stock named `symbol` by default, or a future such as ES with its month, multiplier and 0.25
# tick): an order for another contract is rejected with code 200, and a price off the contract's
# tick grid with code 110, as IB does. The faults that change what the exchange does (reject,
# parent-sized-children, late-fill) act here, and so does `stall`, which withholds the bars that
# close inside its window from data subscribers (`last_closed`, `next_bar`, `advance_to`) while
# the book still matches their prices; the reporting faults act in reporting.py.
from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence

from broker.sim import config as codes
from broker.sim.book import Book
from broker.sim.config import SimConfig
from broker.sim.faults import Fault, FaultName, Faults
from broker.sim.orders import OrderState, SimOrder, at_the_exchange, on_tick_grid
from broker.sim.reporting import Reporter
from supervisor.market import Bar, Quote
from supervisor.port import (
    BrokerEvent,
    BrokerTruth,
    CancelOrder,
    CancelRejected,
    Command,
    ExecutionReported,
    Instrument,
    ModifyOrder,
    OpenOrder,
    OrderRejected,
    OrderSent,
    OrderType,
    PlaceOrder,
    Position,
    ReplaceAccepted,
    ReplaceRejected,
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
        instrument: Instrument | None = None,
    ) -> None:
        if not bars:
            raise ValueError("SimBroker needs at least one bar")
        if instrument is None:
            instrument = Instrument(symbol, tick_size=config.tick_size if config is not None else 0.01)
        elif symbol not in ("SIM", instrument.symbol):
            raise ValueError(f"SimBroker: symbol={symbol!r} but instrument.symbol={instrument.symbol!r}")
        if config is None:
            config = SimConfig(tick_size=instrument.tick_size)
        elif config.tick_size != instrument.tick_size:
            raise ValueError(f"SimBroker: SimConfig.tick_size={config.tick_size!r} but the instrument's tick is "
                             f"{instrument.tick_size!r} ({instrument.symbol})")
        self.config = config
        self.faults = faults if isinstance(faults, Faults) else Faults.of(faults)
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.bars = tuple(bars)
        self.last_closed: Bar | None = None  # the bar whose close the last step() visited
        # fault stall: the windows in which closing bars are withheld, and the bars withheld
        self._stalls = self.faults.stalls(self.bars[0].time)
        self.stalled_bars: list[Bar] = []
        self._session = self.config.session
        self._book = Book(self.config, random.Random(seed))
        self._now = self.bars[0].time
        self._seq = itertools.count()
        self._actions: list[tuple[float, int, Callable[[], None]]] = []
        outages = self.faults.outages(self.bars[0].time, self.config.outage_seconds)
        self._reporter = Reporter(self.config, self.faults, outages, self.now, self._schedule)
        self._points = self._price_points(self.bars)
        self._i = 0
        self._last_price = self.bars[0].open
        self._quotes = tuple(quotes or ())
        self._quote_i = 0
        self._bid: float | None = None
        self._ask: float | None = None
        self._next_order_id = self.config.first_order_id
        self._counts = {"orders": 0, "children": 0, "cancels": 0}
        self._finished = False

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
        return self._reporter.poll(self._now)

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        if not self.connected:
            raise ConnectionError(f"SimBroker: not connected at {self._now} (simulated outage)")
        return self.snapshot(executions_since)

    # -- what the exchange holds, outage or not (for a gateway that serves its own cache) ---------

    def snapshot(self, executions_since: float | None = None) -> BrokerTruth:
        """`query()` without the connection check: the exchange's truth even during an outage."""
        return BrokerTruth(
            open_orders=self._book.open_orders(),
            positions=self.positions(),
            executions=self.executions(executions_since),
            time=self._now,
        )

    def positions(self) -> tuple[Position, ...]:
        """The account's positions, folded from the executions (no open orders built: cheap)."""
        return self._reporter.ledger.positions(self.config.account)

    def executions(self, since: float | None = None) -> tuple[ExecutionReported, ...]:
        """Every execution since `since` (a correction in place of what it corrects)."""
        return self._reporter.ledger.since(since)

    def order(self, order_ref: str) -> OpenOrder | None:
        """The exchange's view of one order (live or final; `status` as IB spells it), or None."""
        found = self._book.by_ref.get(order_ref)
        return found.open_order() if found is not None else None

    def orders(self) -> tuple[OpenOrder, ...]:
        """Every order placed so far, live or final, in placement order."""
        return self._book.all_orders()

    # -- driving the clock ----------------------------------------------------------------------

    def now(self) -> float:
        return self._now

    @property
    def connected(self) -> bool:
        return self._reporter.connected(self._now)

    @property
    def lost_events(self) -> list[BrokerEvent]:
        """What a disconnect or a dropped acknowledgement swallowed (for tests and post-mortems)."""
        return self._reporter.lost_events

    @property
    def last_price(self) -> float:
        return self._last_price

    def open_orders(self) -> tuple[OpenOrder, ...]:
        """What the exchange holds now, connected or not (for observers: the port's `query()`
        answers only while connected)."""
        return self._book.open_orders()

    def position(self, symbol: str | None = None) -> int:
        return self._reporter.ledger.position(symbol or self.symbol)[0]

    def step(self) -> bool:
        """Advance to the next price point and match the book there. False at the end of data: then
        the clock moves to the last bar's end (DAY orders expire if their close has come) and on,
        through every pending latency, so every event still due is delivered to `poll()`."""
        self.last_closed = None
        if self._i >= len(self._points):
            self._finish()
            return False
        time, price, gap, rth, closing = self._points[self._i]
        self._i += 1
        self._run_actions(time)
        self._now = time
        self._update_quote(time)
        self._reporter.report(self._book.expire(time))
        self._last_price = price
        self._reporter.report(self._book.match(time, price, gap=gap, rth=rth, bid=self._bid, ask=self._ask))
        if closing is not None and self._stalled(time):
            self.stalled_bars.append(closing)  # fault stall: the book matched it, nobody hears of it
            closing = None
        self.last_closed = closing
        return True

    def _stalled(self, time: float) -> bool:
        return any(start <= time < end for start, end in self._stalls)

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
        if not self._finished:
            self._finished = True
            end = self.bars[-1].end
            self._run_actions(end)
            self._now = max(self._now, end)
            self._reporter.report(self._book.expire(end))
        self._run_actions(math.inf)  # also whatever was sent after the end of data
        self._now = max(self._now, self._reporter.last_due() or self._now)

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

    # -- commands -------------------------------------------------------------------------------

    def _place(self, command: PlaceOrder) -> None:
        ref = command.order_ref
        if ref in self._book.by_ref:
            raise ValueError(f"SimBroker: order_ref {ref!r} was already placed (orders are keyed by order_ref)")
        if not self.connected:
            self._reporter.local(OrderRejected(ref, None, 504, codes.ib_message(504), self._now))
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
        self._reporter.local(OrderSent(ref, order.order_id, self._now))  # the socket took it
        problem: tuple[int, str] | None = None
        if command.symbol != self.symbol:
            problem = (codes.CODE_NO_SECURITY, f"{command.symbol!r} (this sim trades {self.symbol!r})")
        elif command.instrument is not None and not _same_contract(command.instrument, self.instrument):
            problem = (codes.CODE_NO_SECURITY, f"{_contract(command.instrument)} (this sim trades "
                                               f"{_contract(self.instrument)})")
        elif (off := self._off_grid(command.limit_price, command.stop_price)) is not None:
            problem = (codes.CODE_PRICE_VARIATION, off)
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
            self._reporter.rejected(order, *problem)
            return
        expires = self._session.day_order_expiry(self._now, order.command.outside_rth) if order.is_day else None
        self._book.accept(order, expires)
        self._reporter.accepted(order, self._last_price)

    def _request(self, command: _Request, apply: Callable[[str, SimOrder | None, _Request], None]) -> None:
        if not self.connected:
            kind = ReplaceRejected if isinstance(command, ModifyOrder) else CancelRejected
            self._reporter.local(kind(command.order_ref, command.order_id, 504, codes.ib_message(504), self._now))
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
        elif (off := self._off_grid(command.limit_price, command.stop_price)) is not None:
            problem = (codes.CODE_PRICE_VARIATION, off)
        if problem is not None or order is None:  # (order is None implies a problem: for mypy)
            code, detail = problem or (codes.CODE_ORDER_NOT_FOUND, ref)
            message = codes.ib_message(code, detail)
            self._reporter.emit(ReplaceRejected(ref, command.order_id, code, message, self._now))
            return
        self._book.modify(order, command.quantity, command.limit_price, command.stop_price)
        self._reporter.emit(
            ReplaceAccepted(ref, order.order_id, order.quantity, order.limit_price, order.stop_price, self._now)
        )
        self._reporter.emit(self._reporter.status(order, order.state.value))

    def _cancel(self, ref: str, order: SimOrder | None, command: _Request) -> None:
        if order is None:
            detail = f"no order with ref {ref!r}"
            rejected = CancelRejected(ref, command.order_id, 10147, codes.ib_message(10147, detail), self._now)
            self._reporter.emit(rejected)
            return
        if order.state.final:
            detail = f"{ref} is {order.state.value}"
            self._reporter.emit(CancelRejected(ref, order.order_id, 161, codes.ib_message(161, detail), self._now))
            return
        if order.state is OrderState.WORKING and order.remaining > 0:
            self._counts["cancels"] += 1
            late = self.faults.hits(FaultName.LATE_FILL, self._counts["cancels"])
            if late and at_the_exchange(order, self._last_price):
                # fault late-fill: the exchange filled it before the cancel took effect, and the
                # cancel confirmation overtakes the execution report (IB can do this: real world)
                self._reporter.ended(order, "cancelled by request")
                price = order.limit_price if order.limit_price is not None else self._last_price
                self._reporter.report(self._book.fill(order, order.remaining, price, self._now))
                return
        self._reporter.report(self._book.cancel(order, "cancelled by request", self._now))

    def _off_grid(self, *prices: float | None) -> str | None:
        tick = self.instrument.tick_size
        for price in prices:
            if price is not None and not on_tick_grid(price, tick):
                return f"{price} is not a multiple of the tick {tick} ({self.symbol})"
        return None


def _same_contract(a: Instrument, b: Instrument) -> bool:
    # routing (exchange) aside, the same contract: what trades and what one unit of it is worth
    return (a.symbol, a.sec_type, a.contract_month, a.multiplier, a.currency) == (
        b.symbol, b.sec_type, b.contract_month, b.multiplier, b.currency)


def _contract(instrument: Instrument) -> str:
    month = f" {instrument.contract_month}" if instrument.contract_month else ""
    return f"{instrument.symbol}{month} {instrument.sec_type.value} x{instrument.multiplier:g}"
