# How this machine works: a `Leg` is one broker order that needs no trigger (a take-profit, or
# any exit). It is built `idle` when its trade is armed, goes `pending` when the supervisor hands
# its order out (`intend`), `sent` on the adapter's `OrderSent`, `working` on the broker's
# acknowledgement, and counts shares only on executions (`fill`: a completing one ends in
# `filled`). A leg never sent is `dropped` when its trade ends. The whole table is in
# `machines.lifecycle.order_lifecycle`; this class binds it. One instance serves every leg model
# of its class (see machines.cursor).
from __future__ import annotations

from statemachine import State, StateMachine

from machines.cursor import Cursor
from machines.lifecycle import LegBehaviour, LegModel, LegStates, order_lifecycle


class Leg(LegBehaviour, StateMachine):
    validate_final_reachability = False  # terminal states still take late evidence (lifecycle)
    catch_errors_as_events = False  # a failing guard or action is a bug: loud, never an event

    idle = State(initial=True)
    pending = State()
    sent = State()
    working = State()
    partially_filled = State()
    filled = State()
    cancel_requested = State()
    cancelled = State()
    rejected = State()
    replace_requested = State()
    unknown = State()
    dropped = State()

    _t = order_lifecycle(
        LegStates(idle, pending, sent, working, partially_filled, filled, cancel_requested, cancelled,
                  rejected, replace_requested, unknown, dropped)
    )
    assert _t.intend is not None
    assert _t.withdraw is not None
    intend = _t.intend
    withdraw = _t.withdraw
    transmit = _t.transmit
    accept = _t.accept
    fill = _t.fill
    request_cancel = _t.request_cancel
    confirm_cancel = _t.confirm_cancel
    cancel_reject = _t.cancel_reject
    reject = _t.reject
    request_replace = _t.request_replace
    replace_ack = _t.replace_ack
    replace_reject = _t.replace_reject
    lose_contact = _t.lose_contact
    reconcile_working = _t.reconcile_working
    reconcile_gone = _t.reconcile_gone
    del _t

    def __init__(self, model: LegModel | None = None) -> None:
        super().__init__(Cursor("state", model or LegModel(leg="(none)", intended_qty=1)))
