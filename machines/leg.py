# How this machine works: a `Leg` is one broker order (a take-profit, or any order that needs no
# trigger). It is built `pending` when its trade is armed, goes `sent` on the adapter's
# `OrderSent`, `working` on the broker's acknowledgement, and counts shares only on executions
# (`fill`, guarded by the fill book: a duplicate stays put, a completing fill ends in `filled`).
# The whole table is in `machines.lifecycle.order_lifecycle`; this class binds it.
from __future__ import annotations

from statemachine import State, StateMachine

from machines.lifecycle import LegBehaviour, LegModel, LegStates, order_lifecycle


class Leg(LegBehaviour, StateMachine):
    # `filled` and `cancelled` end the order but still take execution evidence (see lifecycle)
    validate_final_reachability = False

    pending = State(initial=True)
    sent = State()
    working = State()
    partially_filled = State()
    filled = State()
    cancel_requested = State()
    cancelled = State()
    rejected = State(final=True)
    replace_requested = State()
    unknown = State()

    _t = order_lifecycle(
        LegStates(pending, sent, working, partially_filled, filled, cancel_requested, cancelled,
                  rejected, replace_requested, unknown)
    )
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

    def __init__(self, model: LegModel) -> None:
        super().__init__(model)
