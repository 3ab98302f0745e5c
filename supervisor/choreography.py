"""What follows a leg's change: its pair, its trade, the ladder and the milestones are told, and the
intents their transitions record become orders.

After a broker event moved a leg, `after_leg` tells the machines that read it: the pair of an exit
leg (`leg_changed`), the trade (`inventory`, `reduced`, `entry_ended`), the Ladder (`shares_added`,
`entry_ended`, `stop_executed`, `children_done`) and the Milestones (`target_filled`). Each is told
only what happened to it; what it does about it is its own table. `run` then carries out the
intents: place a level's stop and target, grow its stop, cancel its legs, place a successor,
allocate the entry's shares to the levels, cancel the children of a bracket, report the outcome.
"""

from __future__ import annotations

from typing import Any

import attrs

from machines import PairModel
from supervisor import allocation
from supervisor import events as ev
from supervisor.allocation import refresh_caps
from supervisor.book import (
    LegRecord,
    Role,
    TradeRecord,
    exit_room,
    exposure,
    position,
    reduce_only_allows,
    working,
)
from supervisor.desk import Desk, leg_of
from supervisor.machinery import Step
from supervisor.orders import flatten_leg, restored_leg
from supervisor.policy import OrphanAction
from supervisor.protection import Protection

Intent = tuple[str, Any]


# a leg that moved into one of these still works (or is about to) as it did before
_WAITING = frozenset({"pending", "sent", "cancel_requested", "replace_requested", "unknown"})


class Choreography:
    def __init__(self, desk: Desk, protection: Protection) -> None:
        self.desk = desk
        self.protection = protection
        self.m = desk.machines
        protection.restore = self.run

    # -- telling the machines ------------------------------------------------------------------
    def after_leg(self, trade: TradeRecord, leg: LegRecord, step: Step, *, shares: int) -> None:
        """`step` moved `leg` (or counted `shares` executed by it, which may be 0 or negative)."""
        desk = self.desk
        if leg.role is Role.ENTRY:
            if shares > 0:
                self._trade(trade, "inventory")
                self._ladder(trade, "shares_added")
            if step.moved and leg.terminal:
                self._trade(trade, "entry_ended")
                self._ladder(trade, "entry_ended")
            if trade.ladder == "flattening" and (step.moved or shares):
                self._ladder(trade, "child_changed")
            return
        pair = trade.pair_of(leg)
        if pair is not None:
            if shares:
                refresh_caps(pair)
            # a pair is told when a leg changed state: the caps make a fill that completes the
            # level move its leg, so the fills in between need no word to the pair; nor does a leg
            # that moved to wait for the broker (it works as it did: every guard reads the same)
            told = step.moved and (leg.state not in _WAITING or step.source in ("idle", "dropped"))
            pair_step = desk.fire(self.m.pair, pair, trade, "leg_changed") if told else None
            if pair_step is not None:
                self.run(trade, pair_step.intents)
                if pair_step.moved and pair.done:
                    self._leftovers(trade, pair)
                if pair_step.moved and pair.state == "closed_by_tp":
                    self._milestones(trade)
                if trade.ladder == "detaching" and all(p.done for p in trade.pairs):
                    self._ladder(trade, "children_done")
            if step.moved and trade.ladder == "detaching" and not pair.done:
                self._ladder(trade, "child_changed")
        elif step.moved and (leg.terminal or step.source == "replace_requested"):
            self._extra_ended(trade)  # an emergency stop gone or cut: the ladder may take its shares
        if shares > 0 and leg.filled == shares and trade.entry_live:
            # a stop: the breakout failed; a target: the price ran past it while the entry still
            # bought below it. Either way the rest of the entry is not wanted: stop entering
            self._ladder(trade, "stop_executed")
        if (shares and (step.moved or pair is None or pair.done)) or (step.moved and leg.terminal):
            self._trade(trade, "reduced")
        if trade.ladder == "flattening" and (step.moved or shares):
            self._ladder(trade, "child_changed")  # once nothing works, what is held goes out

    def outside_changed(self, trade: TradeRecord) -> None:
        """Broker truth moved the trade's shares closed outside this client: its position changed as
        by an execution (the Trade may be flat now; a flatten under way may be done)."""
        self._trade(trade, "reduced")
        if trade.ladder == "flattening":
            self._ladder(trade, "child_changed")

    def flatten(self, trade: TradeRecord) -> None:
        """The Ladder's flatten, then a first look: nothing may be working already."""
        self._ladder(trade, "flatten")
        self._ladder(trade, "child_changed")

    def _leftovers(self, trade: TradeRecord, pair: PairModel) -> None:
        """A level is over, yet a leg of it still works: the broker cancels it through the OCA group
        at once, so one still working after the grace period is an orphan (or was resized behind
        our back, by a modify that crossed a sibling's fill): reported then, and cancelled under
        `Policy.orphan_exits` cancel (the default)."""
        for leg in pair.legs:
            if leg.live:
                self.desk.deadlines.add(self.desk.now + self.desk.policy.protection_grace, "leftover",
                                        trade.trade_id, leg.leg, self.desk.now)

    def leftover_due(self, trade: TradeRecord, leg: LegRecord) -> None:
        pair = trade.pair_of(leg)
        if pair is None or not pair.done or not leg.live or leg.state == "cancel_requested":
            return
        policy = self.desk.policy.orphan_exits
        self.desk.emit(ev.OrphanExitDetected(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                             working_qty=max(leg.order_qty - leg.filled, 0),
                                             position=position(trade), policy=policy.value))
        if policy is OrphanAction.CANCEL:
            self.desk.cancel(trade, leg)

    def _trade(self, trade: TradeRecord, event: str) -> None:
        step = self.desk.fire(self.m.trade, trade, trade, event)
        if step is not None:
            self.run(trade, step.intents)

    def _ladder(self, trade: TradeRecord, event: str) -> None:
        step = self.desk.fire(self.m.ladder, trade, trade, event)
        if step is not None:
            self.run(trade, step.intents)

    def _milestones(self, trade: TradeRecord) -> None:
        step = self.desk.fire(self.m.milestones, trade, trade, "target_filled")
        if step is not None:
            self.run(trade, step.intents)

    # -- intents -------------------------------------------------------------------------------
    def run(self, trade: TradeRecord, intents: tuple[Intent, ...] | list[Intent]) -> None:
        for name, subject in intents:
            getattr(self, f"_do_{name}")(trade, subject)

    # pair intents
    def _do_place_both(self, trade: TradeRecord, pair: PairModel) -> None:
        qty = pair.remaining if pair.allocated > 0 else pair.target_qty
        if qty > 0 and self._place_stop(trade, pair, qty) and pair.tp is not None:
            self.desk.place(trade, leg_of(pair.tp), qty)

    def _place_stop(self, trade: TradeRecord, pair: PairModel, qty: int) -> bool:
        sl = leg_of(pair.sl)
        wanted = self.protection.wanted_stop(trade, pair)  # a level placed after a milestone
        if sl.order.stop_price != wanted:
            sl.command = attrs.evolve(sl.order, stop_price=wanted)
            sl.stop_price = wanted
        return self.desk.place(trade, sl, qty)

    def _do_fit_legs(self, trade: TradeRecord, pair: PairModel) -> None:
        """The level grew (the entry filled more of it): its stop and target grow to cover it. A
        leg not yet acknowledged, or with a change in flight, grows on its next fact."""
        if pair.allocated == 0:
            return
        for model in pair.stop_first:
            leg = leg_of(model)
            wanted = leg.filled + pair.remaining
            free = leg.pending_qty is None and leg.state in ("working", "partially_filled")
            if free and leg.order_qty < wanted and not self.desk.modify(trade, leg, qty=wanted):
                self._make_room(trade, exposure(trade, resized=(leg, wanted), settling=True) - max(position(trade), 0))

    def _make_room(self, trade: TradeRecord, needed: int) -> None:
        """Emergency stops hold `needed` shares a level of the ladder would cover: they give them up
        (cut by a modify, or cancelled when all of one is needed), and the level takes the shares
        once that is answered (the answer is the fact that grows or places it). When they cannot
        free that much, nothing is cut: the level waits for the position to change."""
        stops = [leg_of(leg) for leg in trade.extras]
        free = [s for s in stops if s.role is Role.STOP and s.state in ("working", "partially_filled")
                and s.pending_qty is None]
        if needed <= 0 or sum(working(trade, s) for s in free) < needed:
            return
        for stop in free:
            cut = min(working(trade, stop), needed)
            if cut == working(trade, stop):
                self.desk.cancel(trade, stop)
            elif not self.desk.modify(trade, stop, qty=stop.order_qty - cut):
                continue
            needed -= cut
            if needed <= 0:
                return

    def _extra_ended(self, trade: TradeRecord) -> None:
        """An emergency stop ended or shrank: the levels may take its shares now."""
        for pair in trade.pairs:
            if pair.state in ("armed", "reducing"):
                step = self.desk.fire(self.m.pair, pair, trade, "allocate")
                if step is not None:
                    self.run(trade, step.intents)
        self.protection.restore_levels(trade, blocked_only=True)

    def _do_restore_legs(self, trade: TradeRecord, pair: PairModel) -> None:
        """A leg of a level that still holds shares is gone: a new one takes its place in the same
        OCA group (the stop first), and the lost one is retired (its executions still count). A
        leg reduce-only would block is not built: the next fact (the exits shrinking) restores it."""
        if not self.desk.connected:
            return  # offline: restored by the repair the reconciliation runs, nothing spent now
        left = pair.remaining
        for attr in ("sl", "tp") if pair.tp is not None else ("sl",):
            old = leg_of(getattr(pair, attr))
            if old.live:
                continue
            if old.state == "idle":  # never went (its placement was blocked): what fits goes now,
                # the level grows to the rest as the other exits make room (emergency stops cut)
                fits = exit_room(trade, attrs.evolve(old.order, quantity=left))
                if fits > 0:
                    self.desk.place(trade, old, fits)
                if fits < left:
                    self._make_room(trade, left - fits)
                continue
            name = _fresh_name(trade, old.leg.split("~")[0])
            new = restored_leg(trade, old, name, left)
            if attr == "sl":
                new.command = attrs.evolve(new.order, stop_price=self.protection.wanted_stop(trade, pair))
                new.stop_price = new.order.stop_price
            if not reduce_only_allows(trade, extra=new.order):  # a stop beside its target always goes
                continue
            pair.repairs_left -= 1
            pair.retired.append(old)
            setattr(pair, attr, new)
            trade.legs[new.leg] = new
            self.desk.register(trade, new)
            self.desk.emit(ev.LegRestored(trade_id=trade.trade_id, leg=new.leg, order_ref=new.order_ref,
                                          replaces=old.leg, quantity=left, reason=old.reject_reason or old.state))
            self.desk.place(trade, new)
        refresh_caps(pair)

    def _do_cancel_legs(self, trade: TradeRecord, pair: PairModel) -> None:
        for model in pair.legs:
            leg = leg_of(model)
            if leg.state in ("pending", "sent", "working", "partially_filled", "replace_requested"):
                self.desk.cancel(trade, leg)

    def _do_withdraw_legs(self, trade: TradeRecord, pair: PairModel) -> None:
        for model in pair.legs:
            if model.state == "idle":
                self.desk.fire_leg(trade, leg_of(model), "withdraw")

    def _do_succeed(self, trade: TradeRecord, pair: PairModel) -> None:
        """A successor takes over what the replaced pair's level still holds."""
        left = pair.remaining
        pair.allocated = pair.exited  # what it took out is all it answers for now
        refresh_caps(pair)
        if left <= 0:
            return
        successor = self.new_pair(trade, pair.level, target=left, allocated=left,
                                  repairs_left=pair.repairs_left - 1)
        step = self.desk.fire(self.m.pair, successor, trade, "allocate")
        if step is not None:
            self.run(trade, step.intents)

    # ladder intents
    def _do_send_children(self, trade: TradeRecord, _: Any) -> None:
        for pair in trade.pairs:
            step = self.desk.fire(self.m.pair, pair, trade, "attach")
            if step is not None:
                self.run(trade, step.intents)

    def _do_allocate(self, trade: TradeRecord, _: Any) -> None:
        self.allocate(trade, final=False)

    def _do_finalize(self, trade: TradeRecord, _: Any) -> None:
        self.allocate(trade, final=True)

    def _do_release(self, trade: TradeRecord, _: Any) -> None:
        """The entry filled: the broker released the children, each now holds its level's shares."""
        for pair in trade.pairs:
            if not pair.done:
                pair.allocated = pair.target_qty
                refresh_caps(pair)
                # a child the broker rejected while held: its level holds shares now, so it is lost
                step = self.desk.fire(self.m.pair, pair, trade, "leg_changed")
                if step is not None:
                    self.run(trade, step.intents)

    def _do_cancel_children(self, trade: TradeRecord, _: Any) -> None:
        for pair in trade.pairs:
            self._do_cancel_legs(trade, pair)
            self._do_withdraw_legs(trade, pair)
            step = self.desk.fire(self.m.pair, pair, trade, "leg_changed")
            if step is not None:
                self.run(trade, step.intents)
        if all(p.done for p in trade.pairs):
            self._ladder(trade, "children_done")

    def _do_cover_late(self, trade: TradeRecord, _: Any) -> None:
        # shares that beat the entry's cancel after the ladder was complete: the levels take them
        # as they would have (a level that got none gets a pair now); what cannot be placed is
        # left to the Cover machine's repair
        self.allocate(trade, final=True)

    def _do_cancel_entry(self, trade: TradeRecord, _: Any) -> None:
        if trade.entry.state in ("pending", "sent", "working", "partially_filled", "replace_requested"):
            self.desk.cancel(trade, trade.entry_rec)

    # flatten intents
    def _do_cancel_everything(self, trade: TradeRecord, _: Any) -> None:
        """Flatten, first step: no new entry, no exit left working (the market order that closes
        what is held goes once they are all gone, so it is sized from executions only)."""
        entry = trade.entry_rec
        if entry.state in ("armed", "triggered"):
            if self.desk.fire_leg(trade, entry, "expire") is not None:
                self._trade(trade, "abort")
        else:
            self._do_cancel_entry(trade, None)
        for pair in trade.pairs:
            step = self.desk.fire(self.m.pair, pair, trade, "withdraw")
            if step is not None:
                self.run(trade, step.intents)
        for extra in trade.extras:
            leg = leg_of(extra)
            if leg.state in ("pending", "sent", "working", "partially_filled", "replace_requested"):
                self.desk.cancel(trade, leg)

    def _do_send_flatten(self, trade: TradeRecord, _: Any) -> None:
        """Flatten, last step: what the executions say is held goes out at the market, reduce-only."""
        held = position(trade)
        if trade.flattens >= self.desk.policy.max_flatten_orders:
            self.desk.emit(ev.ProtectionFailed(
                trade_id=trade.trade_id, position=held, stop_coverage=0,
                reason=f"{held} shares held and {trade.flattens} flatten orders already sent "
                       f"(Policy.max_flatten_orders={self.desk.policy.max_flatten_orders})"))
            return
        trade.flattens += 1
        leg = flatten_leg(trade, trade.flattens, held)
        self.desk.add_extra(trade, leg)
        if self.desk.place(trade, leg):
            self.desk.emit(ev.FlattenSent(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                          quantity=held))

    # milestone intents
    def _do_reprice(self, trade: TradeRecord, _: Any) -> None:
        self.protection.reprice(trade)

    # trade intents
    def _do_closed(self, trade: TradeRecord, _: Any) -> None:
        trade.reported_outcome = "closed"
        for leg in list(trade.legs.values()):
            if leg.state == "idle":  # built for this trade, never needed
                self.desk.fire_leg(trade, leg, "withdraw")
        self.desk.emit(ev.TradeClosed(trade_id=trade.trade_id, entry_filled=trade.entry.filled,
                                      exit_filled=trade.exit_filled, realized_pnl=trade.realized_pnl()))

    def _do_aborted(self, trade: TradeRecord, _: Any) -> None:
        trade.reported_outcome = "aborted"
        for pair in trade.pairs:
            step = self.desk.fire(self.m.pair, pair, trade, "drop")
            if step is not None:
                self.run(trade, step.intents)
        self.desk.emit(ev.TradeAborted(trade_id=trade.trade_id, reason=f"entry ended {trade.entry.state}"))

    # -- allocation: entry shares to ladder levels, in order (supervisor.allocation) ----------------
    def allocate(self, trade: TradeRecord, *, final: bool) -> None:
        allocation.allocate(self, trade, final=final)

    def new_pair(self, trade: TradeRecord, level: int, *, target: int, allocated: int, repairs_left: int) -> PairModel:
        pair = allocation.add_pair(trade, level, target=target, allocated=allocated, repairs_left=repairs_left)
        for leg in pair.legs:
            self.desk.register(trade, leg_of(leg))
        return pair


def _fresh_name(trade: TradeRecord, base: str) -> str:
    number = 2
    while f"{base}~{number}" in trade.legs:
        number += 1
    return f"{base}~{number}"
