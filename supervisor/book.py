"""`TradeBook`: one trade's machines and the figures derived from them.

A book owns the trade machine, its entry leg, its exit pairs, and any protective or emergency
stops, each in a `LegSlot` with the intent (`PlaceOrder`) that placed it. Everything here is
derived from the machines' models on demand (position from executions, stop coverage, working
exit exposure), so there is no second copy of the truth to drift.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs

from machines import EntryLeg, Leg, LegModel, OcaPair, PairModel, StopLeg, Trade, TradeModel
from machines.lifecycle import TERMINAL_STATES
from supervisor.plan import TradePlan
from supervisor.port import PlaceOrder

# states in which an order is, or is about to be, working at the broker
LIVE_STATES = frozenset(
    {"pending", "sent", "working", "partially_filled", "cancel_requested", "replace_requested", "unknown"}
)
# ... and in which a stop counts as coverage (a stop being cancelled protects nothing for long)
COVERING_STATES = LIVE_STATES - {"cancel_requested"}


class Role(enum.Enum):
    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP = "stop"


AnyLeg = EntryLeg | Leg | StopLeg


@attrs.define(eq=False)
class LegSlot:
    name: str
    role: Role
    machine: AnyLeg
    command: PlaceOrder
    level: int | None = None  # ladder level (1-based) for pair legs
    attached: bool = False  # an attached child, held by the broker until the parent fills
    intended_at: float | None = None
    sent_at: float | None = None
    stalled: set[str] = attrs.field(factory=set)
    status_claim: tuple[int, float] | None = None  # (claimed filled, since)
    status_reported: bool = False
    orphan_reported: bool = False
    mismatch_reported: bool = False
    cancel_refused: bool = False  # the broker answered 161: it had nothing left to cancel

    @property
    def model(self) -> LegModel:
        model: LegModel = self.machine.model
        return model

    @property
    def state(self) -> str:
        return str(self.machine.current_state_value)

    @property
    def order_ref(self) -> str:
        return self.command.order_ref

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def remaining(self) -> int:
        return self.model.remaining_qty if self.live else 0

    @property
    def exposure(self) -> int:
        """Shares this order could still take, counting a size change already asked for."""
        if not self.live:
            return 0
        qty = self.model.order_qty
        change = self.model.pending_replace
        if change and change.get("qty") is not None:
            qty = min(qty, int(change["qty"]))
        return max(qty - self.model.filled_qty, 0)


@attrs.define(eq=False)
class PairSlot:
    level: int
    tp: LegSlot
    sl: LegSlot
    machine: OcaPair
    oca_group: str

    @property
    def state(self) -> str:
        return str(self.machine.current_state_value)


@attrs.define(eq=False)
class TradeBook:
    plan: TradePlan
    trade: Trade
    entry: LegSlot
    legs: dict[str, LegSlot] = attrs.field(factory=dict)
    pairs: dict[int, PairSlot] = attrs.field(factory=dict)
    pstop: LegSlot | None = None
    generation: int = 1
    pstop_seq: int = 0
    exits_placed: bool = False
    attached_mode: bool = False
    attached_resized: bool = False
    replacing: bool = False
    trigger_settled: bool = True
    milestones_done: set[tuple[int, int]] = attrs.field(factory=set)  # (milestone, level)
    gap_since: float | None = None
    gap_reported: bool = False
    orphan_since: float | None = None
    closed_reported: bool = False
    emergency_seq: int = 0
    repaired_levels: set[int] = attrs.field(factory=set)  # pairs given an emergency stop + target
    latency: dict[str, float] = attrs.field(factory=dict)
    commissions: dict[str, float] = attrs.field(factory=dict)  # exec id -> commission
    spare_legs: dict[str, AnyLeg] = attrs.field(factory=dict)  # built at arm, used when placed
    spare_pairs: dict[int, OcaPair] = attrs.field(factory=dict)

    @classmethod
    def arm(cls, plan: TradePlan, entry_command: PlaceOrder, *, prebuild: bool = True) -> TradeBook:
        entry_model = LegModel(
            leg="entry", intended_qty=plan.quantity, limit_price=entry_command.limit_price,
            order_ref=entry_command.order_ref,
        )
        entry = LegSlot("entry", Role.ENTRY, EntryLeg(entry_model), entry_command)
        trade = Trade(TradeModel(trade_id=plan.trade_id, entry=entry_model))
        book = cls(plan=plan, trade=trade, entry=entry, legs={"entry": entry})
        if prebuild and not plan.attached:
            book._prebuild()
        return book

    def _prebuild(self) -> None:
        """Build the exit machines now, at arm time: a machine costs hundreds of microseconds,
        and the path from the entry's fill to its protection should not pay for it."""
        plan = self.plan
        self.spare_legs["pstop1"] = StopLeg(LegModel(leg="pstop1", intended_qty=plan.quantity,
                                                     stop_price=plan.protective_stop))
        for level, qty in enumerate(plan.split(plan.quantity), start=1):
            if qty == 0:
                continue
            tp = Leg(LegModel(leg=f"tp{level}", intended_qty=qty, limit_price=plan.take_profits[level - 1]))
            sl = StopLeg(LegModel(leg=f"sl{level}", intended_qty=qty, stop_price=plan.stop_for(level)))
            self.spare_legs[f"tp{level}"] = tp
            self.spare_legs[f"sl{level}"] = sl
            self.spare_pairs[level] = OcaPair(PairModel(f"pair{level}", tp.model, sl.model))

    def leg_machine(self, role: Role, name: str, command: PlaceOrder) -> Leg | StopLeg:
        """The machine for a new exit leg: the one built at arm time if there is one."""
        machine = self.spare_legs.pop(name, None)
        if isinstance(machine, (Leg, StopLeg)) and machine.current_state_value == "pending":
            model: LegModel = machine.model
            model.intended_qty = command.quantity
            model.limit_price = command.limit_price
            model.stop_price = command.stop_price
            model.order_ref = command.order_ref
            return machine
        model = LegModel(leg=name, intended_qty=command.quantity, limit_price=command.limit_price,
                         stop_price=command.stop_price, order_ref=command.order_ref)
        return StopLeg(model) if role is Role.STOP else Leg(model)

    # -- membership --------------------------------------------------------------------------
    def add_exit(self, slot: LegSlot) -> None:
        self.legs[slot.name] = slot
        self.trade_model.exit_legs.append(slot.model)

    def add_pair(self, level: int, tp: LegSlot, sl: LegSlot, oca_group: str) -> PairSlot:
        machine = self.spare_pairs.pop(level, None)
        if machine is None or machine.model.tp is not tp.model or machine.model.sl is not sl.model:
            machine = OcaPair(PairModel(f"pair{level}", tp.model, sl.model))
        pair = PairSlot(level, tp, sl, machine, oca_group)
        self.pairs[level] = pair
        return pair

    def pair_of(self, slot: LegSlot) -> PairSlot | None:
        if slot.level is None:
            return None
        pair = self.pairs.get(slot.level)
        if pair is not None and slot in (pair.tp, pair.sl):
            return pair
        return None

    def exits(self) -> Iterator[LegSlot]:
        return (slot for slot in self.legs.values() if slot.role is not Role.ENTRY)

    def working_exits(self) -> list[LegSlot]:
        """Exits that can still take shares and are not being cancelled (held children excepted)."""
        return [s for s in self.exits() if s.live and s.state != "cancel_requested"
                and not (s.attached and not self.entry_done)]

    # -- figures from executions -------------------------------------------------------------
    @property
    def trade_model(self) -> TradeModel:
        model: TradeModel = self.trade.model
        return model

    @property
    def trade_id(self) -> str:
        return self.plan.trade_id

    @property
    def entry_filled(self) -> int:
        return self.entry.model.filled_qty

    @property
    def exit_filled(self) -> int:
        return sum(slot.model.filled_qty for slot in self.exits())

    @property
    def position(self) -> int:
        return self.entry_filled - self.exit_filled

    @property
    def finished(self) -> bool:
        """Closed or aborted, and nothing of ours left working at the broker."""
        return self.closed_reported and not any(slot.live for slot in self.legs.values())

    @property
    def entry_done(self) -> bool:
        return self.entry.terminal

    def _oca_room(self, group: str | None) -> int | None:
        """Shares an OCA pair can still take out: its siblings' fills shrink every member."""
        if group is None:
            return None
        for pair in self.pairs.values():
            if pair.oca_group == group:
                return pair.machine.model.remaining_qty  # type: ignore[no-any-return]
        return None

    def _effective(self, slot: LegSlot, qty: int) -> int:
        # the broker shrinks only the OCA members it already holds: an order not yet at the
        # broker (or sent again) arrives with its full quantity
        room = None if slot.state == "pending" else self._oca_room(slot.command.oca_group)
        return qty if room is None else min(qty, room)

    def stop_coverage(self) -> int:
        covered = 0
        for slot in self.exits():
            if slot.role is Role.STOP and slot.state in COVERING_STATES:
                remaining = self._effective(slot, slot.model.remaining_qty)
                covered += min(remaining, self.entry_filled) if slot.attached else remaining
        return covered

    def exit_exposure(self, extra: PlaceOrder | None = None, *, settling: bool = False) -> int:
        """Shares the working exits could take out: an OCA group counts once (its largest order).

        `settling` leaves out orders whose cancel is already asked for: what a repair can still
        act on. Without it (the check before a new exit) they count, since they may yet fill.
        """
        groups: dict[str, int] = {}
        total = 0
        for slot in self.exits():
            if slot.attached and not self.entry_done:
                continue  # held by the broker until the parent fills; resized when it ends
            if settling and slot.state == "cancel_requested":
                continue
            qty = self._effective(slot, slot.exposure)
            if qty == 0:
                continue
            group = slot.command.oca_group
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

    def realized_pnl(self) -> float:
        sign = self.plan.side.sign
        proceeds = sum(slot.model.filled_qty * slot.model.avg_price for slot in self.exits())
        cost = self.exit_filled * self.entry.model.avg_price
        return round(sign * (proceeds - cost), 6)
