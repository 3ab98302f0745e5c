# How this machine works: a `Trade` owns one entry leg and its exit pairs (and any protective or
# emergency stops). The supervisor tells it what the executions did (`inventory` when the entry
# added shares, `reduced` when an exit took some away), what the stop coverage is (`covered`,
# `uncovered`), and when the entry ended (`entry_ended`); the guards read the `TradeModel`.
#
#   armed -> entering -> protecting (shares, stop coverage being placed) -> protected
#   -> scaling_out (exits are filling) -> closed (flat, entry done),
#   unprotected (stop coverage short after the grace period: the supervisor acts),
#   aborted (the entry ended without a share).
# A fill that beats a cancel can reopen `closed` or `aborted`: shares are never ignored.
from __future__ import annotations

import attrs
from statemachine import State, StateMachine

from machines.lifecycle import TERMINAL_STATES, LegModel


@attrs.define
class TradeModel:
    trade_id: str
    entry: LegModel
    exit_legs: list[LegModel] = attrs.field(factory=list)
    stop_coverage: int = 0
    state: str | None = None

    @property
    def entry_filled(self) -> int:
        return self.entry.filled_qty

    @property
    def exit_filled(self) -> int:
        return sum(leg.filled_qty for leg in self.exit_legs)

    @property
    def position(self) -> int:
        """Open shares, from executions only (never negative by construction of the exits)."""
        return self.entry_filled - self.exit_filled

    @property
    def entry_done(self) -> bool:
        return self.entry.state in TERMINAL_STATES


class Trade(StateMachine):
    # closed and aborted still take a fill that beat a cancel, so none is final in the library
    validate_final_reachability = False

    armed = State(initial=True)
    entering = State()
    protecting = State()
    protected = State()
    scaling_out = State()
    closed = State()
    unprotected = State()
    aborted = State()

    enter = armed.to(entering)
    abort = armed.to(aborted) | entering.to(aborted, cond="nothing_filled")
    inventory = (
        entering.to(protecting)
        | protecting.to.itself(internal=True)
        | protected.to(protecting)
        | scaling_out.to.itself(internal=True)
        | unprotected.to.itself(internal=True)
        # the entry's cancel lost the race: new shares need protection again
        | closed.to(protecting)
        | aborted.to(protecting)
    )
    covered = (
        protecting.to(protected)
        | protected.to.itself(internal=True)
        | scaling_out.to.itself(internal=True)
        | unprotected.to(scaling_out, cond="exits_started")
        | unprotected.to(protected)
    )
    uncovered = (
        protecting.to(unprotected)
        | protected.to(unprotected)
        | scaling_out.to(unprotected)
        | unprotected.to.itself(internal=True)
    )
    reduced = (
        protecting.to(closed, cond="is_flat") | protecting.to.itself(internal=True)
        | protected.to(closed, cond="is_flat") | protected.to(scaling_out)
        | scaling_out.to(closed, cond="is_flat") | scaling_out.to.itself(internal=True)
        | unprotected.to(closed, cond="is_flat") | unprotected.to.itself(internal=True)
    )
    entry_ended = (
        entering.to(aborted, cond="nothing_filled") | entering.to.itself(internal=True)
        | protecting.to(closed, cond="is_flat") | protecting.to.itself(internal=True)
        | protected.to(closed, cond="is_flat") | protected.to.itself(internal=True)
        | scaling_out.to(closed, cond="is_flat") | scaling_out.to.itself(internal=True)
        | unprotected.to(closed, cond="is_flat") | unprotected.to.itself(internal=True)
    )

    def __init__(self, model: TradeModel) -> None:
        super().__init__(model)

    def nothing_filled(self) -> bool:
        return bool(self.model.entry_filled == 0)

    def is_flat(self) -> bool:
        m = self.model
        return bool(m.entry_done and m.entry_filled > 0 and m.position == 0)

    def exits_started(self) -> bool:
        return bool(self.model.exit_filled > 0)
