# How this machine works: a `Trade` owns one entry leg and its exits (the ladder's pairs, and any
# emergency stop). The supervisor tells it what happened to them: the entry added shares
# (`inventory`), an exit took some away (`reduced`), the entry ended (`entry_ended`), the stop
# coverage is whole again (`covered`) or has been short past the grace period (`uncovered`); its
# guards read the `TradeModel`. Entering `closed` or `aborted` records an intent, so the
# supervisor reports the outcome exactly once per time it happens.
#
#   armed -> entering -> protecting (shares, stops being placed) -> protected
#   -> scaling_out (exits are filling) -> closed (flat, entry done);
#   unprotected (stop coverage short past the grace period: the supervisor is repairing it);
#   aborted (the entry ended without a share).
# A fill that beats a cancel can reopen `closed` or `aborted`: shares are never ignored.
from __future__ import annotations

from collections.abc import Iterator

import attrs
from statemachine import State, StateMachine

from machines.cursor import Cursor, Intents
from machines.lifecycle import LIVE_STATES, LegModel
from machines.oca_pair import PairModel


@attrs.define(slots=True, eq=False)
class TradeModel:
    trade_id: str
    entry: LegModel
    quantity: int  # what the plan enters
    attached: bool = False  # exits ride with the entry as attached children (a bracket)
    pairs: list[PairModel] = attrs.field(factory=list)
    extras: list[LegModel] = attrs.field(factory=list)  # emergency stops and targets, adopted orders
    state: str = "armed"  # the Trade machine
    ladder: str = "waiting"  # the Ladder machine
    cover: str = "clear"  # the Cover machine
    milestones: str = "none"  # the Milestones machine
    # shares the broker's position says are gone that no execution of ours explains (closed outside
    # this client, e.g. by hand in TWS): a fact from broker truth, recounted at every reconciliation
    outside: int = 0

    def exit_legs(self) -> Iterator[LegModel]:
        for pair in self.pairs:
            yield from pair.legs
            yield from pair.retired
        yield from self.extras

    @property
    def entry_filled(self) -> int:
        return self.entry.filled

    @property
    def exit_filled(self) -> int:
        return sum(leg.filled for leg in self.exit_legs())

    @property
    def position(self) -> int:
        """Open shares: our executions, less what the broker says was closed outside this client."""
        return self.entry.filled - self.exit_filled - self.outside

    @property
    def entry_live(self) -> bool:
        return self.entry.state in LIVE_STATES


class Trade(StateMachine):
    # closed and aborted still take a fill that beat a cancel, so none is final in the library
    validate_final_reachability = False
    catch_errors_as_events = False

    armed = State(initial=True)
    entering = State()
    protecting = State()
    protected = State()
    scaling_out = State()
    closed = State()
    unprotected = State()
    aborted = State()

    enter = armed.to(entering)
    abort = armed.to(aborted, on="report_aborted") | entering.to(aborted, cond="nothing_filled", on="report_aborted")
    inventory = (
        entering.to(protecting)
        | protecting.to.itself(internal=True)
        | protected.to(protecting)
        | scaling_out.to.itself(internal=True)
        | unprotected.to.itself(internal=True)
        # the entry's cancel lost the race: new shares need protection again
        | closed.to(protecting)
        | aborted.to(protecting)
        | armed.to(protecting)  # an execution of an entry we had not seen go (a lost trigger)
    )
    covered = (
        protecting.to(protected)
        | unprotected.to(scaling_out, cond="exits_started")
        | unprotected.to(protected)
        | armed.to.itself(internal=True)
        | entering.to.itself(internal=True)
        | protected.to.itself(internal=True)
        | scaling_out.to.itself(internal=True)
        | closed.to.itself(internal=True)
        | aborted.to.itself(internal=True)
    )
    uncovered = (
        protecting.to(unprotected)
        | protected.to(unprotected)
        | scaling_out.to(unprotected)
        | unprotected.to.itself(internal=True)
        | armed.to.itself(internal=True)
        | entering.to.itself(internal=True)
        | closed.to.itself(internal=True)
        | aborted.to.itself(internal=True)
    )
    reduced = (
        protecting.to(closed, cond="is_flat", on="report_closed") | protecting.to.itself(internal=True)
        | protected.to(closed, cond="is_flat", on="report_closed") | protected.to(scaling_out)
        | scaling_out.to(closed, cond="is_flat", on="report_closed") | scaling_out.to.itself(internal=True)
        | unprotected.to(closed, cond="is_flat", on="report_closed") | unprotected.to.itself(internal=True)
        | armed.to.itself(internal=True)
        | entering.to.itself(internal=True)
        | closed.to.itself(internal=True)
        | aborted.to.itself(internal=True)
    )
    entry_ended = (
        armed.to(aborted, cond="nothing_filled", on="report_aborted")
        | entering.to(aborted, cond="nothing_filled", on="report_aborted") | entering.to.itself(internal=True)
        | protecting.to(closed, cond="is_flat", on="report_closed") | protecting.to.itself(internal=True)
        | protected.to(closed, cond="is_flat", on="report_closed") | protected.to.itself(internal=True)
        | scaling_out.to(closed, cond="is_flat", on="report_closed") | scaling_out.to.itself(internal=True)
        | unprotected.to(closed, cond="is_flat", on="report_closed") | unprotected.to.itself(internal=True)
        | armed.to.itself(internal=True)
        | closed.to.itself(internal=True)
        | aborted.to.itself(internal=True)
    )

    def __init__(self, model: TradeModel | None = None) -> None:
        self.intents = Intents()
        super().__init__(Cursor("state", model or TradeModel("(none)", LegModel(leg="entry", intended_qty=1), 1)))

    @property
    def m(self) -> TradeModel:
        target: TradeModel = self.model.target
        return target

    # -- guards ----------------------------------------------------------------------------
    def nothing_filled(self) -> bool:
        return self.m.entry.filled == 0

    def is_flat(self) -> bool:
        m = self.m
        return not m.entry_live and m.entry.filled > 0 and m.position == 0

    def exits_started(self) -> bool:
        return self.m.exit_filled > 0

    # -- actions ---------------------------------------------------------------------------
    def report_closed(self) -> None:
        self.intents.add("closed", self.m)

    def report_aborted(self) -> None:
        self.intents.add("aborted", self.m)
