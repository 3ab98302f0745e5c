# How an order's lifecycle is declared: every order leg (entry, take-profit, stop-loss) moves
# through the same broker lifecycle, so its transitions are written once, here, as a table of
# events over the leg's states, and each leg class binds them in its own body. The model of a
# leg (`LegModel`) holds the numbers; the guards and actions below read and write only it.
#
#   pending -> sent -> working -> partially_filled -> filled
#   any live state -> cancel_requested -> cancelled, sent/working -> rejected,
#   working/partially_filled -> replace_requested -> back (ack) or back with a failure (reject),
#   live states -> unknown (contact lost) -> only a reconciliation event leaves it.
#
# `filled` and `cancelled` end the order, but they still accept execution evidence (a late
# fill, a duplicate, a correction), which python-statemachine forbids on `final=True` states:
# so they are terminal by `TERMINAL_STATES`, and only `rejected` is final in the library sense.
from __future__ import annotations

from typing import Any, NamedTuple

import attrs
from statemachine import State
from statemachine.transition_list import TransitionList

from machines.fills import ExecKind, Fill, FillBook, OverfillError

TERMINAL_STATES = frozenset({"filled", "cancelled", "rejected", "expired"})


@attrs.define
class LegModel:
    """The numbers of one order leg. Quantities move only through `FillBook`."""

    leg: str
    intended_qty: int = attrs.field()
    limit_price: float | None = None
    stop_price: float | None = None
    order_ref: str = ""
    order_id: int | None = None
    broker_qty: int | None = None
    book: FillBook = attrs.field(factory=FillBook)
    late_exec_ids: list[str] = attrs.field(factory=list)
    replace_failures: list[str] = attrs.field(factory=list)
    pending_replace: dict[str, Any] | None = None
    reject_reason: str | None = None
    state: str | None = None

    @intended_qty.validator
    def _positive(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value <= 0:
            raise ValueError(f"{attribute.name} must be positive, got {value!r} (leg {self.leg})")

    @property
    def order_qty(self) -> int:
        """The quantity the broker works: its own figure once it told us, else ours."""
        return self.broker_qty if self.broker_qty is not None else self.intended_qty

    @property
    def fill_limit(self) -> int:
        """The most this order can fill: with a resize in flight, the broker may work either size."""
        change = self.pending_replace
        if change and change.get("qty") is not None:
            return max(self.order_qty, int(change["qty"]))
        return self.order_qty

    @property
    def filled_qty(self) -> int:
        return self.book.filled_qty

    @property
    def avg_price(self) -> float:
        return self.book.avg_price

    @property
    def remaining_qty(self) -> int:
        return max(self.order_qty - self.filled_qty, 0)

    @property
    def exec_ids(self) -> frozenset[str]:
        return self.book.exec_ids


class LegStates(NamedTuple):
    pending: State
    sent: State
    working: State
    partially_filled: State
    filled: State
    cancel_requested: State
    cancelled: State
    rejected: State
    replace_requested: State
    unknown: State


class LegEvents(NamedTuple):
    transmit: TransitionList
    accept: TransitionList
    fill: TransitionList
    request_cancel: TransitionList
    confirm_cancel: TransitionList
    cancel_reject: TransitionList
    reject: TransitionList
    request_replace: TransitionList
    replace_ack: TransitionList
    replace_reject: TransitionList
    lose_contact: TransitionList
    reconcile_working: TransitionList
    reconcile_gone: TransitionList


def order_lifecycle(s: LegStates) -> LegEvents:
    """The broker lifecycle of an order, shared by every leg machine."""
    live_after_send = [s.sent, s.working, s.partially_filled, s.cancel_requested, s.replace_requested]

    def fill_from(state: State, otherwise: State) -> TransitionList:
        rows: TransitionList = (
            state.to.itself(cond="is_duplicate", internal=True, validators="check_quantity")
            | state.to(s.filled, cond="completes", validators="check_quantity")
            | state.to(otherwise, validators="check_quantity")
        )
        return rows

    return LegEvents(
        # named `transmit`, not `send`: `send` is the StateMachine method that dispatches events
        transmit=(
            s.pending.to(s.sent)
            # the cancel was asked for while the intent was on its way to the socket
            | s.cancel_requested.to.itself(internal=True)
        ),
        accept=(
            s.sent.to(s.working)
            # IB re-sends openOrder on every change: re-acknowledgement is not a transition.
            | s.working.to.itself(internal=True)
            # an execution can arrive before the acknowledgement: real world
            | s.partially_filled.to.itself(internal=True)
            # the acknowledgement can cross our cancel request
            | s.cancel_requested.to.itself(internal=True)
            | s.replace_requested.to.itself(internal=True)
        ),
        fill=(
            fill_from(s.sent, s.partially_filled)
            | fill_from(s.working, s.partially_filled)
            | fill_from(s.partially_filled, s.partially_filled)
            # IB can report a fill after the cancel request and even after the confirmation:
            # the cancel lost the race, the shares are real, so the fill is applied (late).
            | fill_from(s.cancel_requested, s.cancel_requested)
            | s.cancelled.to.itself(internal=True, validators="check_quantity")
            | fill_from(s.replace_requested, s.replace_requested)
            # contact lost: executions still count, the state waits for reconciliation
            | s.unknown.to.itself(internal=True, validators="check_quantity")
            # a duplicate or a correction of an execution after the order filled
            | s.filled.to.itself(cond="keeps_filled", internal=True, validators="check_quantity")
            | s.filled.to(s.partially_filled, validators="check_quantity")
        ),
        request_cancel=(
            # the intent may already be on its way to the socket: the cancel follows it by orderRef
            s.pending.to(s.cancel_requested)
            | s.sent.to(s.cancel_requested)
            | s.working.to(s.cancel_requested)
            | s.partially_filled.to(s.cancel_requested)
            | s.replace_requested.to(s.cancel_requested)
        ),
        confirm_cancel=(
            s.cancel_requested.to(s.cancelled)
            # unsolicited cancels: the broker or the exchange ended the order on its own
            | s.sent.to(s.cancelled)
            | s.working.to(s.cancelled)
            | s.partially_filled.to(s.cancelled)
            | s.replace_requested.to(s.cancelled)
        ),
        # IB error 161/10148: the order could not be cancelled (usually it already filled)
        cancel_reject=(
            s.cancel_requested.to(s.partially_filled, cond="has_fills")
            | s.cancel_requested.to(s.working)
        ),
        # IB can reject after acknowledging (error 201 on margin checks): real world
        reject=s.sent.to(s.rejected) | s.working.to(s.rejected),
        request_replace=s.working.to(s.replace_requested) | s.partially_filled.to(s.replace_requested),
        replace_ack=(
            s.replace_requested.to(s.partially_filled, cond="has_fills")
            | s.replace_requested.to(s.working)
        ),
        replace_reject=(
            s.replace_requested.to(s.partially_filled, cond="has_fills")
            | s.replace_requested.to(s.working)
        ),
        lose_contact=TransitionList([t for st in live_after_send for t in st.to(s.unknown).transitions]),
        reconcile_working=s.unknown.to(s.partially_filled, cond="has_fills") | s.unknown.to(s.working),
        reconcile_gone=s.unknown.to(s.filled, cond="is_complete") | s.unknown.to(s.cancelled),
    )


class LegBehaviour:
    """Guards and actions of the order lifecycle; mixed into every leg machine."""

    model: LegModel

    # -- guards ----------------------------------------------------------------------------
    def is_duplicate(self, exec_id: str) -> bool:
        return self.model.book.classify(exec_id) in (ExecKind.DUPLICATE, ExecKind.STALE)

    def completes(self, exec_id: str, qty: int) -> bool:
        return self.model.book.qty_after(exec_id, qty) >= self.model.fill_limit

    def keeps_filled(self, exec_id: str, qty: int) -> bool:
        return self.is_duplicate(exec_id) or self.completes(exec_id, qty)

    def has_fills(self) -> bool:
        return self.model.filled_qty > 0

    def is_complete(self) -> bool:
        return self.model.filled_qty >= self.model.order_qty

    # -- validators ------------------------------------------------------------------------
    def check_quantity(self, exec_id: str, qty: int, price: float) -> None:
        if qty <= 0:
            raise OverfillError(f"{self.model.leg}: execution {exec_id} has qty={qty!r}, must be > 0")
        if price <= 0:
            raise OverfillError(f"{self.model.leg}: execution {exec_id} has price={price!r}, must be > 0")
        after = self.model.book.qty_after(exec_id, qty)
        if after > self.model.fill_limit:
            raise OverfillError(
                f"{self.model.leg}: execution {exec_id} qty={qty} would take filled_qty to {after}, "
                f"past the order quantity {self.model.fill_limit}"
            )

    # A resize below the quantity already filled would leave filled_qty past the order quantity
    # (IB refuses such a modify); an execution can also land while the modify is in flight, so
    # the acknowledgement is checked again. Refused loudly, before any transition.
    def before_request_replace(self, qty: int | None = None) -> None:
        if qty is not None and qty < max(self.model.filled_qty, 1):
            raise ValueError(f"{self.model.leg}: qty={qty!r} is below the {self.model.filled_qty} already filled")

    def before_replace_ack(self) -> None:
        qty = (self.model.pending_replace or {}).get("qty")
        if qty is not None and qty < self.model.filled_qty:
            raise ValueError(f"{self.model.leg}: acknowledged qty={qty!r} is below the {self.model.filled_qty} filled")

    # -- actions ---------------------------------------------------------------------------
    def on_fill(
        self, source: State, exec_id: str, qty: int, price: float, time: float | None = None
    ) -> None:
        kind = self.model.book.apply(Fill(exec_id=exec_id, qty=qty, price=price, time=time))
        late = source.id in ("cancel_requested", "cancelled")
        if late and kind in (ExecKind.NEW, ExecKind.CORRECTION):
            self.model.late_exec_ids.append(exec_id)

    def on_accept(self, broker_qty: int | None = None, order_id: int | None = None) -> None:
        if broker_qty is not None:
            self.model.broker_qty = broker_qty
        if order_id is not None:
            self.model.order_id = order_id

    def on_transmit(self, order_id: int | None = None) -> None:
        if order_id is not None:
            self.model.order_id = order_id

    def on_reject(self, reason: str = "") -> None:
        self.model.reject_reason = reason

    def on_request_replace(
        self, qty: int | None = None, limit_price: float | None = None, stop_price: float | None = None
    ) -> None:
        self.model.pending_replace = {"qty": qty, "limit_price": limit_price, "stop_price": stop_price}

    def on_replace_ack(self) -> None:
        change = self.model.pending_replace or {}
        if change.get("qty") is not None:
            self.model.intended_qty = change["qty"]
            self.model.broker_qty = change["qty"]
        if change.get("limit_price") is not None:
            self.model.limit_price = change["limit_price"]
        if change.get("stop_price") is not None:
            self.model.stop_price = change["stop_price"]
        self.model.pending_replace = None

    def on_replace_reject(self, reason: str = "") -> None:
        self.model.replace_failures.append(reason or "replace rejected")
        self.model.pending_replace = None
