# How the exchange's facts become the port's events. The book (book.py) says what happened; the
# `Reporter` says it the way IB would: each fact becomes events (an execution, its status
# snapshot and its commission; a cancel and its `Cancelled` status; ...), records executions in
# the ledger, and queues every event with the time it becomes visible. The reporting faults live
# here, each marked where it acts: duplicate-executions, reorder, status-without-fill, drop-ack,
# correction, and the disconnect outages (an exchange event due during an outage is lost;
# events the adapter makes itself, OrderSent and "not connected" answers, are `local` and never
# lost). `poll()` hands out what is due, in (due time, arrival) order.
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import attrs

from broker.sim import config as codes
from broker.sim.book import Ended, Fact, Filled, Released, Resized
from broker.sim.config import SimConfig
from broker.sim.faults import FaultName, Faults
from broker.sim.ledger import Ledger
from broker.sim.orders import SimOrder, exec_id, round_to_tick
from supervisor.port import (
    BrokerEvent,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    StatusObserved,
)

Schedule = Callable[[float, Callable[[], None]], None]  # (delay, action): run it later on the clock


def next_revision(exec_id: str) -> str:
    """IB's correction of an execution: its last two-digit part bumped (`.01` appended if none)."""
    head, dot, last = exec_id.rpartition(".")
    if dot and len(last) == 2 and last.isdigit() and int(last) < 99:
        return f"{head}.{int(last) + 1:02d}"
    return exec_id + ".01"


class Reporter:
    def __init__(
        self, config: SimConfig, faults: Faults, outages: list[tuple[float, float]], clock: Callable[[], float],
        schedule: Schedule,
    ) -> None:
        self._config = config
        self._faults = faults
        self._outages = outages
        self._clock = clock
        self._schedule = schedule
        self.ledger = Ledger()
        self.lost_events: list[BrokerEvent] = []  # what a disconnect or drop-ack swallowed
        self._seq = itertools.count()
        self._outbox: list[tuple[float, int, BrokerEvent]] = []
        self._held_acks: dict[str, list[BrokerEvent]] = {}
        self._executions = 0
        for lost, restored in outages:
            self.local(ConnectionLost(lost), lost)
            self.local(ConnectionRestored(restored), restored)

    # -- the outbox -----------------------------------------------------------------------------

    def connected(self, time: float) -> bool:
        return not any(lost <= time < restored for lost, restored in self._outages)

    def local(self, event: BrokerEvent, due: float | None = None) -> None:
        """Queue an event the adapter makes itself: never lost to an outage."""
        heapq.heappush(self._outbox, (self._clock() if due is None else due, next(self._seq), event))

    def emit(self, event: BrokerEvent, delay: float = 0.0) -> None:
        """Queue an event from the exchange; one that would arrive during an outage is lost."""
        due = self._clock() + delay
        if self.connected(due):
            heapq.heappush(self._outbox, (due, next(self._seq), event))
        else:
            self.lost_events.append(event)  # fault disconnect

    def poll(self, now: float) -> list[BrokerEvent]:
        events: list[BrokerEvent] = []
        while self._outbox and self._outbox[0][0] <= now:
            events.append(heapq.heappop(self._outbox)[2])
        return events

    def last_due(self) -> float | None:
        return max((due for due, _, _ in self._outbox), default=None)

    # -- what the exchange says -----------------------------------------------------------------

    def status(self, order: SimOrder, status: str) -> StatusObserved:
        return StatusObserved(order.ref, order.order_id, status, order.filled, order.remaining, order.avg_price,
                              self._clock())

    def accepted(self, order: SimOrder, last_price: float) -> None:
        now = self._clock()
        ack: list[BrokerEvent] = [
            OrderAccepted(order.ref, order.order_id, order.quantity, order.limit_price, order.stop_price, now),
            self.status(order, order.state.value),
        ]
        if self._faults.hits(FaultName.DROP_ACK, order.number):
            self.lost_events += ack  # fault drop-ack: the acknowledgement never arrives
            ack = []
        if self._faults.hits(FaultName.STATUS_WITHOUT_FILL, order.number):
            # fault status-without-fill: IB said Filled while no share had executed
            ack.append(StatusObserved(order.ref, order.order_id, "Filled", order.quantity, 0, last_price, now))
        if self._faults.hits(FaultName.REORDER, order.number):
            self._held_acks[order.ref] = ack  # fault reorder: released after the first execution
            return
        for event in ack:
            self.emit(event)

    def rejected(self, order: SimOrder, code: int, detail: str) -> None:
        # IB reports a reject as orderStatus Cancelled, then the error that says why
        self.emit(StatusObserved(order.ref, order.order_id, "Cancelled", order.filled, 0, order.avg_price,
                                 self._clock()))
        self.emit(OrderRejected(order.ref, order.order_id, code, codes.ib_message(code, detail), self._clock()))

    def ended(self, order: SimOrder, reason: str) -> None:
        self._release_ack(order, 0.0)
        self.emit(OrderCancelled(order.ref, order.order_id, reason, self._clock()))
        self.emit(self.status(order, "Cancelled"))

    def report(self, facts: list[Fact]) -> None:
        for fact in facts:
            if isinstance(fact, Filled):
                self._filled(fact)
            elif isinstance(fact, Ended):
                self.ended(fact.order, fact.reason)
            elif isinstance(fact, Resized | Released):
                self.emit(self.status(fact.order, fact.order.state.value))

    def _filled(self, fact: Filled) -> None:
        order = fact.order
        self._executions += 1
        number = self._executions
        eid = exec_id(order.order_id, number)
        execution = ExecutionReported(order.ref, order.order_id, eid, order.action, fact.qty, fact.price, fact.time,
                                      order.command.symbol)
        self.ledger.record(execution)
        delay = self._config.fill_latency
        # IB's usual order: the orderStatus that counts the fill, then the execDetails behind it
        status = "Filled" if fact.remaining == 0 else "Submitted"
        self.emit(StatusObserved(order.ref, order.order_id, status, fact.filled, fact.remaining, fact.avg_price,
                                 fact.time), delay)
        self.emit(execution, delay)
        if self._faults.hits(FaultName.DUPLICATE_EXECUTIONS, number):
            self.emit(execution, delay)  # fault duplicate-executions: the same execDetails twice
        self.emit(self._commission(eid, fact.qty, fact.time), delay)
        self._release_ack(order, delay)
        if self._faults.hits(FaultName.CORRECTION, number):
            self._schedule(delay + self._config.correction_delay, lambda: self._correct(execution))

    def _correct(self, original: ExecutionReported) -> None:
        # fault correction: IB re-sends the execution under its next revision (`...01.01` ->
        # `...01.02`) with the corrected figures
        tick = self._config.tick_size
        price = max(round_to_tick(original.price + self._config.correction_ticks * tick, tick), tick)
        corrected = attrs.evolve(original, exec_id=next_revision(original.exec_id), price=price)
        self.ledger.correct(original.exec_id, corrected)
        self.emit(corrected)
        self.emit(self._commission(corrected.exec_id, corrected.qty, self._clock()))

    def _commission(self, eid: str, qty: int, time: float) -> CommissionReported:
        return CommissionReported(eid, self._config.commission(qty), self._config.currency, time)

    def _release_ack(self, order: SimOrder, delay: float) -> None:
        for event in self._held_acks.pop(order.ref, []):
            self.emit(event, delay)
