"""How each broker event reaches its leg: one handler per event type, typed dispatch.

A handler fires the leg's machine with the event's figures, emits the event that proves what
happened, and hands the step to the choreography (pair, trade, ladder, milestones) and to the
protection (stop coverage, exposure, milestone stops). Quantities move only on
`ExecutionReported`, after the account-wide `ExecBook` has dropped duplicates and stale revisions;
a status snapshot is compared with the executions after a grace period, never applied. A refusal of
a cancel or a modify is counted on the leg and said (`CommandRefused`, and `RetryLimitReached` when
it reaches the limit): nothing is re-sent here, only when a later fact calls for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from machines import ExecBook, ExecKind, Fill
from supervisor import events as ev
from supervisor.allocation import refresh_caps
from supervisor.book import LegRecord, Role, TradeRecord, position
from supervisor.choreography import Choreography
from supervisor.desk import Desk, leg_of
from supervisor.machinery import Step
from supervisor.policy import MismatchAction
from supervisor.port import (
    BrokerEvent,
    CancelRejected,
    ExecutionReported,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)
from supervisor.protection import Protection

Handler = Callable[[TradeRecord, LegRecord, Any], None]


class LegEventHandlers:
    def __init__(self, desk: Desk, choreography: Choreography, protection: Protection, execs: ExecBook) -> None:
        self.desk = desk
        self.choreography = choreography
        self.protection = protection
        self.execs = execs
        self.unmatched: dict[str, float] = {}  # commissions that beat their execution
        self.table: dict[type, Handler] = {
            OrderSent: self.on_sent,
            OrderAccepted: self.on_accepted,
            ExecutionReported: self.on_execution,
            OrderCancelled: self.on_cancelled,
            OrderRejected: self.on_rejected,
            CancelRejected: self.on_cancel_rejected,
            ReplaceAccepted: self.on_replace_accepted,
            ReplaceRejected: self.on_replace_rejected,
            StatusObserved: self.on_status,
        }

    def handle(self, trade: TradeRecord, leg: LegRecord, event: BrokerEvent) -> None:
        self.table[type(event)](trade, leg, event)

    def after(self, trade: TradeRecord, leg: LegRecord, step: Step | None, shares: int = 0) -> None:
        """A fact about `leg` is in: tell the machines that read it, then check the promises."""
        if step is not None and (step.moved or shares):
            self.choreography.after_leg(trade, leg, step, shares=shares)
        moved = step is not None and step.moved
        exit_ended = moved and leg.role is not Role.ENTRY and leg.terminal  # a repair may go on now
        self.protection.tell(trade, leg_changed=moved, stop_lost=exit_ended)
        self.protection.check_stop(trade, leg)

    # -- the handlers ------------------------------------------------------------------------------
    def on_sent(self, trade: TradeRecord, leg: LegRecord, event: OrderSent) -> None:
        step = self.desk.fire_leg(trade, leg, "transmit", order_id=event.order_id)
        if step is None or not step.moved:
            return
        desk = self.desk
        leg.sent_at = desk.now
        if leg.role is Role.ENTRY:
            trade.stamps.setdefault("sent", event.time or desk.now)
        desk.deadlines.add(desk.now + desk.policy.ack_deadline, "ack", trade.trade_id, leg.leg, desk.now)
        desk.emit(ev.OrderSubmitted(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                    order_id=event.order_id))
        if leg.intended_at is not None and desk.now - leg.intended_at >= desk.policy.send_deadline:
            desk.emit(ev.SubmissionResolved(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                            stage="send"))
        self.after(trade, leg, step)

    def on_accepted(self, trade: TradeRecord, leg: LegRecord, event: OrderAccepted) -> None:
        desk = self.desk
        before_qty, first = leg.broker_qty, leg.state in ("pending", "sent", "unknown")
        news = before_qty is None or leg.state == "unknown"  # the broker's figure, not an echo
        step = desk.fire_leg(trade, leg, "accept", quantity=event.quantity, order_id=event.order_id,
                             perm_id=event.perm_id)
        if step is None:
            return
        if leg.role is Role.ENTRY:
            trade.stamps.setdefault("ack", event.time or desk.now)
        if first and step.moved:
            desk.emit(ev.OrderAcknowledged(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                           order_id=event.order_id, broker_qty=event.quantity))
            if leg.sent_at is not None and desk.now - leg.sent_at >= desk.policy.ack_deadline:
                desk.emit(ev.SubmissionResolved(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                                stage="ack"))
        if news:
            self._acknowledged(trade, leg)
            if event.quantity not in (leg.intended_qty, before_qty) and leg.pending_qty is None:
                self._mismatch(trade, leg, event.quantity)
        self.after(trade, leg, step)

    def _acknowledged(self, trade: TradeRecord, leg: LegRecord) -> None:
        """The broker gave the order's size: OCA reductions count from its sibling's fills now, and
        a status made before this moment (delivered late) says nothing newer."""
        leg.figure_at = self.desk.now
        pair = trade.pair_of(leg)
        if pair is not None:
            leg.sibling_filled_at_ack = pair.exited - leg.filled
            refresh_caps(pair)

    def _in_sibling_figure(self, trade: TradeRecord, leg: LegRecord, time: float | None, qty: int) -> None:
        """An execution the broker made no later than the OCA sibling's last resize (a modify's
        acknowledgement, a status that raised it) is inside that size: a modify that landed after it set the
        sibling's size outright, so it takes nothing off. Counting it in is the careful side: a
        sibling believed larger than it is gets shrunk to fit (a modify that changes nothing),
        while one believed smaller could outlive the position (the exit that opened a position)."""
        pair = trade.pair_of(leg)
        if pair is None or pair.tp is None or not time:  # no time (0): counted as IB reduces; no sibling
            return
        sibling = leg_of(pair.sl if leg is pair.tp else pair.tp)
        if sibling.live and sibling.resized_at and time <= sibling.resized_at + self.desk.policy.clock_tolerance:
            sibling.sibling_filled_at_ack += qty
            refresh_caps(pair)

    def _mismatch(self, trade: TradeRecord, leg: LegRecord, broker_qty: int) -> None:
        """The broker works another quantity than we asked (a child sized to its parent: the
        100/100 incident). Reduce-only counts the broker's figure either way; the policy decides
        whether the exits are also replaced by independent ones."""
        policy = self.desk.policy.quantity_mismatch
        self.desk.emit(ev.QuantityMismatch(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                           intended_qty=leg.intended_qty, broker_qty=broker_qty,
                                           policy=policy.value))
        if leg.role is Role.ENTRY:
            return
        if policy is not MismatchAction.REPLACE:
            if leg.order.parent_ref is not None and broker_qty > leg.intended_qty:
                # a held child sized to its parent: cut it to what we asked before the parent
                # fills and the broker releases it (the 100/100 incident)
                self.desk.modify(trade, leg, qty=leg.intended_qty)
            return
        if leg.order.parent_ref is not None:
            step = self.desk.fire(self.desk.machines.ladder, trade, trade, "detach")
            if step is not None:
                self.choreography.run(trade, step.intents)
            return
        pair = trade.pair_of(leg)
        if pair is not None:
            step = self.desk.fire(self.desk.machines.pair, pair, trade, "replace")
            if step is not None:
                self.choreography.run(trade, step.intents)

    def on_execution(self, trade: TradeRecord, leg: LegRecord, event: ExecutionReported) -> None:
        desk = self.desk
        if event.action is not leg.order.action:
            desk.emit(ev.InvariantViolated(
                trade_id=trade.trade_id, leg=leg.leg, invariant="execution_side",
                detail=f"{event.exec_id} is a {event.action.value} on a {leg.order.action.value} order",
                entry_filled=trade.entry.filled, exit_filled=trade.exit_filled,
            ))
            return
        kind, replaced = self.execs.apply(Fill(event.exec_id, event.qty, event.price, event.time), leg.order_ref)
        if kind in (ExecKind.DUPLICATE, ExecKind.STALE):
            desk.emit(ev.DuplicateExecutionIgnored(trade_id=trade.trade_id, leg=leg.leg, exec_id=event.exec_id))
            return
        family = self.execs.family_of(event.exec_id)
        owner = desk.by_ref.get(family.owner) if family is not None else None
        if owner is not None and owner[1] is not leg:
            trade, leg = owner  # a correction belongs to the order its original was counted on
        qty, notional = event.qty, event.qty * event.price
        if replaced is not None:
            qty -= replaced.qty
            notional -= replaced.qty * replaced.price
        source = leg.state
        step = desk.fire_leg(trade, leg, "fill", qty=qty, notional=notional, exec_id=event.exec_id)
        if step is None:
            return
        if leg.role is Role.ENTRY:
            trade.stamps.setdefault("first_execution", event.time or desk.now)
        if source in ("cancel_requested", "cancelled", "rejected", "dropped", "idle"):
            desk.emit(ev.LateFill(trade_id=trade.trade_id, leg=leg.leg, exec_id=event.exec_id, qty=event.qty,
                                  price=event.price, state=source))
        if kind is ExecKind.CORRECTION:
            desk.emit(ev.ExecutionCorrected(trade_id=trade.trade_id, leg=leg.leg, exec_id=event.exec_id,
                                            qty=event.qty, price=event.price, filled_qty=leg.filled))
        if leg.state == "filled" and source != "filled":
            desk.emit(ev.LegFilled(trade_id=trade.trade_id, leg=leg.leg, exec_id=event.exec_id,
                                   filled_qty=leg.filled, avg_price=leg.avg_price))
        elif leg.state != "filled":
            desk.emit(ev.LegPartiallyFilled(trade_id=trade.trade_id, leg=leg.leg, exec_id=event.exec_id,
                                            qty=event.qty, price=event.price, filled_qty=leg.filled,
                                            order_qty=leg.order_qty))
        asked = leg.broker_qty if leg.broker_qty is not None else leg.intended_qty
        if leg.cap is None and leg.filled > asked:
            # executions are facts: counted even past the order's quantity, and said
            desk.emit(ev.InvariantViolated(
                trade_id=trade.trade_id, leg=leg.leg, invariant="overfill",
                detail=f"{leg.filled} executed on an order of {asked}", entry_filled=trade.entry.filled,
                exit_filled=trade.exit_filled,
            ))
        self.commission_owner(trade, event.exec_id)
        self._in_sibling_figure(trade, leg, event.time, qty)
        self.after(trade, leg, step, shares=qty)
        if trade.exit_filled > trade.entry.filled and position(trade) < 0:
            desk.emit(ev.InvariantViolated(
                trade_id=trade.trade_id, leg=leg.leg, invariant="exit_fills_exceed_entry",
                detail=f"exits filled {trade.exit_filled} > entry filled {trade.entry.filled}",
                entry_filled=trade.entry.filled, exit_filled=trade.exit_filled,
            ))

    def on_cancelled(self, trade: TradeRecord, leg: LegRecord, event: OrderCancelled) -> None:
        step = self.desk.fire_leg(trade, leg, "confirm_cancel")
        if step is not None and step.moved:
            self.desk.emit(ev.LegCancelled(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                           filled_qty=leg.filled, reason=event.reason))
        self.after(trade, leg, step)

    def on_rejected(self, trade: TradeRecord, leg: LegRecord, event: OrderRejected) -> None:
        step = self.desk.fire_leg(trade, leg, "reject", reason=f"{event.code} {event.reason}".strip())
        if step is not None and step.moved:
            self.desk.emit(ev.LegRejected(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                          code=event.code, reason=event.reason))
        self.after(trade, leg, step)

    def on_cancel_rejected(self, trade: TradeRecord, leg: LegRecord, event: CancelRejected) -> None:
        asked = leg.state == "cancel_requested"
        step = self.desk.fire_leg(trade, leg, "cancel_reject")
        if step is not None and asked:
            self._refused(trade, leg, "cancel", code=event.code, reason=event.reason, refusals=leg.cancel_refusals,
                          limit=self.desk.policy.max_cancel_retries)
        self.after(trade, leg, step)

    def on_replace_accepted(self, trade: TradeRecord, leg: LegRecord, event: ReplaceAccepted) -> None:
        old_price, new_price, new_qty = leg.stop_price, leg.pending_stop, leg.pending_qty
        step = self.desk.fire_leg(trade, leg, "replace_ack", quantity=event.quantity)
        if step is None:
            return
        if new_qty is not None:
            leg.resized_at = self.desk.now
            self._acknowledged(trade, leg)
        if new_price is not None:
            self.desk.emit(ev.StopRepriced(trade_id=trade.trade_id, leg=leg.leg, old_price=old_price,
                                           new_price=new_price, milestone=self.protection.milestone_of(trade, leg)))
        if new_qty is not None:
            self.desk.emit(ev.ExitResized(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                          quantity=new_qty))
        self.after(trade, leg, step)

    def on_replace_rejected(self, trade: TradeRecord, leg: LegRecord, event: ReplaceRejected) -> None:
        wanted, asked = leg.pending_stop, leg.pending_qty is not None or leg.pending_stop is not None
        step = self.desk.fire_leg(trade, leg, "replace_reject")
        if step is None:
            return
        reason = f"{event.code} {event.reason}".strip()
        if wanted is not None:
            self.desk.emit(ev.StopRepriceFailed(trade_id=trade.trade_id, leg=leg.leg, kept_price=leg.stop_price,
                                                wanted_price=wanted, reason=reason))
        if asked:
            self._refused(trade, leg, "modify", code=event.code, reason=event.reason,
                          refusals=leg.replace_refusals, limit=self.desk.policy.max_modify_retries)
        self.after(trade, leg, step)

    def _refused(self, trade: TradeRecord, leg: LegRecord, command: str, *, code: int, reason: str,
                 refusals: int, limit: int) -> None:
        desk = self.desk
        leg.last_refusal_at = desk.now
        desk.emit(ev.CommandRefused(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref, command=command,
                                    code=code, reason=reason, refusals=refusals))
        if refusals == limit:
            action = "keep the order as it is" if leg.live else "none: the order has ended"
            desk.emit(ev.RetryLimitReached(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                           command=command, refusals=refusals, action=action))

    def on_status(self, trade: TradeRecord, leg: LegRecord, event: StatusObserved) -> None:
        """A snapshot: compared with the executions after the grace period (IB's orderStatus
        usually arrives before the execDetails it describes), never applied."""
        desk = self.desk
        self._works_more(trade, leg, event)
        if event.filled > leg.filled:
            if leg.status_claim != event.filled:
                leg.status_claim, leg.status_claim_at = event.filled, desk.now
                desk.deadlines.add(desk.now + desk.policy.status_grace, "status", trade.trade_id, leg.leg, desk.now)
        else:
            leg.status_claim = leg.status_claim_at = None
        self.protection.check_stop(trade, leg)  # a new fact about the order: a stop may move now

    def _works_more(self, trade: TradeRecord, leg: LegRecord, event: StatusObserved) -> None:
        """A status that has seen every execution we have, and says the order works more than we
        count (a modify that landed after an OCA sibling's fill it had not seen overwrote the
        broker's reduction): the broker's figure counts for reduce-only from now on. Only ever
        upward: a smaller figure is an OCA reduction we count already, or a stale snapshot."""
        if event.status in ("Submitted", "PreSubmitted") and (not event.time or event.time >= leg.figure_at):
            self.works(trade, leg, event.filled, event.remaining)

    def works(self, trade: TradeRecord, leg: LegRecord, filled: int, remaining: int) -> None:
        """The broker's word (a status, an open order) on what an order still works."""
        if filled != leg.filled or not leg.live or leg.pending_qty is not None:
            return
        if filled + remaining <= leg.order_qty:
            return
        leg.broker_qty = filled + remaining
        leg.figure_at = leg.resized_at = self.desk.now
        pair = trade.pair_of(leg)
        if pair is not None:
            leg.sibling_filled_at_ack = pair.exited - leg.filled
            refresh_caps(pair)
        self.desk.emit(ev.QuantityMismatch(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                           intended_qty=leg.intended_qty, broker_qty=leg.broker_qty,
                                           policy="reduce-only"))
        self.protection.tell(trade, leg_changed=True)

    def status_deadline(self, trade: TradeRecord, leg: LegRecord, since: float) -> None:
        if leg.status_claim is not None and leg.status_claim_at == since and leg.status_claim > leg.filled:
            self.desk.emit(ev.StatusFillMismatch(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                                 status="Filled" if leg.status_claim >= leg.order_qty else "claimed",
                                                 status_filled=leg.status_claim, executed_qty=leg.filled))
            leg.status_claim = leg.status_claim_at = None

    # -- commissions -------------------------------------------------------------------------------
    def commission_owner(self, trade: TradeRecord, exec_id: str) -> None:
        amount = self.unmatched.pop(exec_id, None)
        if amount is not None:
            trade.commissions[exec_id] = amount
