"""What the supervisor does after every event: keep shares under stops, build the ladder, move
stops at milestones, and check the invariants and deadlines of DESIGN.md. Sans-IO.

- While the entry is still filling (detached exits), one protective stop covers what has been
  executed so far and is resized as fills arrive.
- When the entry ends, the protective stop is cancelled and, once its cancel is confirmed, the
  ladder is placed as independent OCA pairs sized from the executed position (largest-remainder
  split; a level that rounds to zero is dropped with an event). Waiting for the confirmation is
  what keeps the exits reduce-only: two live stops for the same shares could open a position.
- Reduce-only: an exit that would make the working exits exceed the position is not emitted
  (`ExitBlocked`). An OCA group counts once: its orders share one quantity at the broker.
- Coverage short for longer than the grace period: `CoverageGap`, then an emergency stop for the
  uncovered shares (inside an exposed pair's OCA group when its take-profit still works).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from machines import Leg, LegModel, StopLeg
from supervisor import events as ev
from supervisor.book import LegSlot, Role, TradeBook
from supervisor.orders import stop_order, take_profit_order
from supervisor.policy import CoverageAction, OrphanAction, Policy
from supervisor.port import Command, PlaceOrder

if TYPE_CHECKING:
    from statemachine import StateMachine


class Protection:
    policy: Policy
    _now: float

    if TYPE_CHECKING:
        def _emit(self, event: ev.SupervisorEvent) -> None: ...
        def _fire(self, book: TradeBook, machine: StateMachine, event: str, **kwargs: Any) -> bool: ...
        def _register(self, book: TradeBook, slot: LegSlot) -> None: ...
        def _leg_ended(self, book: TradeBook, slot: LegSlot) -> None: ...
        def request_cancel(self, book: TradeBook, slot: LegSlot) -> list[Command]: ...
        def request_modify(self, book: TradeBook, slot: LegSlot, *, qty: int | None = None,
                           stop_price: float | None = None, milestone: int | None = None) -> list[Command]: ...

    def _after(self, book: TradeBook) -> list[Command]:
        commands = self._manage_exits(book)
        commands += self._enforce_reduce_only(book)
        commands += self._check_milestones(book)
        commands += self._check_coverage(book)
        commands += self._check_orphans(book)
        self._check_deadlines(book)
        self._check_outcome(book)
        return commands

    # -- building exits ------------------------------------------------------------------------
    def _new_slot(self, role: Role, name: str, command: PlaceOrder, *, book: TradeBook | None = None,
                  level: int | None = None, attached: bool = False) -> LegSlot:
        if book is not None:
            machine = book.leg_machine(role, name, command)
        else:
            model = LegModel(leg=name, intended_qty=command.quantity, limit_price=command.limit_price,
                             stop_price=command.stop_price, order_ref=command.order_ref)
            machine = StopLeg(model) if role is Role.STOP else Leg(model)
        return LegSlot(name, role, machine, command, level=level, attached=attached)

    def _place_exit(self, book: TradeBook, slot: LegSlot) -> list[Command]:
        """Emit one exit intent, unless it would make the exits exceed the position."""
        position = max(book.position, 0)
        exposure = book.exit_exposure(extra=slot.command)
        if not slot.attached and exposure > position:
            self._emit(ev.ExitBlocked(
                trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref, quantity=slot.command.quantity,
                working_exits=book.exit_exposure(), position=book.position,
                reason=f"working exits would be {exposure} for a position of {position}",
            ))
            return []
        book.add_exit(slot)
        self._register(book, slot)
        slot.intended_at = self._now
        cmd = slot.command
        self._emit(ev.OrderIntended(
            trade_id=book.trade_id, leg=slot.name, order_ref=cmd.order_ref, quantity=cmd.quantity,
            order_type=cmd.order_type.value, limit_price=cmd.limit_price, stop_price=cmd.stop_price,
        ))
        return [cmd]

    def _pair_slots(self, book: TradeBook, level: int, qty: int, attached: bool) -> tuple[LegSlot, LegSlot, str]:
        plan = book.plan
        suffix = "" if book.generation == 1 else f"~{book.generation}"
        oca = f"{plan.trade_id}:oca{level}{suffix}"
        parent = book.entry.order_ref if attached else None
        tp_cmd = take_profit_order(plan, f"tp{level}{suffix}", qty, plan.take_profits[level - 1], oca_group=oca,
                                   parent_ref=parent)
        sl_cmd = stop_order(plan, f"sl{level}{suffix}", qty, plan.stop_for(level), oca_group=oca, parent_ref=parent)
        tp = self._new_slot(Role.TAKE_PROFIT, f"tp{level}{suffix}", tp_cmd, book=book, level=level,
                            attached=attached)
        sl = self._new_slot(Role.STOP, f"sl{level}{suffix}", sl_cmd, book=book, level=level, attached=attached)
        return tp, sl, oca

    def prepare_attached(self, book: TradeBook) -> None:
        """Attached children are built at arm time and sent with the entry on the trigger."""
        for level, qty in enumerate(book.plan.split(book.plan.quantity), start=1):
            if qty == 0:
                self._emit(ev.LadderLevelDropped(trade_id=book.trade_id, leg=f"tp{level}", level=level,
                                                 reason=f"allocation gives 0 of {book.plan.quantity} shares"))
                continue
            tp, sl, oca = self._pair_slots(book, level, qty, attached=True)
            for slot in (tp, sl):
                book.add_exit(slot)
                self._register(book, slot)
            book.add_pair(level, tp, sl, oca)
        book.exits_placed = True
        book.attached_mode = True

    def _place_ladder(self, book: TradeBook) -> list[Command]:
        position = book.position
        quantities = book.plan.split(position)
        commands: list[Command] = []
        dropped = []
        book.pairs.clear()
        for level, qty in enumerate(quantities, start=1):
            if qty == 0:
                dropped.append(level)
                self._emit(ev.LadderLevelDropped(trade_id=book.trade_id, leg=f"tp{level}", level=level,
                                                 reason=f"split of {position} shares gives level {level} none"))
                continue
            tp, sl, oca = self._pair_slots(book, level, qty, attached=False)
            placed = self._place_exit(book, tp)
            if placed:
                placed += self._place_exit(book, sl)
            if len(placed) == 2:
                book.add_pair(level, tp, sl, oca)
            commands += placed
        book.exits_placed = True
        self._emit(ev.ExitsPlaced(trade_id=book.trade_id, quantities=quantities, dropped_levels=tuple(dropped)))
        return commands

    def _manage_exits(self, book: TradeBook) -> list[Command]:
        if book.replacing:
            return self._finish_replacement(book)
        if book.attached_mode:
            return self._resize_attached(book)
        if book.exits_placed:
            return []
        position = book.position
        pstop = book.pstop
        if not book.entry_done:
            if position <= 0:
                return []
            if pstop is None or pstop.terminal:
                book.pstop_seq += 1
                name = f"pstop{book.pstop_seq}"
                cmd = stop_order(book.plan, name, position, book.plan.protective_stop, oca_group=None)
                book.pstop = self._new_slot(Role.STOP, name, cmd, book=book)
                return self._place_exit(book, book.pstop)
            if pstop.state in ("working", "partially_filled") and pstop.model.remaining_qty != position:
                return self.request_modify(book, pstop, qty=pstop.model.filled_qty + position)
            return []
        if pstop is not None and pstop.live:
            return self.request_cancel(book, pstop) if pstop.state != "cancel_requested" else []
        if position <= 0:
            return []
        return self._place_ladder(book)

    def _resize_attached(self, book: TradeBook) -> list[Command]:
        """The entry ended short of its quantity: shrink the held children to what executed."""
        if not book.entry_done or book.attached_resized:
            return []
        book.attached_resized = True
        commands: list[Command] = []
        wanted = book.plan.split(book.entry_filled) if book.entry_filled > 0 else ()
        for level, pair in book.pairs.items():
            qty = wanted[level - 1] if level - 1 < len(wanted) else 0
            for slot in (pair.tp, pair.sl):
                if qty == 0:
                    commands += self.request_cancel(book, slot)
                elif slot.model.order_qty != qty and slot.model.filled_qty <= qty:
                    commands += self.request_modify(book, slot, qty=qty)
        return commands

    def replace_exits(self, book: TradeBook) -> list[Command]:
        """QuantityMismatch policy `replace`: cancel the exits the broker sized wrongly, then
        re-place independent exits of the right size once every cancel is confirmed."""
        if book.replacing:
            return []
        book.replacing = True
        commands: list[Command] = []
        for pair in book.pairs.values():
            commands += self.request_cancel(book, pair.tp)
            commands += self.request_cancel(book, pair.sl)
        return commands

    def _finish_replacement(self, book: TradeBook) -> list[Command]:
        if any(pair.tp.live or pair.sl.live for pair in book.pairs.values()):
            return []
        book.replacing = False
        book.attached_mode = False
        book.exits_placed = False
        book.generation += 1
        book.pairs.clear()
        return self._manage_exits(book)

    # -- milestones ------------------------------------------------------------------------------
    def _check_milestones(self, book: TradeBook) -> list[Command]:
        commands: list[Command] = []
        filled = [level for level, pair in book.pairs.items() if pair.tp.state == "filled"]
        for index, needed in enumerate(({1}, {1, 2})):
            if not needed <= set(filled):
                continue
            price = book.plan.milestone_price(index, book.entry.model.avg_price)
            for level, pair in book.pairs.items():
                if level <= index + 1 or (index, level) in book.milestones_done:
                    continue
                sl = pair.sl
                if sl.terminal:
                    book.milestones_done.add((index, level))
                elif sl.state in ("working", "partially_filled"):
                    if sl.model.stop_price == price:
                        book.milestones_done.add((index, level))
                        continue
                    modify = self.request_modify(book, sl, stop_price=price, milestone=index)
                    if modify:
                        book.milestones_done.add((index, level))
                        commands += modify
        return commands

    # -- coverage and orphans --------------------------------------------------------------------
    def _check_coverage(self, book: TradeBook) -> list[Command]:
        position = book.position
        coverage = book.stop_coverage()
        if position <= 0 or coverage >= position:
            book.gap_since = None
            book.gap_reported = False
            if position > 0 and book.trade.current_state_value in ("protecting", "unprotected"):
                self._fire(book, book.trade, "covered")
            return []
        if book.gap_since is None:
            book.gap_since = self._now
        if self._now - book.gap_since < self.policy.protection_grace:
            return []
        if not book.gap_reported:
            book.gap_reported = True
            self._emit(ev.CoverageGap(trade_id=book.trade_id, position=position, stop_coverage=coverage,
                                      uncovered=position - coverage))
            self._fire(book, book.trade, "uncovered")
        if self.policy.coverage_gaps is CoverageAction.WARN:
            return []
        # A take-profit whose stop died still works the same shares: a stop beside it would be
        # two exits for one position (and its OCA sibling may already have filled unseen). So
        # the take-profit is cancelled first, and the stop goes in once no such cancel is open.
        commands: list[Command] = []
        for pair in book.pairs.values():
            tp = pair.tp
            if pair.sl.terminal and tp.live and not tp.cancel_refused:
                commands += self.request_cancel(book, tp)
        if any(pair.tp.state == "cancel_requested" or (pair.sl.terminal and pair.tp.live)
               for pair in book.pairs.values()):
            return commands
        uncovered = position - book.stop_coverage()
        # a pair whose stop died and whose take-profit we cancelled gets both back: the emergency
        # stop and a fresh take-profit at the level's price, in a new OCA group of their own
        for level, pair in book.pairs.items():
            if uncovered <= 0:
                break
            if (pair.sl.terminal and pair.tp.state == "cancelled" and level not in book.repaired_levels
                    and pair.machine.model.remaining_qty > 0):
                book.repaired_levels.add(level)
                qty = min(pair.machine.model.remaining_qty, uncovered)
                price = pair.sl.model.stop_price or book.plan.protective_stop
                placed = self._emergency_stop(book, qty, price, with_target=book.plan.take_profits[level - 1])
                uncovered -= qty if placed else 0
                commands += placed
        if uncovered > 0:
            commands += self._emergency_stop(book, uncovered, book.plan.protective_stop)
        return commands

    def _emergency_stop(self, book: TradeBook, qty: int, price: float, *,
                        with_target: float | None = None) -> list[Command]:
        book.emergency_seq += 1
        name = f"estop{book.emergency_seq}"
        oca = f"{book.trade_id}:ocaE{book.emergency_seq}" if with_target is not None else None
        cmd = stop_order(book.plan, name, qty, price, oca_group=oca)
        placed = self._place_exit(book, self._new_slot(Role.STOP, name, cmd))
        if not placed:
            return []
        self._emit(ev.EmergencyStopPlaced(trade_id=book.trade_id, leg=name, order_ref=cmd.order_ref,
                                          quantity=qty, stop_price=price))
        if with_target is not None:
            target = take_profit_order(book.plan, f"etp{book.emergency_seq}", qty, with_target, oca_group=oca)
            placed += self._place_exit(book, self._new_slot(Role.TAKE_PROFIT, f"etp{book.emergency_seq}", target))
        return placed

    def _enforce_reduce_only(self, book: TradeBook) -> list[Command]:
        """Working exits above the position (a late fill, a sibling the broker did not reduce):
        shrink them, so no exit can open a position the other way."""
        if book.attached_mode and not book.entry_done:
            return []
        position = max(book.position, 0)
        excess = book.exit_exposure(settling=True) - position
        if excess <= 0:
            return []
        self._emit(ev.InvariantViolated(
            trade_id=book.trade_id, invariant="reduce_only",
            detail=f"working exits exceed the position {position} by {excess}: shrinking them",
            entry_filled=book.entry_filled, exit_filled=book.exit_filled,
        ))
        commands: list[Command] = []
        groups: dict[str, list[LegSlot]] = {}
        for slot in book.exits():
            if slot.live and slot.state != "cancel_requested" and slot.exposure > 0:
                groups.setdefault(slot.command.oca_group or slot.order_ref, []).append(slot)
        # targets with no stop beside them go first (protection is kept longest), then the
        # last levels
        ordered = list(groups.values())
        ordered.reverse()
        ordered.sort(key=lambda members: any(m.role is Role.STOP for m in members))  # stable
        for members in ordered:
            if excess <= 0:
                break
            size = max(m.exposure for m in members)
            keep = max(size - excess, 0)
            excess -= size - keep
            for member in members:
                if keep == 0 or member.state not in ("working", "partially_filled"):
                    commands += self.request_cancel(book, member)
                elif member.exposure > keep:
                    commands += self.request_modify(book, member, qty=member.model.filled_qty + keep)
        return commands

    def _check_orphans(self, book: TradeBook) -> list[Command]:
        live = book.working_exits()
        if book.position != 0 or book.entry_filled == 0 or not live:
            book.orphan_since = None
            return []
        if book.orphan_since is None:
            book.orphan_since = self._now
        if self._now - book.orphan_since < self.policy.protection_grace:
            return []
        commands: list[Command] = []
        for slot in live:
            if not slot.orphan_reported:
                commands += self.report_orphan(book, slot)
        return commands

    def report_orphan(self, book: TradeBook, slot: LegSlot) -> list[Command]:
        slot.orphan_reported = True
        self._emit(ev.OrphanExitDetected(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                         working_qty=slot.remaining, position=book.position,
                                         policy=self.policy.orphan_exits.value))
        return self.request_cancel(book, slot) if self.policy.orphan_exits is OrphanAction.CANCEL else []

    # -- deadlines, snapshots that run ahead, outcome ---------------------------------------------
    def resolve_stall(self, book: TradeBook, slot: LegSlot, stage: str) -> None:
        if stage in slot.stalled:
            slot.stalled.discard(stage)
            self._emit(ev.SubmissionResolved(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                             stage=stage))

    def _check_deadlines(self, book: TradeBook) -> None:
        for slot in book.legs.values():
            stage, since, limit = "", None, 0.0
            if slot.state == "pending" and slot.intended_at is not None:
                stage, since, limit = "send", slot.intended_at, self.policy.send_deadline
            elif slot.state == "sent" and slot.sent_at is not None:
                stage, since, limit = "ack", slot.sent_at, self.policy.ack_deadline
            if stage and since is not None and stage not in slot.stalled and self._now - since >= limit:
                slot.stalled.add(stage)
                self._emit(ev.SubmissionStalled(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                                stage=stage, waited=self._now - since))
            claim = slot.status_claim
            if claim is None:
                continue
            if slot.model.filled_qty >= claim[0]:
                slot.status_claim = None
            elif not slot.status_reported and self._now - claim[1] >= self.policy.status_grace:
                slot.status_reported = True
                self._emit(ev.StatusFillMismatch(trade_id=book.trade_id, leg=slot.name, order_ref=slot.order_ref,
                                                 status="claimed", status_filled=claim[0],
                                                 executed_qty=slot.model.filled_qty))

    def _check_outcome(self, book: TradeBook) -> None:
        state = book.trade.current_state_value
        if state == "closed" and not book.closed_reported:
            book.closed_reported = True
            self._emit(ev.TradeClosed(trade_id=book.trade_id, entry_filled=book.entry_filled,
                                      exit_filled=book.exit_filled, realized_pnl=book.realized_pnl()))
        elif state == "aborted" and not book.closed_reported:
            book.closed_reported = True
            self._emit(ev.TradeAborted(trade_id=book.trade_id, reason=f"entry ended {book.entry.state}"))
        elif state not in ("closed", "aborted"):
            book.closed_reported = False
