# How this machine works: the `Ladder` is the choreography of a trade's exits. It reads the trade's
# model (`TradeModel.ladder` holds its state) and records intents the supervisor carries out:
#
#   waiting -> building (detached: as entry shares arrive they are allocated to the levels in
#   order, so each level's stop covers its shares at once, and a level's take-profit joins its stop
#   as soon as the level is complete: no protective stop to hand over, no extra round trip)
#   -> complete (the entry ended: every level keeps what it has, levels with no shares are dropped);
#   waiting -> attached (a bracket: the children went with the entry, held by the broker until it
#   fills) -> complete (the entry filled in one piece: the children work) or -> detaching (the entry
#   filled only in part, which held children cannot protect, or the broker sized the children
#   wrongly and the policy says replace: the children are cancelled, and so is any child that comes
#   back into reach later, e.g. acknowledged after an outage) -> building/complete (detached pairs
#   take over, sized from the executions).
# `flatten` (the operator's flatten, the kill switch, a time exit) ends the ladder from any state:
# -> flattening cancels the entry and every exit, and once nothing of the trade works any more, the
# shares held go out in one reduce-only market order (its side from the executions); a share that
# arrives later (a fill that beat a cancel) goes out the same way. Nothing is allocated any more.
# An exit that executes while the entry still works (a stop: the breakout failed; a target: the
# price ran past it) ends the entering: the entry is cancelled (`stop_executed`). Shares that
# arrive once the ladder is complete (a fill that beat the entry's cancel) go to the levels at
# once, as if they had come in time (`cover_late`).
from __future__ import annotations

from statemachine import State, StateMachine

from machines.cursor import Cursor, Intents
from machines.lifecycle import LegModel
from machines.trade import TradeModel


class Ladder(StateMachine):
    validate_final_reachability = False
    catch_errors_as_events = False

    waiting = State(initial=True)
    attached = State()
    building = State()
    detaching = State()
    complete = State()
    flattening = State()

    start = waiting.to(attached, cond="is_attached", on="send_children") | waiting.to.itself(internal=True)
    shares_added = (
        waiting.to(building, on="allocate")
        | building.to.itself(internal=True, on="allocate")
        | attached.to.itself(internal=True, cond="entry_full")  # the children are released with it
        # shares the held children cannot protect (the broker holds them until the entry filled):
        # detached exits take over, once the children are gone
        | attached.to(detaching, on="cancel_children")
        | detaching.to.itself(internal=True)  # allocated once the children are gone
        | complete.to.itself(internal=True, on="cover_late")
        | flattening.to.itself(internal=True)  # flattened once nothing works any more
    )
    entry_ended = (
        waiting.to(complete, cond="has_shares", on="finalize")
        | waiting.to(complete)
        | building.to(complete, on="finalize")
        | attached.to(complete, cond="entry_full", on="release")
        | attached.to(detaching, cond="has_shares", on="cancel_children")
        | attached.to(complete, on="cancel_children")
        | detaching.to.itself(internal=True)
        | complete.to.itself(internal=True)
        | flattening.to.itself(internal=True)
    )
    # QuantityMismatch with the replace policy: the broker's children cannot be trusted
    detach = (
        attached.to(detaching, on="cancel_children")
        | waiting.to.itself(internal=True)
        | building.to.itself(internal=True)
        | detaching.to.itself(internal=True)
        | complete.to.itself(internal=True)
        | flattening.to.itself(internal=True)
    )
    children_done = (
        detaching.to(building, cond="entry_live", on="allocate")
        | detaching.to(complete, on="finalize")
        | waiting.to.itself(internal=True)
        | attached.to.itself(internal=True)
        | building.to.itself(internal=True)
        | complete.to.itself(internal=True)
        | flattening.to.itself(internal=True)
    )
    # a child changed state while the ladder waits for the children to go: one that could not be
    # cancelled when detaching began (its state unknown during an outage) is cancelled now
    child_changed = (
        detaching.to.itself(internal=True, on="cancel_children")
        | waiting.to.itself(internal=True)
        | attached.to.itself(internal=True)
        | building.to.itself(internal=True)
        | complete.to.itself(internal=True)
        # every order of the trade has ended: what is held goes out at the market
        | flattening.to.itself(internal=True, cond="quiet_and_held", on="send_flatten")
        | flattening.to.itself(internal=True)
    )
    flatten = (
        waiting.to(flattening, on="cancel_everything")
        | attached.to(flattening, on="cancel_everything")
        | building.to(flattening, on="cancel_everything")
        | detaching.to(flattening, on="cancel_everything")
        | complete.to(flattening, on="cancel_everything")
        | flattening.to.itself(internal=True)  # asked again: it is under way
    )
    stop_executed = (
        building.to.itself(internal=True, cond="entry_live", on="cancel_entry")
        | building.to.itself(internal=True)
        | waiting.to.itself(internal=True)
        | attached.to.itself(internal=True)
        | detaching.to.itself(internal=True)
        | complete.to.itself(internal=True)
        | flattening.to.itself(internal=True)
    )

    def __init__(self, model: TradeModel | None = None) -> None:
        self.intents = Intents()
        super().__init__(Cursor("ladder", model or TradeModel("(none)", LegModel(leg="entry", intended_qty=1), 1)))

    @property
    def m(self) -> TradeModel:
        target: TradeModel = self.model.target
        return target

    # -- guards ----------------------------------------------------------------------------
    def is_attached(self) -> bool:
        return self.m.attached

    def has_shares(self) -> bool:
        return self.m.entry.filled > 0

    def entry_full(self) -> bool:
        return self.m.entry.filled >= self.m.quantity

    def entry_live(self) -> bool:
        return self.m.entry_live

    def quiet_and_held(self) -> bool:
        """Nothing of the trade works at the broker any more, and shares are held."""
        m = self.m
        return not m.entry_live and m.position > 0 and not any(leg.live for leg in m.exit_legs())

    # -- actions: intents for the supervisor -------------------------------------------------
    def send_children(self) -> None:
        self.intents.add("send_children", self.m)

    def allocate(self) -> None:
        self.intents.add("allocate", self.m)

    def finalize(self) -> None:
        self.intents.add("finalize", self.m)

    def release(self) -> None:
        self.intents.add("release", self.m)

    def cancel_children(self) -> None:
        self.intents.add("cancel_children", self.m)

    def cover_late(self) -> None:
        self.intents.add("cover_late", self.m)

    def cancel_entry(self) -> None:
        self.intents.add("cancel_entry", self.m)

    def cancel_everything(self) -> None:
        self.intents.add("cancel_everything", self.m)

    def send_flatten(self) -> None:
        self.intents.add("send_flatten", self.m)
