"""`IBBroker`: the supervisor's broker port over ib_async. Nothing from ib_async crosses it.

How it works:
- Commands: `execute(command)` or, for a batch, `execute_all(commands)` (a bracket must come as
  one batch: that is how the adapter knows which child is last and transmits the bracket with it,
  see orders.py). Every check of a batch runs before its first byte is written (a live account,
  a ref placed twice), so a refusal sends nothing. A `PlaceOrder` is written with
  `client.placeOrder` under a fresh order id (never one ib_async or our own books still hold: order ids
  are reused after a Gateway restart) and answered at once by `OrderSent`; a `ModifyOrder`
  re-sends the order under its id (`client.placeOrder`, see orders.py), a `CancelOrder` cancels
  it. A command for a ref the adapter does not hold is answered with a rejection (10147) and
  nothing is sent; so is any command while disconnected (504).
- Events: the adapter taps ib_async's wrapper (translate.py says why not its events) and hands
  each IB message to the `Translator` after ib_async has kept its own books. Delivery is `poll()`
  (queued, in arrival order) or, for the latency-critical path, push: `set_event_handler(handler)`
  calls `handler(event)` synchronously inside ib_async's callback, with no loop hop, so a supervisor
  can answer an execution and the exit orders are written within that same callback. Events caused
  while the handler runs (the `OrderSent` of what it placed) are queued and handed over right after
  it returns, in order: the handler is never re-entered.
- Truth: `await fetch_truth(executions_since)` asks IB (truth.py). The port's sync `query()` runs it
  to completion when no event loop runs; inside a running loop it cannot block and raises a
  `RuntimeError` telling the caller to await `fetch_truth` instead.
- Contracts: `qualify(instrument)` (or `await qualify_async`) asks IB once per instrument and caches
  the answer; orders and market data for that symbol use the qualified contract from then on
  (contracts.py).
- Time: every event carries the injected clock's time (default `time.time`) at translation.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ib_async import IB, Contract, Order, OrderState
from loguru import logger

from broker.ib import truth
from broker.ib.connection import Connector, IBConfig, IBConnection, connect_ib
from broker.ib.contracts import Contracts
from broker.ib.market import IBMarketData
from broker.ib.orders import book_in_ib_async, modify_for, new_order, transmit_flags
from broker.ib.registry import Figures, OrderRecord, OrderRegistry
from broker.ib.safety import LiveGuard
from broker.ib.translate import Translator
from supervisor.market import Bar, Quote
from supervisor.port import (
    BrokerEvent,
    BrokerNotice,
    BrokerTruth,
    CancelOrder,
    CancelRejected,
    Command,
    Instrument,
    ModifyOrder,
    OrderRejected,
    OrderSent,
    PlaceOrder,
    ReplaceRejected,
)

EventHandler = Callable[[BrokerEvent], None]
_NOT_CONNECTED = 504


class IBBroker:
    def __init__(self, ib: IB | None = None, *, config: IBConfig | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep, environ: Mapping[str, str] | None = None,
                 connector: Connector = connect_ib, ib_factory: Callable[[], IB] = IB) -> None:
        self.config = config or IBConfig()
        self._ib = ib or ib_factory()
        self._clock = clock
        self._registry = OrderRegistry()
        self._translator = Translator(self._registry, clock, self._client_id)
        self._queue: deque[BrokerEvent] = deque()
        self._pending: deque[BrokerEvent] = deque()
        self._handler: EventHandler | None = None
        self._dispatching = False
        self._held: list[BrokerEvent] | None = None  # answers that arrive while a command is written
        self._contracts = Contracts(self._ib, self.config.timeout)
        self._completed_reasons: dict[int, str] = {}
        guard = LiveGuard(self.config.allow_live, dict(os.environ if environ is None else environ))
        self._conn = IBConnection(
            self._ib, self.config, guard, owned=ib is None, connector=connector, rng=rng or random.Random(),
            sleep=sleep, on_up=self._link_up, on_down=lambda: self._deliver(self._translator.link_lost()),
            on_gave_up=lambda why: self._deliver([BrokerNotice(502, why, self._clock())]),
        )
        self._translator.link_up = self._conn.up
        self.market = IBMarketData(self._ib, self._contracts.for_symbol, clock)
        self._taps: dict[str, Callable[..., None]] = {}
        self._install_taps()

    @classmethod
    async def open(cls, config: IBConfig | None = None, **kwargs: Any) -> IBBroker:
        """A new adapter on its own connection, connected (or the connect error raised)."""
        broker = cls(config=config, **kwargs)
        await broker.connect()
        return broker

    async def connect(self) -> None:
        await self._conn.connect()

    def close(self) -> None:
        self.market.close()
        self._remove_taps()
        self._conn.close()

    @property
    def ib(self) -> IB:
        return self._ib

    @property
    def connected(self) -> bool:
        return self._conn.up

    @property
    def reconnect_task(self) -> asyncio.Task[None] | None:
        """The reconnection under way after a loss (an adapter-owned connection only), or None."""
        return self._conn.reconnect_task

    # -- the port: commands --------------------------------------------------------------------
    def execute(self, command: Command) -> None:
        self.execute_all([command])

    def execute_all(self, commands: Iterable[Command]) -> None:
        batch = list(commands)
        self._check(batch)
        if not self.connected:
            self._deliver([self._refused_locally(c, _NOT_CONNECTED, "not connected to IB") for c in batch])
            return
        placeable: set[int] = set()
        local: dict[int, BrokerEvent] = {}
        placed_refs: set[str] = set()
        for i, command in enumerate(batch):
            if not isinstance(command, PlaceOrder):
                continue
            parent = command.parent_ref
            if parent is not None and parent not in placed_refs and parent not in self._registry:
                local[i] = OrderRejected(command.order_ref, None, 135, f"parent order ref {parent!r} is unknown",
                                         self._clock())
                continue
            placeable.add(i)
            placed_refs.add(command.order_ref)
        flags = transmit_flags(batch, placeable)
        written: list[tuple[Contract, Order]] = []
        try:
            for i, command in enumerate(batch):
                if i in local:
                    self._deliver([local[i]])
                    continue
                # whatever the broker answers while the command is being written follows the
                # command's own event (OrderSent before OrderAccepted, whatever the transport)
                self._held = []
                try:
                    if isinstance(command, PlaceOrder):
                        own = self._place(command, flags[i], written)
                    elif isinstance(command, ModifyOrder):
                        own = self._modify(command)
                    else:
                        own = self._cancel(command)
                finally:
                    held, self._held = self._held, None
                self._deliver([*own, *held])
        finally:
            for contract, order in written:
                book_in_ib_async(self._ib, contract, order)

    def _check(self, batch: Sequence[Command]) -> None:
        if self._conn.refusal is not None:
            raise self._conn.refusal
        refs: set[str] = set()
        for command in batch:
            if not isinstance(command, PlaceOrder | ModifyOrder | CancelOrder):
                raise TypeError(f"IBBroker.execute: not a broker command: {command!r}")
            if isinstance(command, PlaceOrder):
                self._conn.guard.check_accounts([command.account], f"PlaceOrder.account of {command.order_ref}")
                if command.order_ref in self._registry or command.order_ref in refs:
                    raise ValueError(f"IBBroker: order_ref {command.order_ref!r} was already placed "
                                     f"(orders are keyed by order_ref)")
                refs.add(command.order_ref)

    def _place(self, command: PlaceOrder, transmit: bool, written: list[tuple[Contract, Order]]) -> (
            list[BrokerEvent]):
        contract = self._contracts.for_command(command)
        parent = self._registry.get(command.parent_ref) if command.parent_ref is not None else None
        client_id = self._client_id()
        order_id = self._registry.fresh_order_id(self._ib, client_id)
        parent_id = (parent.order_id or 0) if parent is not None else 0
        order = new_order(command, order_id=order_id, parent_id=parent_id, transmit=transmit)
        record = OrderRecord(command.order_ref, contract, order,
                             Figures(command.quantity, command.limit_price, command.stop_price), command=command,
                             parent_ref=command.parent_ref)
        self._registry.add(record)
        replaced = self._registry.bind_id(record, client_id, order_id)
        if replaced is not None:
            logger.warning("IB order id {} reused: was {}, now {} (nextValidId went back)", order_id,
                           replaced.ref, record.ref)
        try:
            # the bytes first; ib_async's books for the order come after the whole batch is written
            # (ib.placeOrder formats a log line of the whole trade before it returns, which would
            # hold back the next order of a bracket or of a fill's exits)
            self._ib.client.placeOrder(order_id, contract, order)  # type: ignore[no-untyped-call]
        except (ConnectionError, OSError) as exc:
            record.cancelled = True  # never reached IB: nothing of it works
            return [OrderRejected(command.order_ref, order_id, _NOT_CONNECTED, f"not sent: {exc}", self._clock())]
        written.append((contract, order))
        return [OrderSent(command.order_ref, order_id, self._clock())]

    def _modify(self, command: ModifyOrder) -> list[BrokerEvent]:
        ref, now = command.order_ref, self._clock()
        record = self._registry.get(ref)
        if record is None or not record.order_id:
            return [ReplaceRejected(ref, command.order_id, 10147, f"no order with ref {ref!r} at the IB adapter",
                                    now)]
        if record.filled or record.cancelled:
            state = "filled" if record.filled else "cancelled"
            return [ReplaceRejected(ref, record.order_id, 104 if record.filled else 10147,
                                    f"{ref} is {state}: nothing to modify (not sent)", now)]
        parent = self._registry.get(record.parent_ref) if record.parent_ref is not None else None
        target, order = modify_for(record, command, parent)
        record.modify, record.ended_since_modify = target, False
        try:
            # not ib.placeOrder: it asserts ib_async's trade is not done, and ib_async marks a trade
            # done on ANY order error (a refused cancel included) while IB still works the order
            self._ib.client.placeOrder(record.order_id, record.contract, order)  # type: ignore[no-untyped-call]
        except (ConnectionError, OSError) as exc:
            record.modify = None
            return [ReplaceRejected(ref, record.order_id, _NOT_CONNECTED, f"not sent: {exc}", now)]
        return []

    def _cancel(self, command: CancelOrder) -> list[BrokerEvent]:
        ref = command.order_ref
        record = self._registry.get(ref)
        if record is None or not record.order_id:
            return [CancelRejected(ref, command.order_id, 10147, f"no order with ref {ref!r} at the IB adapter",
                                   self._clock())]
        record.cancel_requested = True
        try:
            self._ib.cancelOrder(Order(orderId=record.order_id, clientId=record.client_id or self._client_id(),
                                       permId=record.perm_id or 0))
        except (ConnectionError, OSError) as exc:
            record.cancel_requested = False
            return [CancelRejected(ref, record.order_id, _NOT_CONNECTED, f"not sent: {exc}", self._clock())]
        return []

    def _refused_locally(self, command: Command, code: int, why: str) -> BrokerEvent:
        return refused(command, code, why, self._clock())

    # -- the port: events ----------------------------------------------------------------------
    def poll(self) -> list[BrokerEvent]:
        events = list(self._queue)
        self._queue.clear()
        return events

    def set_event_handler(self, handler: EventHandler | None) -> None:
        """Push delivery: `handler(event)` inside ib_async's callback. None goes back to `poll()`.
        Events queued for `poll()` before the handler was set are handed to it first, in order."""
        self._handler = handler
        if handler is not None and self._queue:
            queued = list(self._queue)
            self._queue.clear()
            self._deliver(queued)

    def _deliver(self, events: Iterable[BrokerEvent]) -> None:
        if self._held is not None:
            self._held.extend(events)
            return
        if self._handler is None:
            self._queue.extend(events)
            return
        self._pending.extend(events)
        if self._dispatching:
            return  # the handler is running: these follow once it returns
        self._dispatching = True
        try:
            while self._pending and self._handler is not None:
                event = self._pending.popleft()
                try:
                    self._handler(event)
                except Exception:
                    logger.exception("IBBroker event handler failed on {!r}", event)
        finally:
            self._dispatching = False
            if self._pending:  # the handler was unset meanwhile: the rest waits for poll()
                self._queue.extend(self._pending)
                self._pending.clear()

    # -- taps on ib_async's wrapper ------------------------------------------------------------
    def _install_taps(self) -> None:
        t = self._translator
        for name, translate in (("openOrder", t.open_order), ("orderStatus", t.order_status),
                                ("execDetails", t.exec_details), ("commissionReport", t.commission),
                                ("error", self._on_error), ("completedOrder", self._on_completed)):
            tap = self._tap(getattr(self._ib.wrapper, name), translate)
            setattr(self._ib.wrapper, name, tap)
            self._taps[name] = tap

    def _tap(self, original: Callable[..., None], translate: Callable[..., list[BrokerEvent]]) -> Callable[..., None]:
        def tap(*args: Any) -> None:
            try:
                original(*args)  # ib_async keeps its books first
            finally:
                self._deliver(translate(*args))
        return tap

    def _remove_taps(self) -> None:
        for name, tap in self._taps.items():
            if self._ib.wrapper.__dict__.get(name) is tap:
                delattr(self._ib.wrapper, name)
        self._taps.clear()

    def _on_error(self, req_id: int, code: int, message: str, advanced: str = "") -> list[BrokerEvent]:
        if code == 326:
            self._conn.client_id_in_use(message)
        events = self._translator.error(req_id, code, message, advanced)
        if code == 1101:
            self.market.resubscribe()  # "connectivity restored, data lost": market data must be asked again
        return events

    def _on_completed(self, contract: Contract, order: Order, state: OrderState) -> list[BrokerEvent]:
        del contract
        if order.permId:
            self._completed_reasons[order.permId] = state.completedStatus
        return []

    def _link_up(self, first: bool) -> None:
        if first:
            self._translator.link_up = True  # the first connection: nothing was lost
            return
        self._deliver(self._translator.link_restored())
        self.market.resubscribe()

    def _client_id(self) -> int:
        return int(self._ib.wrapper.clientId if self._ib.wrapper.clientId >= 0 else self.config.client_id)

    # -- broker truth --------------------------------------------------------------------------
    async def fetch_truth(self, executions_since: float | None = None) -> BrokerTruth:
        """Open orders of ALL clients, positions, executions since a time, completed orders (truth.py)."""
        if not self.connected:
            raise ConnectionError(f"IBBroker: not connected to {self._conn.where()}")
        return await truth.fetch(self._ib, self.config.timeout, self._client_id(), executions_since,
                                 clock=self._clock, completed_reasons=self._completed_reasons)

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        _no_running_loop("query()", "await broker.fetch_truth(executions_since)")
        result: BrokerTruth = self._ib.run(self.fetch_truth(executions_since))
        return result

    # -- contracts (supervisor.port.ContractResolver) -----------------------------------------
    def qualify(self, instrument: Instrument) -> Instrument:
        """The instrument as IB knows it (cached). Blocks: inside a running loop, await qualify_async."""
        cached = self._contracts.cached(instrument)
        if cached is not None:
            return cached
        _no_running_loop("qualify()", "await broker.qualify_async(instrument)")
        result: Instrument = self._ib.run(self._contracts.qualify(instrument))
        return result

    async def qualify_async(self, instrument: Instrument) -> Instrument:
        return await self._contracts.qualify(instrument)

    # -- market data (supervisor.market.MarketDataPort) ----------------------------------------
    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None:
        self.market.subscribe_bars(symbol, bar_seconds)

    def subscribe_quotes(self, symbol: str) -> None:
        self.market.subscribe_quotes(symbol)

    def poll_bars(self) -> list[Bar]:
        return self.market.poll_bars()

    def latest_quote(self, symbol: str) -> Quote | None:
        return self.market.latest_quote(symbol)


def refused(command: Command, code: int, why: str, now: float) -> BrokerEvent:
    """The refusal of a command the adapter answers itself (nothing was sent)."""
    if isinstance(command, PlaceOrder):
        return OrderRejected(command.order_ref, None, code, why, now)
    if isinstance(command, ModifyOrder):
        return ReplaceRejected(command.order_ref, command.order_id, code, why, now)
    return CancelRejected(command.order_ref, command.order_id, code, why, now)


def _no_running_loop(what: str, instead: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"IBBroker.{what} cannot block inside a running event loop: {instead} instead")
