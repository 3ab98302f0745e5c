# How this machine works: an `EntryLeg` is the order that opens a trade. It starts `armed` (the
# watcher is looking for its trigger), goes `triggered` when the strategy fires, `pending` when
# its order is handed out (`intend`), and from there follows the order lifecycle every leg shares
# (`machines.lifecycle`). A single-fire watcher that ends without a trigger ends the leg in
# `expired`. Nothing is built on the trigger path: the supervisor hands out the order it built at
# arm time, then records the two transitions.
from __future__ import annotations

from statemachine import State, StateMachine

from machines.cursor import Cursor
from machines.lifecycle import LegBehaviour, LegModel, LegStates, order_lifecycle


class EntryLeg(LegBehaviour, StateMachine):
    validate_final_reachability = False  # terminal states still take late evidence (lifecycle)
    catch_errors_as_events = False

    armed = State(initial=True)
    triggered = State()
    expired = State()
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

    trigger = armed.to(triggered)
    expire = armed.to(expired) | triggered.to(expired)

    _t = order_lifecycle(
        LegStates(None, pending, sent, working, partially_filled, filled, cancel_requested, cancelled,
                  rejected, replace_requested, unknown, None, quiet=(armed, triggered, expired))
    )
    intend = triggered.to(pending)
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
        super().__init__(Cursor("state", model or LegModel(leg="(none)", intended_qty=1, state="armed")))
