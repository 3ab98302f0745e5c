"""Reconciliation with broker truth: after a reconnect, a restart, or a stalled submission.

The broker's answer (`BrokerTruth`: open orders of every client, positions, the day's executions,
completed orders) is matched to our legs by orderRef, then by permId. Each step goes through the
same handlers as live events, so the machines decide exactly as they would have:

1. an entry the broker knows although our record of its trigger was lost is triggered;
2. executions we have not counted are counted, oldest first (the account-wide `ExecBook` drops the
   ones we have: the re-query can start at the beginning of the day, so a correction that was lost
   in an outage is found even though it carries its original's time);
3. every leg the broker holds is acknowledged with the broker's figures (an order it already holds
   is never sent again, even one the step before just asked for); a leg built but never asked
   for that the broker holds (a crash before the journal flush) is taken back;
4. our legs the broker no longer works end as it says (completed orders), or as their executions
   say; an intent that never reached it is sent again once (`Policy.max_resends`), if still due;
5. orders with our trade ids that we lack are adopted; any other order is foreign and left alone;
6. positions are compared (`PositionMismatch`). Where the broker holds less in a trade's direction
   than our executions say (shares closed outside this client, by hand in TWS), the difference is
   the trades' `outside` shares, newest trade first (`PositionClosedOutside`): their position
   shrinks, so their exits shrink with it and never buy or sell past what the broker holds (the ES
   postmortem's fresh position). It is recounted from scratch at every reconciliation, and an
   execution of ours within `Policy.truth_race_window` of the answer cannot make shares "outside"
   (the answer comes in pieces). A trade whose stops do not cover its position is repaired at
   once: the outage was its grace period.

Held children of a trade that has not triggered are idle: never due, never sent. Reconciling twice
with the same truth changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from supervisor import events as ev
from supervisor.book import (
    LegRecord,
    Measure,
    Role,
    TradeRecord,
    executed,
    exposure,
    measure,
    position,
    working,
)
from supervisor.desk import Desk
from supervisor.handlers import LegEventHandlers
from supervisor.orders import split_ref
from supervisor.port import (
    Action,
    BrokerTruth,
    CompletedOrder,
    OpenOrder,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    PlaceOrder,
    TimeInForce,
)
from supervisor.protection import Protection

Trades = dict[str, TradeRecord]


@attrs.define
class Counts:
    missed_executions: int = 0
    adopted: int = 0
    foreign: int = 0
    vanished: int = 0
    resent: int = 0


class Reconciler:
    def __init__(self, desk: Desk, handlers: LegEventHandlers, protection: Protection, trades: Trades,
                 settle_trigger: Callable[[TradeRecord], None]) -> None:
        self.desk = desk
        self.handlers = handlers
        self.protection = protection
        self.trades = trades
        self.settle_trigger = settle_trigger

    def reconcile(self, truth: BrokerTruth) -> None:
        desk, counts = self.desk, Counts()
        open_by_ref = {o.order_ref: o for o in truth.open_orders if o.order_ref}
        open_by_perm = {o.perm_id: o for o in truth.open_orders if o.perm_id}
        done_by_ref = {c.order_ref: c for c in truth.completed_orders if c.order_ref}
        executed = {e.order_ref for e in truth.executions}
        known = set(open_by_ref) | set(done_by_ref) | executed

        for trade in list(self.trades.values()):
            if trade.entry.state in ("armed", "triggered") and trade.entry_rec.order_ref in known:
                self._lost_trigger(trade, known)
            for leg in list(trade.legs.values()):
                if leg.state == "idle" and leg.order_ref in known:
                    self._taken_back(trade, leg)
        for execution in sorted(truth.executions, key=lambda e: e.time):
            found = desk.by_ref.get(execution.order_ref)
            if found is None:
                continue
            if self.handlers.execs.classify(execution.exec_id).value in ("new", "correction"):
                counts.missed_executions += 1
                self.handlers.handle(*found, execution)
        # what the broker holds is not sent again, even an intent the executions just caused
        desk.outbox = [c for c in desk.outbox if not (isinstance(c, PlaceOrder) and c.order_ref in known)]
        asked_now = {c.order_ref for c in desk.outbox if isinstance(c, PlaceOrder)}
        for trade in list(self.trades.values()):
            for leg in list(trade.legs.values()):
                order = open_by_ref.get(leg.order_ref) or (open_by_perm.get(leg.perm_id) if leg.perm_id else None)
                if order is not None:
                    self._still_working(trade, leg, order)
                elif leg.live and leg.order_ref not in asked_now:
                    self._not_working(trade, leg, done_by_ref.get(leg.order_ref), counts)
        for order in truth.open_orders:
            if order.order_ref not in desk.by_ref and (order.perm_id is None or order.perm_id not in
                                                        {leg.perm_id for _, leg in desk.by_ref.values()}):
                if self._adopt(order):
                    counts.adopted += 1
                else:
                    counts.foreign += 1
                    desk.emit(ev.ForeignOrderSeen(trade_id="", order_ref=order.order_ref, order_id=order.order_id))
        mismatches = self._compare_positions(truth)
        self._count_outside(truth)
        gaps = orphans = 0
        for trade in self.trades.values():
            now = measure(trade)
            gaps += now is Measure.SHORT
            orphans += now is Measure.ORPHANED
            self.protection.tell(trade, leg_changed=True)
            if now in (Measure.SHORT, Measure.ORPHANED):
                self.protection.grace_over(trade)  # the outage was the grace period
        desk.emit(ev.ReconciliationCompleted(
            trade_id="", missed_executions=counts.missed_executions, adopted=counts.adopted,
            foreign=counts.foreign, vanished=counts.vanished, orphans=orphans, coverage_gaps=gaps,
            position_mismatches=mismatches,
        ))

    # -- our legs against the broker's -------------------------------------------------------------
    def _lost_trigger(self, trade: TradeRecord, known: set[str]) -> None:
        """The broker has the entry (and maybe its children): record the trigger, send nothing it has."""
        refs = [leg.order_ref for leg in trade.legs.values() if leg.order_ref in known]
        self.desk.handed_out.update(refs)
        self.settle_trigger(trade)

    def _taken_back(self, trade: TradeRecord, leg: LegRecord) -> None:
        """Built, never asked for in our record, yet at the broker: a crash lost the record."""
        if self.desk.fire_leg(trade, leg, "intend") is not None:
            leg.intended_at = self.desk.now

    def _still_working(self, trade: TradeRecord, leg: LegRecord, order: OpenOrder) -> None:
        handle = self.handlers.handle
        if leg.state == "pending":
            handle(trade, leg, OrderSent(order_ref=leg.order_ref, order_id=order.order_id, time=self.desk.now))
        if leg.live and leg.state not in ("sent", "unknown"):
            self.handlers.works(trade, leg, order.filled, order.quantity - order.filled)
            return
        if leg.state in ("sent", "unknown") or order.quantity != leg.broker_qty:
            handle(trade, leg, OrderAccepted(order_ref=leg.order_ref, order_id=order.order_id, quantity=order.quantity,
                                             limit_price=order.limit_price, stop_price=order.stop_price,
                                             time=self.desk.now, perm_id=order.perm_id))

    def _not_working(self, trade: TradeRecord, leg: LegRecord, done: CompletedOrder | None, counts: Counts) -> None:
        desk = self.desk
        if leg.state == "pending" and done is None and leg.filled == 0:
            in_flight = leg.intended_at is not None and desk.now - leg.intended_at < desk.policy.send_deadline
            if in_flight:
                return  # handed out a moment ago: its OrderSent is on its way
            if self._still_due(trade, leg) and desk.resend(trade, leg):
                counts.resent += 1
                return
        if done is not None and done.status == "Inactive":
            self.handlers.handle(trade, leg, OrderRejected(order_ref=leg.order_ref, order_id=leg.order_id, code=201,
                                                           reason=done.reason or "inactive at the broker"))
            return
        if done is not None and done.status != "Filled":
            self.handlers.handle(trade, leg, OrderCancelled(order_ref=leg.order_ref, order_id=leg.order_id,
                                                            reason=done.reason or done.status))
            return
        step = desk.fire_leg(trade, leg, "reconcile_gone")
        if step is None:
            return
        if leg.state == "filled":
            desk.emit(ev.LegFilled(trade_id=trade.trade_id, leg=leg.leg, exec_id="", filled_qty=leg.filled,
                                   avg_price=leg.avg_price))
        else:
            counts.vanished += 1
            desk.emit(ev.LegCancelled(trade_id=trade.trade_id, leg=leg.leg, order_ref=leg.order_ref,
                                      filled_qty=leg.filled, reason="not at the broker"))
        self.handlers.after(trade, leg, step)

    def _still_due(self, trade: TradeRecord, leg: LegRecord) -> bool:
        """An intent is sent again only if what asked for it still wants it."""
        if leg.role is Role.ENTRY:
            return trade.state == "entering"
        return exposure(trade) - working(trade, leg) + leg.order.quantity <= max(position(trade), 0)

    def _adopt(self, order: OpenOrder) -> bool:
        parsed = split_ref(order.order_ref)
        trade = self.trades.get(parsed[0]) if parsed else None
        if trade is None or parsed is None:
            return False
        name = parsed[1]
        role = (Role.TAKE_PROFIT if name.startswith(("tp", "etp"))
                else Role.FLATTEN if name.startswith("flat") else Role.STOP)
        command = PlaceOrder(
            order_ref=order.order_ref, symbol=order.symbol, action=order.action, order_type=order.order_type,
            quantity=order.quantity, limit_price=order.limit_price, stop_price=order.stop_price,
            tif=TimeInForce.DAY, oca_group=order.oca_group, oca_type=3 if order.oca_group else 0,
            account=trade.p.account,
        )
        leg = LegRecord(leg=name, intended_qty=order.quantity, limit_price=order.limit_price,
                        stop_price=order.stop_price, trade_id=trade.trade_id, role=role, command=command)
        self.desk.add_extra(trade, leg)
        # an adopted emergency stop or flatten order counts against its bound, and its number is
        # never given out again
        digits = int("".join(ch for ch in name if ch.isdigit()) or 0)
        if name.startswith("estop"):
            trade.estops = max(trade.estops, digits)
        elif name.startswith("flat"):
            trade.flattens = max(trade.flattens, digits)
        self._taken_back(trade, leg)
        self._still_working(trade, leg, order)
        self.desk.emit(ev.OrderAdopted(trade_id=trade.trade_id, leg=name, order_ref=order.order_ref,
                                       order_id=order.order_id))
        return True

    def _compare_positions(self, truth: BrokerTruth) -> int:
        ours: dict[str, int] = {}
        for trade in self.trades.values():
            ours[trade.p.symbol] = ours.get(trade.p.symbol, 0) + trade.p.side.sign * executed(trade)
        mismatches = 0
        reported = {p.symbol for p in truth.positions}
        for held in truth.positions:
            expected = ours.get(held.symbol, 0)
            if held.quantity != expected:
                mismatches += 1
                self.desk.emit(ev.PositionMismatch(trade_id="", symbol=held.symbol, broker_position=held.quantity,
                                                   executed_position=expected))
        for symbol, expected in ours.items():
            if expected != 0 and symbol not in reported:
                mismatches += 1
                self.desk.emit(ev.PositionMismatch(trade_id="", symbol=symbol, broker_position=0,
                                                   executed_position=expected))
        return mismatches

    def _count_outside(self, truth: BrokerTruth) -> None:
        """Each symbol's shares the broker no longer holds in our direction, which no execution of
        ours explains, go to its trades as `outside`, newest first (see the module's step 6)."""
        held = {p.symbol: p.quantity for p in truth.positions}
        recent = truth.time - self.desk.policy.truth_race_window
        by_symbol: dict[str, list[TradeRecord]] = {}
        for trade in self.trades.values():
            by_symbol.setdefault(trade.p.symbol, []).append(trade)
        for symbol, trades in by_symbol.items():
            sides = {t.p.side.sign for t in trades if executed(t) > 0}
            if len(sides) != 1:
                self._set_outside(trades, 0, held.get(symbol, 0))
                continue  # flat by our executions, or both ways at once: nothing can be told apart
            (sign,) = sides
            ours = sum(executed(t) for t in trades)
            refs = {t.trade_id for t in trades}
            late = sum(e.qty if e.action is Action.BUY else -e.qty for e in truth.executions
                       if e.time > recent and e.order_ref.split(":", 1)[0] in refs)
            broker = max(sign * held.get(symbol, 0), 0)
            missing = min(max(ours - broker, 0), max(ours - sign * late - broker, 0))
            self._set_outside(trades, missing, held.get(symbol, 0))

    def _set_outside(self, trades: list[TradeRecord], missing: int, broker: int) -> None:
        for trade in reversed(trades):  # the newest trade first
            share = min(missing, executed(trade))
            missing -= share
            if share == trade.outside:
                continue
            trade.outside = share
            self.desk.emit(ev.PositionClosedOutside(trade_id=trade.trade_id, symbol=trade.p.symbol, shares=share,
                                                    broker_position=broker, executed=executed(trade)))
            self.handlers.choreography.outside_changed(trade)
