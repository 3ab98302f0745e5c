# The exchange behind the gateway: one `SimBroker` per symbol a client trades, all replaying the
# same bars on one clock. A symbol's SimBroker is made the first time an order names it and is
# stepped up to the clock at once, so every symbol trades at the same price points (same matching,
# OCA types, attached children, partial fills, latencies and faults: the SimBroker does all of it).
# Each symbol's exchange numbers its orders from its own block of ids, so execution ids (which
# carry the exchange's order id) never collide across symbols. Faults count per symbol: a
# `reject:201@2` rejects the second order of each symbol. `step()` moves the clock one price point;
# `poll()` collects what every symbol's exchange reported, tagged with the symbol.
from __future__ import annotations

from collections.abc import Sequence

import attrs

from broker.sim import Bar, Faults, SimBroker, SimConfig
from broker.tws.market import Point, price_points
from supervisor.port import BrokerEvent, Command, ExecutionReported, OpenOrder, Position

ORDER_ID_BLOCK = 1_000_000  # exchange order ids per symbol


class SimExchange:
    def __init__(self, bars: Sequence[Bar], *, config: SimConfig, faults: Faults, seed: int = 0) -> None:
        if not bars:
            raise ValueError("SimExchange needs at least one bar")
        self.bars = tuple(bars)
        self.config = config
        self.faults = faults
        self.seed = seed
        self.points: tuple[Point, ...] = tuple(price_points(self.bars, config.session.in_regular_hours))
        self.visited = 0  # price points the clock has passed
        self.ended = False  # the clock ran past the last point (DAY orders expired, latencies flushed)
        self.outages = faults.outages(self.bars[0].time, config.outage_seconds)
        self._sims: dict[str, SimBroker] = {}

    # -- the clock -----------------------------------------------------------------------------

    def now(self) -> float:
        if self.ended:
            return self.bars[-1].end
        return self.points[self.visited - 1].time if self.visited else self.bars[0].time

    def last_price(self) -> float:
        return self.points[self.visited - 1].price if self.visited else self.bars[0].open

    def visited_points(self) -> Sequence[Point]:
        return self.points[: self.visited]

    def next_time(self) -> float | None:
        return self.points[self.visited].time if self.visited < len(self.points) else None

    def step(self) -> Point | None:
        """Move the clock to the next price point (every symbol's exchange matches there). At the
        end of data: finish once (DAY orders expire, pending latencies come due) and return None."""
        if self.visited >= len(self.points):
            for sim in self._sims.values():
                sim.step()
            self.ended = True
            return None
        point = self.points[self.visited]
        self.visited += 1
        for sim in self._sims.values():
            sim.step()
        return point

    def connected(self) -> bool:
        now = self.now()
        return not any(lost <= now < restored for lost, restored in self.outages)

    # -- the symbols ---------------------------------------------------------------------------

    def sim(self, symbol: str) -> SimBroker:
        found = self._sims.get(symbol)
        if found is None:
            block = len(self._sims) * ORDER_ID_BLOCK
            config = attrs.evolve(self.config, first_order_id=self.config.first_order_id + block)
            found = SimBroker(self.bars, config=config, faults=self.faults, seed=self.seed, symbol=symbol)
            for _ in range(self.visited):
                found.step()
            if self.ended:
                found.step()
            found.poll()  # the past of a symbol nobody traded: outage notices only
            self._sims[symbol] = found
        return found

    def symbols(self) -> list[str]:
        return list(self._sims)

    def execute(self, symbol: str, command: Command) -> None:
        self.sim(symbol).execute(command)

    def poll(self) -> list[tuple[str, BrokerEvent]]:
        return [(symbol, event) for symbol, sim in self._sims.items() for event in sim.poll()]

    def order(self, symbol: str, order_ref: str) -> OpenOrder | None:
        sim = self._sims.get(symbol)
        return sim.order(order_ref) if sim is not None else None

    def positions(self) -> list[Position]:
        return [p for sim in self._sims.values() for p in sim.positions()]

    def executions(self) -> list[ExecutionReported]:
        """Every execution of every symbol (corrections in place of what they correct), by time."""
        found = [e for sim in self._sims.values() for e in sim.executions()]
        return sorted(found, key=lambda e: e.time)
