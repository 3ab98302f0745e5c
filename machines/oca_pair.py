# How this machine works: an `OcaPair` is one take-profit leg and one stop-loss leg of the same
# quantity in one IB OCA group. It never looks at the broker: the supervisor forwards its legs'
# transitions (`leg_acked`, `leg_filled`, `leg_ended`) and the guards read the legs' models.
#
#   pending -> armed (both legs acknowledged) -> reducing (shares left through either leg)
#   -> closed_by_tp | closed_by_sl | closed_mixed (the pair's whole quantity has left),
#   cancelled (both legs ended, nothing filled), exposed (the stop ended with shares left and
#   nothing in the pair covers them: the supervisor must act).
from __future__ import annotations

import attrs
from statemachine import State, StateMachine

from machines.lifecycle import TERMINAL_STATES, LegModel

ACKNOWLEDGED = frozenset({"working", "partially_filled", "replace_requested", "cancel_requested"})
PAIR_CLOSED_STATES = frozenset({"closed_by_tp", "closed_by_sl", "closed_mixed", "cancelled"})


@attrs.define
class PairModel:
    name: str
    tp: LegModel
    sl: LegModel
    state: str | None = None

    @property
    def qty(self) -> int:
        return self.sl.intended_qty

    @property
    def exited_qty(self) -> int:
        return self.tp.filled_qty + self.sl.filled_qty

    @property
    def remaining_qty(self) -> int:
        return max(self.qty - self.exited_qty, 0)


class OcaPair(StateMachine):
    # closed states still take the sibling's OCA cancellation, so none is final in the library
    validate_final_reachability = False

    pending = State(initial=True)
    armed = State()
    reducing = State()
    closed_by_tp = State()
    closed_by_sl = State()
    closed_mixed = State()
    cancelled = State()
    exposed = State()

    leg_acked = (
        pending.to(armed, cond="both_acknowledged")
        | pending.to.itself(internal=True)
        | armed.to.itself(internal=True)
        | reducing.to.itself(internal=True)
        | exposed.to.itself(internal=True)
    )
    leg_filled = (
        pending.to(closed_by_tp, cond="tp_took_all") | pending.to(closed_by_sl, cond="sl_took_all")
        | pending.to(closed_mixed, cond="all_exited") | pending.to(reducing)
        | armed.to(closed_by_tp, cond="tp_took_all") | armed.to(closed_by_sl, cond="sl_took_all")
        | armed.to(closed_mixed, cond="all_exited") | armed.to(reducing)
        | reducing.to(closed_by_tp, cond="tp_took_all") | reducing.to(closed_by_sl, cond="sl_took_all")
        | reducing.to(closed_mixed, cond="all_exited") | reducing.to.itself(internal=True)
        # an exposed pair can still be closed by the executions of a leg that outlived it
        | exposed.to(closed_by_tp, cond="tp_took_all") | exposed.to(closed_by_sl, cond="sl_took_all")
        | exposed.to(closed_mixed, cond="all_exited") | exposed.to.itself(internal=True)
        # a fill that beat the cancel of both legs: counted by the legs, audited by the supervisor
        | cancelled.to.itself(internal=True)
    )
    leg_ended = (
        pending.to(cancelled, cond="ended_empty") | pending.to(exposed, cond="uncovered")
        | pending.to.itself(internal=True)
        | armed.to(cancelled, cond="ended_empty") | armed.to(exposed, cond="uncovered")
        | armed.to.itself(internal=True)
        | reducing.to(exposed, cond="uncovered") | reducing.to.itself(internal=True)
        # IB cancels the sibling once one leg filled the group: it arrives after the close
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | exposed.to(cancelled, cond="ended_empty") | exposed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
    )

    def __init__(self, model: PairModel) -> None:
        super().__init__(model)

    def both_acknowledged(self) -> bool:
        return self.model.tp.state in ACKNOWLEDGED and self.model.sl.state in ACKNOWLEDGED

    def all_exited(self) -> bool:
        return bool(self.model.exited_qty >= self.model.qty)

    def tp_took_all(self) -> bool:
        return self.all_exited() and self.model.sl.filled_qty == 0

    def sl_took_all(self) -> bool:
        return self.all_exited() and self.model.tp.filled_qty == 0

    def ended_empty(self) -> bool:
        both_ended = self.model.tp.state in TERMINAL_STATES and self.model.sl.state in TERMINAL_STATES
        return both_ended and self.model.exited_qty == 0

    def uncovered(self) -> bool:
        return bool(self.model.remaining_qty > 0 and self.model.sl.state in TERMINAL_STATES)
