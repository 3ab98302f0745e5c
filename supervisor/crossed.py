"""Targets already crossed: the entry filled at or beyond a take-profit (a gap through TP1).

A take-profit placed below the price of a long (above, for a short) executes at once: the level
would sell the moment it is placed. At the entry's first execution, while no exit of the ladder
has gone out yet (the Ladder machine still `waiting`, every pair `pending`), the supervisor
compares the fill with the targets, reports `TargetsCrossed`, and `Policy.targets_crossed` decides:

- `keep`: the ladder goes out as planned (the crossed targets sell at once);
- `drop` (default): each crossed level's shares go to the next level that is not crossed (to the
  last such level when none follows; when every target is crossed, the last level takes them all);
  per-level stops and stop updates follow their levels;
- `shift`: every target moves by the slippage (fill - planned entry), on the tick grid.

A plan may answer for itself (`TradePlan.targets_crossed`, e.g. `breakout arm --targets-crossed`);
the policy answers for plans that do not. A plan with no take-profit crosses nothing.

The new ladder replaces the pending pairs built at arm time (nothing of them was sent, so their
names are reused); the plan the trade keeps is the new one. In attached mode the children ride with
the entry at the broker already: the crossing is reported and nothing else changes.
"""

from __future__ import annotations

import attrs

from supervisor import events as ev
from supervisor.book import TradeRecord
from supervisor.desk import Desk, leg_of
from supervisor.orders import ladder_pairs
from supervisor.plan import PlanError, Side, TradePlan
from supervisor.policy import TargetsCrossedAction


def crossed_levels(plan: TradePlan, fill: float) -> tuple[int, ...]:
    """The 1-based levels whose target the fill reached (a long filled at or above it)."""
    if plan.side is Side.LONG:
        return tuple(i for i, tp in enumerate(plan.take_profits, start=1) if fill >= tp)
    return tuple(i for i, tp in enumerate(plan.take_profits, start=1) if fill <= tp)


def replan(plan: TradePlan, fill: float, action: TargetsCrossedAction) -> TradePlan:
    """The plan after the policy's answer to the targets `fill` crossed (the same plan for `keep`)."""
    crossed = crossed_levels(plan, fill)
    if not crossed or action is TargetsCrossedAction.KEEP:
        return plan
    if action is TargetsCrossedAction.SHIFT:
        slip = fill - plan.entry_price
        return attrs.evolve(plan, take_profits=tuple(plan.round_to_tick(tp + slip) for tp in plan.take_profits))
    return _dropped(plan, set(crossed))


def _dropped(plan: TradePlan, crossed: set[int]) -> TradePlan:
    levels = range(1, plan.levels + 1)
    kept = [level for level in levels if level not in crossed] or [plan.levels]
    sizes = dict(zip(levels, plan.split(plan.quantity), strict=True))
    shares = dict.fromkeys(kept, 0)
    for level in levels:
        later = [k for k in kept if k >= level]
        shares[later[0] if later else kept[-1]] += sizes[level]
    stops = plan.stop_losses if len(plan.stop_losses) == 1 else tuple(plan.stop_losses[k - 1] for k in kept)
    # the stop after a kept level's target is what the plan said after that same target
    updates = []
    for k in kept[:-1]:
        if k - 1 >= len(plan.stop_updates):
            break
        updates.append(plan.stop_updates[k - 1])
    return attrs.evolve(plan, take_profits=tuple(plan.take_profits[k - 1] for k in kept), stop_losses=stops,
                        allocation=tuple(shares[k] for k in kept), stop_updates=tuple(updates))


def checked_replan(plan: TradePlan, fill: float, action: TargetsCrossedAction) -> tuple[TradePlan, str]:
    """`replan`, or the plan unchanged with the reason when the new one is not a valid plan."""
    try:
        return replan(plan, fill, action), ""
    except PlanError as exc:
        return plan, f"kept as planned: {exc}"


def answer(desk: Desk, trade: TradeRecord, fill: float) -> None:
    """At the entry's first execution, before any exit went out: report crossed targets and put
    the policy's ladder in place of the pending one built at arm time."""
    plan = trade.p
    crossed = crossed_levels(plan, fill)
    if not crossed:
        return
    chosen = plan.targets_crossed if plan.targets_crossed is not None else desk.policy.targets_crossed
    action = TargetsCrossedAction.KEEP if trade.attached else chosen
    new, reason = checked_replan(plan, fill, action)
    if new is not plan:
        repairs = trade.pairs[0].repairs_left if trade.pairs else 0
        for pair in trade.pairs:
            for leg in pair.legs:
                del trade.legs[leg_of(leg).leg]
                desk.by_ref.pop(leg_of(leg).order_ref, None)
        trade.plan = new
        trade.pairs = ladder_pairs(trade, repairs=repairs)
        for name, leg in trade.legs.items():
            if name != "entry":
                desk.register(trade, leg)
    if trade.attached:
        reason = "attached: the children ride with the entry at the broker"
    desk.emit(ev.TargetsCrossed(
        trade_id=trade.trade_id, fill_price=fill, planned_targets=plan.take_profits, crossed=crossed,
        action=action.value, targets=new.take_profits, allocation=new.split(new.quantity), reason=reason))
