# How this machine works: an `OcaPair` is one ladder level: a take-profit leg and a stop-loss leg
# in one IB OCA group (ocaType 3: a fill of either reduces the other), covering the shares of the
# entry allocated to that level. It never looks at the broker: the supervisor tells it when the
# level's allocation changed (`allocate`), when one of its legs changed state (`leg_changed`), and
# when it must be replaced (`replace`); its guards read the legs' models; its transitions record
# intents (place the stop, grow it, place the target, cancel the legs, place a successor) that the
# supervisor turns into orders.
#
#   pending -> armed (stop and target, sized to the level's shares; both grow while the entry
#   fills the level) -> reducing (shares left through either leg) -> closed_by_tp | closed_by_sl |
#   closed_mixed;
#   attached brackets go pending -> armed at the trigger (held by the broker until the entry fills);
#   cancelled (both legs ended, nothing left through them);
#   a leg lost while the level still holds shares (rejected, cancelled by the broker, filled short
#   of the level) is restored in the same OCA group (`restore_legs`: a new stop, a new target),
#   at most `repairs_left` times; the lost leg is retired, its executions still count;
#   replacing (the broker sized a leg wrongly and the policy says replace: both legs are being
#   cancelled) -> replaced (a successor pair takes over the level's remaining shares);
#   exposed (its stop is gone with shares left and no repair is left: the trade's Cover machine
#   puts the shares under an emergency stop, in the level's OCA group beside its target when the
#   target still works them, so the level can still close by its target);
#   `withdraw` (the trade is flattened) cancels the level from any live state: nothing restored.
# A stop-only level (a plan with no take-profit: "exits: none") has no target (`tp` is None): the
# same table, whose target rows no guard lets it take: pending -> armed (its stop) -> reducing ->
# closed_by_sl; a lost stop has no OCA sibling whose fill could explain it, so it is lost for sure.
from __future__ import annotations

import attrs
from statemachine import State, StateMachine

from machines.cursor import Cursor, Intents
from machines.lifecycle import LegModel

PAIR_DONE_STATES = frozenset({"closed_by_tp", "closed_by_sl", "closed_mixed", "cancelled", "replaced"})


@attrs.define(slots=True, eq=False)
class PairModel:
    name: str  # pair1, pair1~2 (a successor)
    level: int  # 1-based ladder level
    tp: LegModel | None  # None: a stop-only level (no take-profit)
    sl: LegModel
    target_qty: int  # the level's size once the entry is done
    allocated: int = 0  # entry shares assigned to this level so far
    repairs_left: int = 2  # restorations of a lost leg this level may still get
    state: str = "pending"
    retired: list[LegModel] = attrs.field(factory=list)  # legs lost and restored: their fills count

    @property
    def legs(self) -> tuple[LegModel, ...]:
        """The legs working for the level now: the target (if any), then the stop."""
        return (self.sl,) if self.tp is None else (self.tp, self.sl)

    @property
    def stop_first(self) -> tuple[LegModel, ...]:
        """The same legs, the stop first (the order protection is placed or grown in)."""
        return (self.sl,) if self.tp is None else (self.sl, self.tp)

    @property
    def exited(self) -> int:
        return sum(leg.filled for leg in self.legs) + sum(leg.filled for leg in self.retired)

    @property
    def remaining(self) -> int:
        return max(self.allocated - self.exited, 0)

    @property
    def done(self) -> bool:
        return self.state in PAIR_DONE_STATES


class OcaPair(StateMachine):
    validate_final_reachability = False  # done pairs still take their legs' late news
    catch_errors_as_events = False

    pending = State(initial=True)
    armed = State()
    reducing = State()
    closed_by_tp = State()
    closed_by_sl = State()
    closed_mixed = State()
    cancelled = State()
    replacing = State()
    replaced = State()
    exposed = State()

    allocate = (
        pending.to(armed, cond="has_shares", on="place_both")
        | pending.to.itself(internal=True)
        # the entry filled more of this level: its stop and target grow to cover the shares
        | armed.to.itself(internal=True, on="fit_legs")
        | reducing.to.itself(internal=True, on="fit_legs")
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
        | replacing.to.itself(internal=True)
        | replaced.to.itself(internal=True)
        | exposed.to.itself(internal=True)
    )
    attach = pending.to(armed, on="place_both")
    # the level got no share (the entry ended short, or the trade ended before it began)
    drop = (
        pending.to(cancelled, on="withdraw_legs")
        | armed.to.itself(internal=True)
        | reducing.to.itself(internal=True)
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
        | replacing.to.itself(internal=True)
        | replaced.to.itself(internal=True)
        | exposed.to.itself(internal=True)
    )
    # the trade is flattened: the level ends here, its legs are cancelled and nothing is restored
    # (what it held goes out at the market once nothing works)
    withdraw = (
        pending.to(cancelled, on="withdraw_legs")
        | armed.to(cancelled, on=["cancel_legs", "withdraw_legs"])
        | reducing.to(cancelled, on=["cancel_legs", "withdraw_legs"])
        | exposed.to(cancelled, on=["cancel_legs", "withdraw_legs"])
        | replacing.to(cancelled, on=["cancel_legs", "withdraw_legs"])
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
        | replaced.to.itself(internal=True)
    )
    leg_changed = (
        pending.to.itself(internal=True)
        | armed.to(closed_by_tp, cond="tp_took_all")
        | armed.to(closed_by_sl, cond="sl_took_all")
        | armed.to(closed_mixed, cond="all_exited")
        | armed.to.itself(internal=True, cond=["lost_for_sure", "can_repair"], on="restore_legs")
        # a leg cancelled while its sibling works: the sibling's fill that cancelled it through
        # the OCA group may be on its way; the grace period decides (Cover's `repair`)
        | armed.to.itself(internal=True, cond=["leg_lost", "can_repair"])
        | armed.to(exposed, cond="uncovered")
        | armed.to(cancelled, cond="ended_empty")
        | armed.to(reducing, cond="exits_started")
        # a leg was acknowledged or a change answered: its size may still be short of the level's
        | armed.to.itself(internal=True, on="fit_legs")
        | reducing.to(closed_by_tp, cond="tp_took_all")
        | reducing.to(closed_by_sl, cond="sl_took_all")
        | reducing.to(closed_mixed, cond="all_exited")
        | reducing.to.itself(internal=True, cond=["lost_for_sure", "can_repair"], on="restore_legs")
        # a leg cancelled while its sibling works: the sibling's fill that cancelled it through
        # the OCA group may be on its way; the grace period decides (Cover's `repair`)
        | reducing.to.itself(internal=True, cond=["leg_lost", "can_repair"])
        | reducing.to(exposed, cond="uncovered")
        | reducing.to.itself(internal=True, on="fit_legs")
        # the legs of a pair being replaced end (cancelled, or filled in the race): the successor
        # takes what is left, or nothing is left and the level is over
        | replacing.to(closed_mixed, cond=["both_done", "all_exited"])
        | replacing.to(replaced, cond="both_done", on="succeed")
        # a leg whose cancel was refused is back: ask again (bounded by the retry policy)
        | replacing.to.itself(internal=True, on="cancel_legs")
        # an exposed level can still be closed by the executions of a leg that outlived it
        | exposed.to(closed_by_tp, cond="tp_took_all")
        | exposed.to(closed_by_sl, cond="sl_took_all")
        | exposed.to(closed_mixed, cond="all_exited")
        | exposed.to(cancelled, cond="ended_empty")
        | exposed.to.itself(internal=True)
        # IB cancels the sibling once one leg filled the group: it arrives after the close
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
        | replaced.to.itself(internal=True)
    )
    # the grace period is over and a leg is still lost: restore it (Cover's repair)
    repair = (
        armed.to.itself(internal=True, cond=["leg_lost", "can_repair"], on="restore_legs")
        | armed.to(exposed, cond="uncovered")
        | armed.to.itself(internal=True)
        | reducing.to.itself(internal=True, cond=["leg_lost", "can_repair"], on="restore_legs")
        | reducing.to(exposed, cond="uncovered")
        | reducing.to.itself(internal=True)
        | pending.to.itself(internal=True)
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
        | replacing.to.itself(internal=True)
        | replaced.to.itself(internal=True)
        | exposed.to.itself(internal=True)
    )
    # the broker sized a leg wrongly (QuantityMismatch, policy replace): cancel both, re-place
    replace = (
        armed.to(replacing, on="cancel_legs")
        | reducing.to(replacing, on="cancel_legs")
        | exposed.to(replacing, on="cancel_legs")
        | pending.to.itself(internal=True)
        | replacing.to.itself(internal=True)
        | closed_by_tp.to.itself(internal=True)
        | closed_by_sl.to.itself(internal=True)
        | closed_mixed.to.itself(internal=True)
        | cancelled.to.itself(internal=True)
        | replaced.to.itself(internal=True)
    )

    def __init__(self, model: PairModel | None = None) -> None:
        self.intents = Intents()
        if model is None:
            legs = (LegModel(leg="(tp)", intended_qty=1), LegModel(leg="(sl)", intended_qty=1))
            model = PairModel("(none)", 1, *legs, 1)
        super().__init__(Cursor("state", model))

    @property
    def m(self) -> PairModel:
        target: PairModel = self.model.target
        return target

    # -- guards ----------------------------------------------------------------------------
    def has_shares(self) -> bool:
        return self.m.allocated > 0

    def exits_started(self) -> bool:
        return self.m.exited > 0

    def all_exited(self) -> bool:
        m = self.m
        return m.allocated > 0 and m.exited >= m.allocated

    def tp_took_all(self) -> bool:
        return self.m.tp is not None and self.all_exited() and self.m.sl.filled == 0

    def sl_took_all(self) -> bool:
        """Everything exited and no target took any (a stop-only level's exits are all stops)."""
        tp = self.m.tp
        return self.all_exited() and (tp is None or tp.filled == 0)

    def uncovered(self) -> bool:
        m = self.m
        return m.remaining > 0 and not m.sl.live

    def leg_lost(self) -> bool:
        """The level still holds shares and its stop or its target no longer works them."""
        m = self.m
        return m.remaining > 0 and not all(leg.live for leg in m.legs)

    def lost_for_sure(self) -> bool:
        """A leg is lost for a reason its sibling cannot explain: the broker rejected it, it never
        went (its placement was blocked), or both legs are gone (an OCA cancel is explained by the
        sibling's fill, which may still be coming; a stop-only level's stop has no sibling)."""
        m = self.m
        if m.remaining <= 0:
            return False
        all_gone = not any(leg.live for leg in m.legs)
        return all_gone or any(leg.state in ("rejected", "idle", "dropped") for leg in m.legs)

    def can_repair(self) -> bool:
        return self.m.repairs_left > 0

    def ended_empty(self) -> bool:
        """Both legs gone and the level never held a share (a bracket cancelled before its entry
        filled, a level the allocation gave nothing)."""
        m = self.m
        return not any(leg.live for leg in m.legs) and m.allocated == 0

    def both_done(self) -> bool:
        return not any(leg.live for leg in self.m.legs)

    # -- actions: intents for the supervisor -------------------------------------------------
    def place_both(self) -> None:
        self.intents.add("place_both", self.m)

    def fit_legs(self) -> None:
        self.intents.add("fit_legs", self.m)

    def restore_legs(self) -> None:
        self.intents.add("restore_legs", self.m)

    def cancel_legs(self) -> None:
        self.intents.add("cancel_legs", self.m)

    def succeed(self) -> None:
        self.intents.add("succeed", self.m)

    def withdraw_legs(self) -> None:
        self.intents.add("withdraw_legs", self.m)
