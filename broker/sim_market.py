"""`SimExchange`: the simulated exchange for any number of symbols on one connection, with market data.

How it works: one `SimBroker` (a venue) per symbol, all replaying the same bars (the bundled day
prices any symbol), created on first use and stepped in lockstep, so they share one clock. It is a
`BrokerPort`: a `PlaceOrder` goes to its symbol's venue, a modify or cancel to the venue that holds
its order ref; `poll()` hands out every venue's events; `query()` merges their truths.
Each venue numbers its orders from its own block (venue k from k * 100,000 + 1), so order ids and
execution ids never collide. Connection events come from the first venue only (a fault such as
`disconnect:WHEN` hits every venue at the same instant; the supervisor hears of it once).

It also serves market data the way a live adapter would: the bars that closed (`step()` returns
them), the bar that opened at this step (`opened`), the history before now (`history()`), and the
latest quote of a symbol: from the `quotes` file when one was given, else synthesized from the last
trade price (bid = last, ask = last + one tick, stamped at the price point's time).

`subscribe_bars` (the `MarketDataPort`'s) is how a desk asks for a symbol's bars again after its
stream stalled (fault `stall:WHEN:SECONDS`). While bars flow it changes nothing: no bar is repeated.
Asked while bars are withheld, it is answered once the stall is over, as a 1-minute stream's
re-subscription starts with its history: the bars the stall withheld come first (`replayed`, oldest
first, at that step), then the stream goes on. Without a re-subscription those bars stay lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from broker.sim import Bar, Fault, Quote, SimBroker, SimConfig
from supervisor.port import (
    BrokerEvent,
    BrokerTruth,
    CancelOrder,
    Command,
    ConnectionLost,
    ConnectionRestored,
    ModifyOrder,
    PlaceOrder,
)

ORDER_ID_BLOCK = 100_000


class StallReplay:
    """A venue's answer to a re-subscription of its bars (the `stall` fault's other half): asked
    while bars are withheld, or with withheld bars not yet handed out, the next step outside every
    stall window hands out (`after_step()`) the bars withheld since the last answer, oldest first.
    Asked while bars flow, nothing changes."""

    def __init__(self, venue: SimBroker) -> None:
        self.venue = venue
        self._windows = venue.faults.stalls(venue.bars[0].time)
        self._answered = 0  # withheld bars handed out again (the venue's `stalled_bars`)
        self._asked = False

    def stalled(self, time: float) -> bool:
        return any(start <= time < end for start, end in self._windows)

    def subscribe(self) -> None:
        if self.stalled(self.venue.now()) or len(self.venue.stalled_bars) > self._answered:
            self._asked = True

    def after_step(self) -> list[Bar]:
        """The bars the re-subscription brings back at this step (call after every step)."""
        if not self._asked or self.stalled(self.venue.now()):
            return []
        self._asked = False
        replayed = self.venue.stalled_bars[self._answered:]
        self._answered = len(self.venue.stalled_bars)
        return replayed


class SimExchange:
    def __init__(
        self,
        bars: Sequence[Bar],
        *,
        symbols: Iterable[str] = ("SIM",),
        quotes: Sequence[Quote] | None = None,
        config: SimConfig | None = None,
        faults: Iterable[Fault | str] = (),
        seed: int = 0,
    ) -> None:
        if not bars:
            raise ValueError("SimExchange needs at least one bar")
        self.bars = tuple(bars)
        self.config = config or SimConfig()
        self.quotes = tuple(quotes or ())
        self._faults = tuple(faults)
        self._seed = seed
        self._venues: dict[str, SimBroker] = {}
        self._ref_symbol: dict[str, str] = {}
        self._starts = {bar.time: bar for bar in self.bars}
        self.opened: tuple[float, float] | None = None  # (time, price) when this step opened a bar
        self.last_closed: Bar | None = None
        self.replayed: list[Bar] = []  # bars a re-subscription brought back at this step, oldest first
        self.subscriptions: list[tuple[str, int, float]] = []  # (symbol, bar seconds, when asked)
        self._steps = 0
        self._closed = 0  # bars whose close the replay has visited
        for symbol in symbols:
            self.venue(symbol)
        if not self._venues:
            self.venue("SIM")
        self._replay = StallReplay(self._first)  # every venue replays the same bars: the first one's

    # -- venues ----------------------------------------------------------------------------------
    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._venues)

    def venue(self, symbol: str) -> SimBroker:
        """The symbol's venue, created on first use and brought to the common clock."""
        found = self._venues.get(symbol)
        if found is not None:
            return found
        config = attrs.evolve(self.config, first_order_id=len(self._venues) * ORDER_ID_BLOCK + 1)
        venue = SimBroker(self.bars, quotes=self.quotes, config=config, faults=self._faults, seed=self._seed,
                          symbol=symbol)
        for _ in range(self._steps):
            venue.step()
        self._venues[symbol] = venue
        return venue

    @property
    def _first(self) -> SimBroker:
        return next(iter(self._venues.values()))

    # -- the clock and market data ------------------------------------------------------------------
    def now(self) -> float:
        return max(venue.now() for venue in self._venues.values())

    def step(self) -> bool:
        """One price point on every venue. False at the end of data (the venues then drain)."""
        more = [venue.step() for venue in list(self._venues.values())]
        first = self._first
        self.last_closed = first.last_closed
        self.opened = None
        self.replayed = []
        if more[0]:
            self._steps += 1
            self._closed += first.last_closed is not None
            if first.now() in self._starts:
                self.opened = (first.now(), first.last_price)
            self.replayed = self._replay.after_step()
            self._closed += len(self.replayed)
        return more[0]

    # -- MarketDataPort (what a desk needs of it) --------------------------------------------------
    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None:
        """Ask for `symbol`'s bars (again). Every symbol gets the replay's bars already, so this only
        matters after a stall: the withheld bars are handed out (`replayed`) once it is over."""
        self.subscriptions.append((symbol, bar_seconds, self.now()))
        self._replay.subscribe()

    @property
    def last_price(self) -> float:
        return self._first.last_price

    def history(self) -> list[Bar]:
        """Every bar whose close the replay has visited, oldest first."""
        return list(self.bars[:self._closed])

    def latest_quote(self, symbol: str) -> Quote | None:
        now = self.now()
        if self.quotes:
            latest = None
            for quote in self.quotes:
                if quote.time > now:
                    break
                latest = quote
            return None if latest is None else attrs.evolve(latest, symbol=symbol)
        if self._steps == 0:
            return None
        last = self.venue(symbol).last_price
        return Quote(now, last, round(last + self.config.tick_size, 10), symbol=symbol, last=last)

    def position(self, symbol: str) -> int:
        return self._venues[symbol].position(symbol) if symbol in self._venues else 0

    # -- the port ----------------------------------------------------------------------------------
    def execute(self, command: Command) -> None:
        if isinstance(command, PlaceOrder):
            self._ref_symbol[command.order_ref] = command.symbol
            self.venue(command.symbol).execute(command)
        elif isinstance(command, (ModifyOrder, CancelOrder)):
            symbol = self._ref_symbol.get(command.order_ref)
            venue = self._venues[symbol] if symbol is not None else self._first  # it answers "not found"
            venue.execute(command)
        else:
            raise TypeError(f"SimExchange.execute: not a broker command: {command!r}")

    def poll(self) -> list[BrokerEvent]:
        """Each venue's events in its own order (a fault may reorder them: that is kept), venue after
        venue: events of different symbols concern different trades."""
        merged: list[BrokerEvent] = []
        for k, venue in enumerate(self._venues.values()):
            for event in venue.poll():
                if k and isinstance(event, (ConnectionLost, ConnectionRestored)):
                    continue  # every venue shares the connection: told once
                merged.append(event)
        return merged

    def query(self, executions_since: float | None = None) -> BrokerTruth:
        truths = [venue.query(executions_since) for venue in self._venues.values()]
        return BrokerTruth(
            open_orders=tuple(o for t in truths for o in t.open_orders),
            positions=tuple(p for t in truths for p in t.positions),
            executions=tuple(e for t in truths for e in t.executions),
            time=max(t.time for t in truths),
            completed_orders=tuple(c for t in truths for c in t.completed_orders),
        )
