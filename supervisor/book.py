"""Per-trade records: the machines' models plus what the supervisor needs to act on them.

`LegRecord` is a leg model with its order (`command`, built at arm time, never on a hot path) and
its timestamps; `TradeRecord` is a trade model with its plan, its legs by name and its latency
stamps. Everything the supervisor decides from is read here, from the models: the position from
executions, what the working exits could still execute (`exposure`), what the stops protect
(`coverage`), and the measure that the Cover machine is told about. Nothing is cached: a figure is
computed when asked, so there is no second copy of the truth to drift.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs

from machines import LIVE_STATES, LegModel, PairModel, TradeModel
from supervisor.plan import TradePlan
from supervisor.port import OrderType, PlaceOrder

# a stop whose cancel is in flight protects nothing for long
PROTECTING_STATES = LIVE_STATES - {"cancel_requested"}


class Role(enum.Enum):
    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP = "stop"
    FLATTEN = "flatten"  # a market order closing what is held (flatten, kill switch, time exit)


class Measure(enum.Enum):
    """What the Cover machine is told (`became_<value>`)."""

    CLEAR = "clear"  # flat, nothing working
    COVERED = "covered"
    SHORT = "short"  # stops protect less than the position
    EXCESS = "excess"  # working exits could execute more than the position
    ORPHANED = "orphaned"  # flat, exits still working


@attrs.define(slots=True, eq=False)
class LegRecord(LegModel):
    trade_id: str = ""
    role: Role = Role.ENTRY
    command: PlaceOrder | None = None
    level: int | None = None
    intended_at: float | None = None
    sent_at: float | None = None
    status_claim: int | None = None  # shares a status snapshot claimed beyond the executions
    status_claim_at: float | None = None
    last_refusal_at: float | None = None
    resends: int = 0
    figure_at: float = 0.0  # when the broker last gave the order's size (an acknowledgement)
    # when the broker last set the size outright (a modify's acknowledgement, a status that raised
    # it): an OCA sibling's execution timed no later than this is inside that size, not taken off it
    resized_at: float = 0.0

    @property
    def order(self) -> PlaceOrder:
        assert self.command is not None, self.leg
        return self.command

    @property
    def order_ref(self) -> str:
        return self.order.order_ref

    @property
    def is_stop(self) -> bool:
        return self.role is Role.STOP

    @property
    def oca_group(self) -> str | None:
        return self.order.oca_group


def record(leg: LegModel) -> LegRecord:
    assert isinstance(leg, LegRecord), leg
    return leg


@attrs.define(slots=True, eq=False)
class TradeRecord(TradeModel):
    plan: TradePlan | None = None
    legs: dict[str, LegRecord] = attrs.field(factory=dict)  # every leg by name, entry included
    emergency_seq: int = 0
    estops: int = 0  # emergency stops placed so far (bounded by Policy.max_emergency_stops)
    flattens: int = 0  # flatten market orders sent so far (bounded by Policy.max_flatten_orders)
    cover_since: float = 0.0  # when the Cover machine entered its current state
    stamps: dict[str, float] = attrs.field(factory=dict)  # latency: trigger, intent, sent, ack, ...
    commissions: dict[str, float] = attrs.field(factory=dict)  # exec id -> commission
    reported_outcome: str = ""  # "closed"/"aborted" last reported (a late fill can reopen a trade)

    @property
    def p(self) -> TradePlan:
        assert self.plan is not None
        return self.plan

    @property
    def entry_rec(self) -> LegRecord:
        return record(self.entry)

    def exits(self) -> Iterator[LegRecord]:
        for leg in self.exit_legs():
            yield record(leg)

    def level_pair(self, level: int) -> PairModel | None:
        """The newest pair of a level (a successor replaces its predecessor)."""
        found = None
        for pair in self.pairs:
            if pair.level == level:
                found = pair
        return found

    def pair_of(self, leg: LegRecord) -> PairModel | None:
        """The pair a leg works for now (a retired leg's pair too: its late fills are the level's)."""
        for pair in self.pairs:
            if pair.tp is leg or pair.sl is leg or leg in pair.retired:
                return pair
        return None

    @property
    def finished(self) -> bool:
        """Closed or aborted, and nothing of ours left working at the broker."""
        return self.state in ("closed", "aborted") and not any(leg.live for leg in self.legs.values())

    def realized_pnl(self) -> float:
        """In the account's currency: price points times units times the contract's multiplier."""
        sign = self.p.side.sign
        proceeds = sum(leg.notional for leg in self.exits())
        cost = self.exit_filled * self.entry.avg_price
        return round(sign * (proceeds - cost) * self.p.instrument.multiplier, 6)


# -- what the broker may still execute, and what protects -----------------------------------------

def held(trade: TradeRecord, leg: LegRecord) -> bool:
    """An attached child waits at the broker until its parent filled: it can neither execute nor
    protect before (IB releases it then)."""
    return leg.order.parent_ref is not None and trade.entry.state != "filled" and not _children_executed(trade)


def _children_executed(trade: TradeRecord) -> bool:
    # a child executes only after the broker released it, so its parent did fill, whatever the
    # order in which the reports arrive
    return trade.attached and any(leg.filled > 0 and leg.order.parent_ref is not None for leg in trade.exits())


def working(trade: TradeRecord, leg: LegRecord, *, settling: bool = False) -> int:
    """Shares this exit could still execute (the risk view: a modify in flight may land either way).
    `settling`: what is left once the cancels and modifies already asked for have landed."""
    if leg.state not in LIVE_STATES or held(trade, leg):
        return 0
    if settling and leg.state == "cancel_requested":
        return 0
    qty = leg.order_qty
    if leg.pending_qty is not None:
        qty = min(qty, leg.pending_qty) if settling else max(qty, leg.pending_qty)
    return max(qty - leg.filled, 0)


def protecting(trade: TradeRecord, leg: LegRecord) -> int:
    """Shares this stop protects (the protection view: a shrink in flight counts already). A
    flatten's market order counts too: it is taking those shares out, no stop is wanted beside it."""
    if not (leg.is_stop or leg.role is Role.FLATTEN) or leg.state not in PROTECTING_STATES or held(trade, leg):
        return 0
    qty = leg.order_qty
    if leg.pending_qty is not None:
        qty = min(qty, leg.pending_qty)
    return max(qty - leg.filled, 0)


def entry_filled(trade: TradeRecord) -> int:
    """Executed entry shares; in attached mode a child's execution proves the parent filled."""
    filled = trade.entry.filled
    if _children_executed(trade):
        filled = max(filled, trade.quantity)
    return filled


def executed(trade: TradeRecord) -> int:
    """Open shares by our executions alone."""
    return entry_filled(trade) - trade.exit_filled


def position(trade: TradeRecord) -> int:
    """Open shares: executions, less what broker truth says was closed outside this client."""
    return entry_filled(trade) - trade.exit_filled - trade.outside


def exposure(trade: TradeRecord, extra: PlaceOrder | None = None, *, settling: bool = False,
             resized: tuple[LegRecord, int] | None = None) -> int:
    """Shares the working exits could take out: an OCA group counts once (its largest order).
    `extra`: with this order added; `resized`: with this leg's order at this total quantity."""
    groups: dict[str, int] = {}
    total = 0
    for leg in trade.exits():
        if resized is not None and leg is resized[0]:
            qty = max(resized[1] - leg.filled, 0)
        else:
            qty = working(trade, leg, settling=settling)
        if qty == 0:
            continue
        group = leg.oca_group
        if group:
            groups[group] = max(groups.get(group, 0), qty)
        else:
            total += qty
    if extra is not None:
        if extra.oca_group:
            groups[extra.oca_group] = max(groups.get(extra.oca_group, 0), extra.quantity)
        else:
            total += extra.quantity
    return total + sum(groups.values())


def reduce_only_allows(trade: TradeRecord, *, extra: PlaceOrder | None = None,
                       resized: tuple[LegRecord, int] | None = None) -> bool:
    """Reduce-only: an exit order (or a leg grown) may go when the working exits stay within the
    position with it, or when it adds nothing to them: a stop beside a larger member of its OCA group
    (counted against the exits as they will be once the cuts already asked for land)."""
    if exposure(trade, extra=extra, resized=resized) <= max(position(trade), 0):
        return True
    return exposure(trade, extra=extra, resized=resized, settling=True) <= exposure(trade, settling=True)


def exit_room(trade: TradeRecord, order: PlaceOrder) -> int:
    """The largest quantity of `order` reduce-only lets go now (`reduce_only_allows`)."""
    low, high = 0, order.quantity
    while low < high:
        mid = (low + high + 1) // 2
        if reduce_only_allows(trade, extra=attrs.evolve(order, quantity=mid)):
            low = mid
        else:
            high = mid - 1
    return low


def coverage(trade: TradeRecord) -> int:
    """Shares the working stops protect: stops in one OCA group count once (its largest), as a
    fill of one reduces the others (a level's stop restored beside an emergency stop)."""
    groups: dict[str, int] = {}
    total = 0
    for leg in trade.exits():
        qty = protecting(trade, leg)
        if qty and leg.oca_group:
            groups[leg.oca_group] = max(groups.get(leg.oca_group, 0), qty)
        else:
            total += qty
    return total + sum(groups.values())


def measure(trade: TradeRecord) -> Measure:
    held = position(trade)
    if held <= 0:
        if held < 0 or exposure(trade) > 0:
            return Measure.EXCESS if held < 0 else Measure.ORPHANED
        return Measure.CLEAR
    if exposure(trade) > held:
        return Measure.EXCESS
    if coverage(trade) < held:
        return Measure.SHORT
    return Measure.COVERED


MEASURE_OF_STATE = {
    "clear": Measure.CLEAR,
    "covered": Measure.COVERED,
    "short": Measure.SHORT,
    "gap": Measure.SHORT,
    "excess": Measure.EXCESS,
    "orphaned": Measure.ORPHANED,
    "orphan_reported": Measure.ORPHANED,
}


def is_market(order: PlaceOrder) -> bool:
    return order.order_type is OrderType.MARKET
