"""Keeping a position's promises: every executed share under a stop, never more exits than shares.

After every fact about a trade, `tell` measures it (`supervisor.book.measure`: clear, covered,
short, excess, orphaned) and tells the Cover machine when the measure changed, or when it matters
again (a refusal while exits still exceed the position; a stop lost while the gap is open). The
Cover machine's intents are carried out here:

- `shrink`: working exits that could execute more than the position are cut to fit it, keeping the
  groups that hold a stop and the earlier levels longest (the settling view counts cancels and
  modifies already asked for, so nothing is asked twice);
- `repair` (a gap past its grace period, a stop lost during a gap, shares that arrived after the
  ladder was complete): the uncovered shares get an emergency stop, in the OCA group of an exposed
  level's target when one still works them (one exit for one share, and the level keeps its
  target); when none may be placed any more, `ProtectionFailed` says so;
- orphans (flat, exits working) are cancelled at once and reported if still working after the grace
  period.

Stops also move at milestones (`reprice`): each stop of a level the milestone reached goes to its
price; a stop that is busy or not yet working is moved on its next fact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from machines import PairModel
from supervisor import events as ev
from supervisor.book import (
    MEASURE_OF_STATE,
    PROTECTING_STATES,
    LegRecord,
    Measure,
    Role,
    TradeRecord,
    coverage,
    exposure,
    measure,
    position,
    protecting,
    working,
)
from supervisor.deadlines import Deadline
from supervisor.desk import Desk, leg_of
from supervisor.orders import emergency_leg
from supervisor.policy import CoverageAction, OrphanAction

PRICE_EPSILON = 1e-9


def _unset(trade: TradeRecord, intents: tuple[tuple[str, Any], ...]) -> None:
    raise RuntimeError("Protection.restore is set by the Choreography that owns the pair intents")


def claimed_by_ladder(trade: TradeRecord) -> int:
    """Shares a ladder level will cover on its next fact: a pair being replaced (its successor
    comes when the old legs are gone), or a stop whose growth waits for its acknowledgement."""
    claimed = 0
    for pair in trade.pairs:
        if pair.state == "replacing":
            claimed += pair.remaining
        elif pair.state in ("armed", "reducing") and pair.sl.state in ("pending", "sent", "replace_requested"):
            claimed += max(pair.remaining - protecting(trade, leg_of(pair.sl)), 0)
    return claimed


def _group_stops(trade: TradeRecord, group: str) -> int:
    """Shares the working stops of one OCA group could take (an emergency stop beside an exposed
    level's target counts from the moment it is asked for)."""
    return sum(working(trade, leg, settling=True) for leg in trade.exits() if leg.is_stop and leg.oca_group == group)


def _stopped(trade: TradeRecord, tp: LegRecord) -> bool:
    """A target whose own stop still protects its shares (they share an OCA pair)."""
    pair = trade.pair_of(tp)
    return pair is not None and pair.sl.state in PROTECTING_STATES


class Protection:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.m = desk.machines
        # carries out a pair's intents (set by the choreography, which owns them)
        self.restore: Callable[[TradeRecord, tuple[tuple[str, Any], ...]], None] = _unset

    # -- telling the Cover machine ---------------------------------------------------------------
    def tell(self, trade: TradeRecord, *, leg_changed: bool = False, stop_lost: bool = False) -> None:
        now = measure(trade)
        current = MEASURE_OF_STATE[trade.cover]
        if now is current is Measure.COVERED and trade.state == "protecting":
            # more shares arrived and the stops placed for them covered them at once: the Cover
            # machine never left `covered`, the Trade still hears that it is
            self.desk.fire(self.m.trade, trade, trade, "covered")
            return
        if now is not current:
            event = f"became_{now.value}"
        elif now in (Measure.EXCESS, Measure.ORPHANED) and leg_changed:
            event = f"became_{now.value}"  # still too much working: cut what is left to cut
        elif now is Measure.SHORT and stop_lost:
            event = "protection_lost"
        else:
            return
        self._cover(trade, event)

    def _cover(self, trade: TradeRecord, event: str) -> None:
        step = self.desk.fire(self.m.cover, trade, trade, event)
        if step is None:
            return
        for name, _ in step.intents:
            getattr(self, f"_do_{name}")(trade)
        if step.moved and trade.cover == "covered":
            self.desk.fire(self.m.trade, trade, trade, "covered")
        if step.moved and step.source == "excess":
            self.restore_levels(trade, blocked_only=True)  # room again: a leg reduce-only held back may go

    def on_deadline(self, trade: TradeRecord, deadline: Deadline) -> None:
        if trade.cover in ("short", "orphaned") and trade.cover_since == deadline.since:
            self._cover(trade, "grace_elapsed")

    def grace_over(self, trade: TradeRecord) -> None:
        """The grace period is spent already (an outage, a reconciliation): act now. A gap already
        reported is repaired again: its repair may not have gone (the link was down)."""
        if trade.cover in ("short", "orphaned"):
            self._cover(trade, "grace_elapsed")
        elif trade.cover == "gap":
            self._cover(trade, "protection_lost")

    # -- Cover intents -----------------------------------------------------------------------------
    def _do_start_grace(self, trade: TradeRecord) -> None:
        trade.cover_since = self.desk.now
        self.desk.deadlines.add(self.desk.now + self.desk.policy.protection_grace, "cover", trade.trade_id, "",
                                self.desk.now)

    def _do_report_gap(self, trade: TradeRecord) -> None:
        held, covered = position(trade), coverage(trade)
        self.desk.emit(ev.CoverageGap(trade_id=trade.trade_id, position=held, stop_coverage=covered,
                                      uncovered=held - covered))
        self.desk.fire(self.m.trade, trade, trade, "uncovered")

    def _do_covered(self, trade: TradeRecord) -> None:
        self.desk.emit(ev.CoverageRestored(trade_id=trade.trade_id, position=position(trade),
                                           stop_coverage=coverage(trade)))

    def _do_repair(self, trade: TradeRecord) -> None:
        self.repair(trade)

    def _do_shrink(self, trade: TradeRecord) -> None:
        self.shrink(trade)

    def _do_report_orphans(self, trade: TradeRecord) -> None:
        cancel = self.desk.policy.orphan_exits is OrphanAction.CANCEL
        for leg in trade.exits():
            qty = working(trade, leg)
            if qty == 0:
                continue
            self.desk.emit(ev.OrphanExitDetected(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                                 working_qty=qty, position=position(trade),
                                                 policy=self.desk.policy.orphan_exits.value))
            if cancel and leg.state != "cancel_requested":
                self.desk.cancel(trade, leg)

    # -- the remedies ------------------------------------------------------------------------------
    def repair(self, trade: TradeRecord) -> None:
        """Put the shares no stop protects under an emergency stop (beside an exposed level's
        target, in its OCA group, when the target still works those shares)."""
        if self.desk.policy.coverage_gaps is CoverageAction.WARN or not self.desk.connected:
            return  # offline: the reconciliation after the reconnect repairs at once
        held = position(trade)
        if trade.ladder == "detaching":
            return  # the detached ladder takes these shares once the bracket's children are gone
        if trade.ladder == "flattening" and trade.flattens < self.desk.policy.max_flatten_orders:
            return  # they go out at the market once nothing works; a stop would race that order
        self.restore_levels(trade)  # a level that lost a leg restores it in its own OCA group first
        self.fit_levels(trade)  # a level held back by reduce-only grows to its shares first
        uncovered = held - coverage(trade) - claimed_by_ladder(trade)
        if uncovered <= 0:
            return
        # a level whose own stop is gone (no repair left, or its repair held back by reduce-only)
        # while its target still works its shares: the emergency stop for them joins the target's
        # OCA group (one exit for one share, and the level can still take its profit)
        for pair in trade.pairs:
            if uncovered <= 0:
                return
            if pair.tp is None:  # a stop-only level: no target to stand beside
                continue
            tp = leg_of(pair.tp)
            if pair.state not in ("armed", "reducing", "exposed") or not tp.oca_group or _stopped(trade, tp):
                continue
            qty = min(uncovered, working(trade, tp, settling=True) - _group_stops(trade, tp.oca_group))
            if qty > 0:
                if not self._emergency_stop(trade, qty, uncovered, oca_group=tp.oca_group):
                    return
                uncovered -= qty
        room = held - exposure(trade)  # exits whose cancel is in flight still count until it lands
        qty = min(uncovered, room)
        if qty > 0:
            self._emergency_stop(trade, qty, uncovered)
        # else the answer to what is in flight is the next fact

    def _emergency_stop(self, trade: TradeRecord, qty: int, uncovered: int, *, oca_group: str | None = None) -> bool:
        """Place one emergency stop for `qty` shares, unless the trade has used all it may have
        (then `ProtectionFailed` says how many shares are left without a stop)."""
        if trade.estops >= self.desk.policy.max_emergency_stops:
            self.desk.emit(ev.ProtectionFailed(
                trade_id=trade.trade_id, position=position(trade), stop_coverage=coverage(trade),
                reason=f"{uncovered} shares without a stop and {trade.estops} emergency stops already placed "
                       f"(Policy.max_emergency_stops={self.desk.policy.max_emergency_stops})",
            ))
            return False
        trade.estops += 1
        leg = emergency_leg(trade, trade.estops, qty, oca_group=oca_group)
        self.desk.add_extra(trade, leg)
        if self.desk.place(trade, leg):
            self.desk.emit(ev.EmergencyStopPlaced(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                                  quantity=qty, stop_price=leg.order.stop_price or 0.0))
        return True

    def restore_levels(self, trade: TradeRecord, *, blocked_only: bool = False) -> None:
        """Levels whose leg is lost get it back (`repair`: after the grace period). `blocked_only`:
        only a leg that never went or was rejected (nothing at the broker can explain it away)."""
        if trade.ladder == "flattening":
            return
        for pair in trade.pairs:
            if pair.state not in ("armed", "reducing") or pair.remaining <= 0 or all(leg.live for leg in pair.legs):
                continue
            if blocked_only and not any(leg.state in ("idle", "dropped", "rejected") for leg in pair.legs):
                continue
            step = self.desk.fire(self.m.pair, pair, trade, "repair")
            if step is not None:
                self.restore(trade, step.intents)

    def fit_levels(self, trade: TradeRecord) -> None:
        """Levels whose working stop is smaller than their shares (reduce-only held a placement or a
        grow back) are told again (`allocate`: the pair grows its legs if there is room now)."""
        for pair in trade.pairs:
            if pair.state in ("armed", "reducing") and pair.sl.live and \
                    working(trade, leg_of(pair.sl), settling=True) < pair.remaining:
                step = self.desk.fire(self.m.pair, pair, trade, "allocate")
                if step is not None:
                    self.restore(trade, step.intents)

    def shrink(self, trade: TradeRecord) -> None:
        """Cut the working exits down to the position (reduce-only)."""
        budget = max(position(trade), 0)
        over = exposure(trade, settling=True) - budget  # what the cuts already asked for count
        if over <= 0:
            return
        self.desk.emit(ev.InvariantViolated(
            trade_id=trade.trade_id, invariant="reduce_only",
            detail=f"working exits exceed the position {budget} by {over}: shrinking them",
            entry_filled=trade.entry.filled, exit_filled=trade.exit_filled,
        ))
        groups: dict[str, list[LegRecord]] = {}
        for leg in trade.exits():
            if working(trade, leg, settling=True) > 0:
                groups.setdefault(leg.oca_group or leg.order_ref, []).append(leg)

        def keep_order(members: list[LegRecord]) -> tuple[int, int]:
            has_stop = any(m.is_stop for m in members)
            return (0 if has_stop else 1, members[0].level or 99)

        for members in sorted(groups.values(), key=keep_order):
            size = max(working(trade, m, settling=True) for m in members)
            pair = trade.pair_of(members[0])
            level_left = pair.remaining if pair is not None and pair.allocated > 0 else size
            keep = min(size, level_left, budget)  # a level keeps at most its own shares
            budget -= keep
            for member in members:
                if working(trade, member, settling=True) <= keep:
                    continue
                if keep == 0 or (member.state in ("working", "partially_filled") and not self.desk.modify(
                        trade, member, qty=member.filled + keep)):
                    self.desk.cancel(trade, member)
                # not yet acknowledged, or a change in flight: its answer is the next fact

    # -- stops at milestones -----------------------------------------------------------------------
    def wanted_stop(self, trade: TradeRecord, pair: PairModel) -> float:
        plan, milestone = trade.p, trade.milestones
        if milestone == "second" and pair.level >= 3:
            return plan.milestone_price(1, trade.entry.avg_price)
        if milestone in ("first", "second") and pair.level >= 2:
            return plan.milestone_price(0, trade.entry.avg_price)
        return plan.stop_for(pair.level)

    def reprice(self, trade: TradeRecord) -> None:
        for pair in trade.pairs:
            if not pair.done:
                self.check_stop(trade, leg_of(pair.sl))

    def check_stop(self, trade: TradeRecord, leg: LegRecord) -> None:
        """Move a ladder stop to the price its level's milestone wants, if it is free to move."""
        pair = trade.pair_of(leg)
        if pair is None or leg.role is not Role.STOP or pair.done:
            return
        if leg.state not in ("working", "partially_filled") or leg.pending_qty is not None:
            return
        wanted = self.wanted_stop(trade, pair)
        if leg.stop_price is not None and abs(leg.stop_price - wanted) > PRICE_EPSILON:
            self.desk.modify(trade, leg, stop_price=wanted)

    def milestone_of(self, trade: TradeRecord, leg: LegRecord) -> int:
        pair = trade.pair_of(leg)
        if pair is None:
            return -1
        if trade.milestones == "second" and pair.level >= 3:
            return 1
        return 0 if trade.milestones in ("first", "second") else -1
