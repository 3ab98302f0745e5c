# How this machine works: an `EntryLeg` is the order that opens a trade. It starts `armed` (the
# watcher is looking for its trigger), goes `triggered` when the strategy fires, `pending` when
# the supervisor has emitted its `PlaceOrder`, and from there follows the order lifecycle every
# leg shares (`machines.lifecycle`). A single-fire watcher that ends without a trigger ends the
# leg in `expired`. The machine is built when the trade is armed, so the trigger path costs one
# transition, never a construction.
from __future__ import annotations

from statemachine import State, StateMachine

from machines.lifecycle import LegBehaviour, LegModel, LegStates, order_lifecycle


class EntryLeg(LegBehaviour, StateMachine):
    # `filled` and `cancelled` end the order but still take execution evidence (see lifecycle)
    validate_final_reachability = False

    armed = State(initial=True)
    triggered = State()
    expired = State(final=True)
    pending = State()
    sent = State()
    working = State()
    partially_filled = State()
    filled = State()
    cancel_requested = State()
    cancelled = State()
    rejected = State(final=True)
    replace_requested = State()
    unknown = State()

    trigger = armed.to(triggered)
    expire = armed.to(expired)
    intend = triggered.to(pending)

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
