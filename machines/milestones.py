# How this machine works: `Milestones` moves a ladder's later stops as its targets fill. When the
# first level's take-profit has taken its whole level, the stops of the later levels move to the
# first milestone price (break-even by default); when the first two levels' take-profits have, the
# third level's stop moves to the second (the first target by default). The supervisor tells it
# whenever a take-profit leg filled (`target_filled`); entering a milestone records a `reprice`
# intent, and the supervisor moves every stop whose price is not yet the milestone's (a stop busy
# with another change is moved when that change is answered: a new fact, never a timer).
#
#   none -> first -> second   (none -> second when both fills are seen at once)
from __future__ import annotations

from statemachine import State, StateMachine

from machines.cursor import Cursor, Intents
from machines.lifecycle import LegModel
from machines.trade import TradeModel


def _level_took_profit(model: TradeModel, level: int) -> bool:
    """The newest pair of `level` closed on its target."""
    latest = None
    for pair in model.pairs:
        if pair.level == level:
            latest = pair
    return latest is not None and latest.state == "closed_by_tp"


class Milestones(StateMachine):
    validate_final_reachability = False
    catch_errors_as_events = False

    none = State(initial=True)
    first = State()
    second = State()

    target_filled = (
        none.to(second, cond="second_reached", on="reprice")
        | none.to(first, cond="first_reached", on="reprice")
        | none.to.itself(internal=True)
        | first.to(second, cond="second_reached", on="reprice")
        | first.to.itself(internal=True)
        | second.to.itself(internal=True)
    )

    def __init__(self, model: TradeModel | None = None) -> None:
        self.intents = Intents()
        super().__init__(
            Cursor("milestones", model or TradeModel("(none)", LegModel(leg="entry", intended_qty=1), 1))
        )

    @property
    def m(self) -> TradeModel:
        target: TradeModel = self.model.target
        return target

    def first_reached(self) -> bool:
        return _level_took_profit(self.m, 1)

    def second_reached(self) -> bool:
        return _level_took_profit(self.m, 1) and _level_took_profit(self.m, 2)

    def reprice(self) -> None:
        self.intents.add("reprice", self.m)
