# How an order's lifecycle is declared: every order leg (entry, take-profit, stop-loss, emergency
# stop) moves through the same broker lifecycle, so its transitions are written once, here, as a
# table of events over the leg's states, and each leg class binds them in its own body. The model
# of a leg (`LegModel`) holds the numbers; the guards and actions read and write only it.
#
#   idle (built, not asked for) -> pending (intent handed out) -> sent -> working
#   -> partially_filled -> filled;  live -> cancel_requested -> cancelled;  live -> rejected;
#   working/partially_filled -> replace_requested -> back (ack or refusal);
#   live -> unknown (contact lost) -> only reconciliation or the broker's word leaves it;
#   idle -> dropped (never sent: its trade ended first).
#
# Every broker answer is a declared transition in every state, so nothing the broker says can
# leave a leg stuck: a refusal (cancel refused 161, modify refused 104) sends the leg back to where
# it was and counts the refusal; a reject of any code ends any live leg (IB reports a reject as
# status Cancelled then error 201, so a cancelled leg can still become rejected); an execution is
# counted in every state, late or not (executions are facts). Quantities never move on a status.
# Duplicates and stale revisions never reach a leg: `machines.fills.ExecBook` (account-wide)
# stops them before; `fill` carries the change an execution makes (a correction's difference).
# No state is `final` in the library's sense: terminal states still take late evidence.
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import attrs
from statemachine import State
from statemachine.transition_list import TransitionList

if TYPE_CHECKING:
    from machines.cursor import Cursor

TERMINAL_STATES = frozenset({"filled", "cancelled", "rejected", "expired", "dropped"})
# at the broker, or on its way there (the states the broker may still execute in)
LIVE_STATES = frozenset(
    {"pending", "sent", "working", "partially_filled", "cancel_requested", "replace_requested", "unknown"}
)
NOT_SENT_STATES = frozenset({"idle", "armed", "triggered"})


@attrs.define(slots=True, eq=False)
class LegModel:
    """The numbers of one order leg. Quantities move only on executions (`fill`)."""

    leg: str
    intended_qty: int = attrs.field()
    limit_price: float | None = None
    stop_price: float | None = None
    state: str = "idle"
    broker_qty: int | None = None  # what the broker says it works (its last acknowledgement)
    order_id: int | None = None
    perm_id: int | None = None
    filled: int = 0
    notional: float = 0.0
    # a modify in flight: the figures asked for (None: unchanged)
    pending_qty: int | None = None
    pending_limit: float | None = None
    pending_stop: float | None = None
    cancel_refusals: int = 0
    replace_refusals: int = 0
    reject_reason: str | None = None
    late_exec_ids: list[str] = attrs.field(factory=list)
    # The most this order can execute in all while an OCA group shares its quantity: IB reduces
    # every member by each other member's fill (ocaType 3), so it is the quantity last acknowledged
    # less what the siblings executed since (`sibling_filled_at_ack` is their figure then).
    cap: int | None = None
    sibling_filled_at_ack: int = 0

    @intended_qty.validator
    def _positive(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value <= 0:
            raise ValueError(f"{attribute.name} must be positive, got {value!r} (leg {self.leg})")

    @property
    def order_qty(self) -> int:
        """The broker's figure once it gave one, else ours; never below what executed (a stale
        acknowledgement cannot undo a share the broker executed)."""
        base = self.broker_qty if self.broker_qty is not None else self.intended_qty
        if self.cap is not None:
            base = min(base, self.cap)
        return max(base, self.filled)

    @property
    def remaining_qty(self) -> int:
        return max(self.order_qty - self.filled, 0)

    @property
    def avg_price(self) -> float:
        return self.notional / self.filled if self.filled > 0 else 0.0

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def done(self) -> bool:
        """Nothing of it can work at the broker: ended, or never sent."""
        return self.state not in LIVE_STATES


class LegStates(NamedTuple):
    idle: State | None
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
    dropped: State | None
    # states that take executions and broker echoes but no order commands (entry: armed...)
    quiet: tuple[State, ...] = ()


class LegEvents(NamedTuple):
    intend: TransitionList | None
    withdraw: TransitionList | None
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


def _rows(*lists: TransitionList) -> TransitionList:
    return TransitionList([t for tl in lists for t in tl.transitions])


def _stay(states: list[State]) -> TransitionList:
    return _rows(*(s.to.itself(internal=True) for s in states))


def order_lifecycle(s: LegStates) -> LegEvents:
    """The broker lifecycle of an order, shared by every leg machine."""
    live = [s.pending, s.sent, s.working, s.partially_filled, s.cancel_requested, s.replace_requested, s.unknown]
    ended = [s.filled, s.cancelled, s.rejected]
    asleep = [st for st in (s.idle, s.dropped) if st is not None] + list(s.quiet)

    def back(state: State) -> TransitionList:
        """Where a leg returns when the broker keeps the order as it was."""
        return _rows(state.to(s.partially_filled, cond="has_fills"), state.to(s.working))

    return LegEvents(
        intend=None if s.idle is None else s.idle.to(s.pending),
        withdraw=None if s.idle is None or s.dropped is None else s.idle.to(s.dropped),
        # named `transmit`, not `send`: `send` is the StateMachine method that dispatches events
        transmit=_rows(
            s.pending.to(s.sent),
            # the cancel was asked for while the intent was on its way to the socket; or the
            # adapter's word comes after reconciliation already found the order at the broker
            _stay([st for st in live if st is not s.pending] + ended),
        ),
        accept=_rows(
            s.pending.to(s.working),  # an acknowledgement may come before the adapter's OrderSent
            s.sent.to(s.working),
            # IB re-sends openOrder on every change: re-acknowledgement is not a transition.
            # An execution can arrive before the acknowledgement (partially_filled): real world.
            _stay([s.working, s.partially_filled, s.cancel_requested, s.replace_requested]),
            back(s.unknown),  # the broker still works it: contact is back
            _stay(ended),  # a late echo of an order that ended
        ),
        fill=_rows(
            *(_rows(st.to(s.filled, cond="completes"), st.to(s.partially_filled))
              for st in (s.pending, s.sent, s.working, s.partially_filled)),
            # IB can report a fill after the cancel request and even after the confirmation:
            # the cancel lost the race, the shares are real, so the fill is counted (late).
            *(_rows(st.to(s.filled, cond="completes"), st.to.itself(internal=True))
              for st in (s.cancel_requested, s.replace_requested, s.unknown)),
            # a correction of an order that filled, a fill that beat a cancel or a reject, an
            # execution for an order we never sent: counted, and the state stays
            _stay(ended + asleep),
        ),
        request_cancel=_rows(*(st.to(s.cancel_requested)
                               for st in (s.pending, s.sent, s.working, s.partially_filled, s.replace_requested))),
        confirm_cancel=_rows(
            *(st.to(s.cancelled) for st in live),  # unsolicited cancels too: the broker ended it
            _stay(ended),
        ),
        # IB error 161/10148: the order could not be cancelled (usually it had just filled)
        cancel_reject=_rows(
            back(s.cancel_requested),
            _stay([st for st in live if st is not s.cancel_requested] + ended),
        ),
        # IB can reject after acknowledging (error 201 on margin checks), reports a reject as
        # status Cancelled followed by error 201, and rejects while a cancel or modify is in
        # flight: every one of these ends the order
        reject=_rows(
            *(st.to(s.rejected) for st in [*live, s.cancelled]),
            _stay([s.rejected, s.filled]),
        ),
        request_replace=_rows(s.working.to(s.replace_requested), s.partially_filled.to(s.replace_requested)),
        replace_ack=_rows(
            back(s.replace_requested),
            # a late or repeated acknowledgement: the change is on the model already
            _stay([st for st in live if st is not s.replace_requested] + ended),
        ),
        # IB error 104 (can't modify a filled order), 10147, ...: the order stays as it was
        replace_reject=_rows(
            back(s.replace_requested),
            _stay([st for st in live if st is not s.replace_requested] + ended),
        ),
        lose_contact=_rows(*(st.to(s.unknown)
                             for st in (s.sent, s.working, s.partially_filled, s.cancel_requested,
                                        s.replace_requested))),
        reconcile_working=_rows(back(s.unknown), _stay([st for st in live if st is not s.unknown])),
        reconcile_gone=_rows(*(_rows(st.to(s.filled, cond="is_complete"), st.to(s.cancelled)) for st in live)),
    )


class LegBehaviour:
    """Guards and actions of the order lifecycle, bound into every leg machine. The machine's
    model is a `Cursor`; `m` is the leg model it points at."""

    model: Cursor[LegModel]

    @property
    def m(self) -> LegModel:
        return self.model.target

    # -- guards ----------------------------------------------------------------------------
    def completes(self, qty: int) -> bool:
        m = self.m
        after = m.filled + qty
        return after > 0 and after >= m.order_qty

    def has_fills(self) -> bool:
        return self.m.filled > 0

    def is_complete(self) -> bool:
        m = self.m
        return m.filled > 0 and m.filled >= m.order_qty

    # -- validators ------------------------------------------------------------------------
    # A resize below the quantity already executed would leave the order overfilled (IB refuses
    # such a modify): refused loudly, before any transition.
    def before_request_replace(self, qty: int | None = None) -> None:
        if qty is not None and qty < max(self.m.filled, 1):
            raise ValueError(f"{self.m.leg}: qty={qty!r} is below the {self.m.filled} already executed")

    # -- actions ---------------------------------------------------------------------------
    def on_fill(self, source: State, qty: int, notional: float, exec_id: str) -> None:
        m = self.m
        m.filled += qty
        m.notional += notional
        if source.id in ("cancel_requested", "cancelled", "rejected", "dropped", "idle"):
            m.late_exec_ids.append(exec_id)

    def on_accept(self, source: State, quantity: int | None = None, order_id: int | None = None,
                  perm_id: int | None = None) -> None:
        m = self.m
        # The broker's figure is its first acknowledgement, or its word after contact was lost;
        # any later openOrder is an echo that can be older than a modify we saw answered (IB can
        # deliver it after an execution or after the modify's answer): it changes nothing.
        if quantity is not None and (m.broker_qty is None or source.id == "unknown"):
            m.broker_qty = quantity
        if order_id is not None:
            m.order_id = order_id
        if perm_id is not None:
            m.perm_id = perm_id

    def on_transmit(self, order_id: int | None = None) -> None:
        if order_id is not None:
            self.m.order_id = order_id

    def on_reject(self, reason: str = "") -> None:
        self.m.reject_reason = reason

    def on_cancel_reject(self) -> None:
        self.m.cancel_refusals += 1

    def on_request_replace(
        self, qty: int | None = None, limit_price: float | None = None, stop_price: float | None = None
    ) -> None:
        m = self.m
        m.pending_qty, m.pending_limit, m.pending_stop = qty, limit_price, stop_price

    def on_replace_ack(self, quantity: int | None = None) -> None:
        m = self.m
        qty = m.pending_qty if m.pending_qty is not None else quantity
        if qty is not None:
            m.intended_qty = max(qty, 1)
            m.broker_qty = qty
        if m.pending_limit is not None:
            m.limit_price = m.pending_limit
        if m.pending_stop is not None:
            m.stop_price = m.pending_stop
        m.pending_qty = m.pending_limit = m.pending_stop = None

    def on_replace_reject(self, source: State) -> None:
        m = self.m
        if source.id == "replace_requested" or m.pending_qty is not None or m.pending_stop is not None:
            m.replace_refusals += 1
        m.pending_qty = m.pending_limit = m.pending_stop = None
