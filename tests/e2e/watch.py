"""A watcher of the simulated exchange itself, called after every price point of a session.

It checks the promises from the broker's side, whatever the supervisor believes:

- the account is never short (a long trade's exits never sell more than was bought);
- the working exits never exceed the position for longer than it takes to answer (OCA groups
  count once, held attached children not at all);
- every share is under a working stop within the protection grace period, except while the
  connection is down (nothing can be sent then) and the step that follows it.

The exchange's clock moves a quarter of a bar at a time, far more than an acknowledgement takes,
so shares that arrived at this step may still wait for their stop; shares older than that may
not, for more than `steps` consecutive price points.
"""

from __future__ import annotations

import attrs

from broker.sim import SimBroker
from supervisor.port import Action, OrderType


@attrs.define
class BrokerWatch:
    symbol: str
    steps: int = 2
    excess_steps: int = 3  # an exit a modify resized behind a sibling's fill waits out a grace period
    # price points a share may wait for its stop: one, plus one for each latency that delays
    # the report of its execution or the arrival of the stop
    window: int = 1
    problems: list[str] = attrs.field(factory=list)
    _excess: int = 0
    _gap: int = 0
    _was_down: bool = False
    _arrivals: list[int] = attrs.field(factory=list)
    _held: int = 0
    min_position: int = 0

    def __call__(self, sim: SimBroker, supervisor: object) -> None:
        held = sim.position(self.symbol)
        self.min_position = min(self.min_position, held)
        if held < 0:
            self.problems.append(f"{sim.now()}: the broker is short {held}")
        orders = [o for o in sim.open_orders() if o.status == "Submitted" and o.action is Action.SELL]
        groups: dict[str, int] = {}
        exits = 0
        stops = 0
        for order in orders:
            left = order.quantity - order.filled
            if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
                stops += left
            if order.oca_group:
                groups[order.oca_group] = max(groups.get(order.oca_group, 0), left)
            else:
                exits += left
        exits += sum(groups.values())
        down = not sim.connected
        self._arrivals = [*self._arrivals, max(held - self._held, 0)][-self.window:]
        self._held = held
        self._excess = self._excess + 1 if exits > max(held, 0) else 0
        late = held - stops - sum(self._arrivals) > 0
        self._gap = self._gap + 1 if late and not down and not self._was_down else 0
        self._was_down = down
        if self._excess > self.excess_steps:
            self.problems.append(f"{sim.now()}: working exits {exits} > position {held} for {self._excess} steps")
        if self._gap > self.steps:
            self.problems.append(f"{sim.now()}: stops {stops} < position {held} for {self._gap} steps")
