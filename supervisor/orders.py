"""Orders: the `PlaceOrder` values a plan turns into, each with `orderRef = <trade_id>:<leg>`, and the
leg records that carry them (built when a trade is armed, so no hot path builds an order)."""

from __future__ import annotations

import attrs

from machines import PairModel
from supervisor.book import LegRecord, Role, TradeRecord, record
from supervisor.plan import EntryType, TradePlan
from supervisor.port import OrderType, PlaceOrder

# IB ocaType 3: reduce the siblings' quantity by each fill, without blocking (a partial TP fill
# shrinks its stop instead of cancelling it, so the rest of the pair stays protected).
OCA_REDUCE = 3


def order_ref(trade_id: str, leg: str) -> str:
    return f"{trade_id}:{leg}"


def split_ref(ref: str) -> tuple[str, str] | None:
    trade_id, sep, leg = ref.partition(":")
    if not sep or not trade_id or not leg:
        return None
    return trade_id, leg


def entry_order(plan: TradePlan) -> PlaceOrder:
    market = plan.entry_type is EntryType.MARKET
    return PlaceOrder(
        order_ref=order_ref(plan.trade_id, "entry"),
        symbol=plan.symbol,
        action=plan.side.entry_action,
        order_type=OrderType.MARKET if market else OrderType.LIMIT,
        quantity=plan.quantity,
        limit_price=None if market else plan.entry_price,
        tif=plan.tif,
        outside_rth=plan.outside_rth,
        account=plan.account,
        instrument=plan.instrument,  # the contract the adapter sends (a future's month and multiplier)
    )


def take_profit_order(
    plan: TradePlan, leg: str, qty: int, price: float, *, oca_group: str | None, parent_ref: str | None = None
) -> PlaceOrder:
    return _exit_order(plan, leg, qty, OrderType.LIMIT, oca_group=oca_group, parent_ref=parent_ref,
                       limit_price=price, outside_rth=plan.outside_rth)


def stop_order(
    plan: TradePlan, leg: str, qty: int, price: float, *, oca_group: str | None, parent_ref: str | None = None
) -> PlaceOrder:
    # a stop must work outside regular hours too: a gap at the open is when it matters
    return _exit_order(plan, leg, qty, OrderType.STOP, oca_group=oca_group, parent_ref=parent_ref,
                       stop_price=price, outside_rth=True)


def _exit_order(
    plan: TradePlan, leg: str, qty: int, order_type: OrderType, *, oca_group: str | None, parent_ref: str | None,
    outside_rth: bool, limit_price: float | None = None, stop_price: float | None = None,
) -> PlaceOrder:
    return PlaceOrder(
        order_ref=order_ref(plan.trade_id, leg),
        symbol=plan.symbol,
        action=plan.side.exit_action,
        order_type=order_type,
        quantity=qty,
        limit_price=limit_price,
        stop_price=stop_price,
        tif=plan.tif,
        outside_rth=outside_rth,
        oca_group=oca_group,
        oca_type=OCA_REDUCE if oca_group else 0,
        parent_ref=parent_ref,
        account=plan.account,
        instrument=plan.instrument,
    )


# -- legs with their orders, built at arm time (never on the trigger path) ------------------------

def entry_leg(plan: TradePlan) -> LegRecord:
    command = entry_order(plan)
    return LegRecord(leg="entry", intended_qty=plan.quantity, limit_price=command.limit_price, state="armed",
                     trade_id=plan.trade_id, role=Role.ENTRY, command=command)


def level_legs(
    trade: TradeRecord, level: int, generation: int, qty: int, *, attached: bool
) -> tuple[LegRecord | None, LegRecord]:
    """The take-profit and stop-loss of a ladder level, in an OCA group of their own. A successor
    (generation 2, 3, ...) gets new names and a new group: orderRefs are never reused. A plan with
    no take-profit gives its one level a stop alone (no target, no OCA group: nothing to share)."""
    plan = trade.p
    suffix = "" if generation == 1 else f"~{generation}"
    price = plan.target_for(level)
    oca = None if price is None else f"{plan.trade_id}:oca{level}{suffix}"
    parent = trade.entry_rec.order_ref if attached else None
    stop = plan.stop_for(level)
    tp = None
    if price is not None:
        tp_cmd = take_profit_order(plan, f"tp{level}{suffix}", qty, price, oca_group=oca, parent_ref=parent)
        tp = LegRecord(leg=f"tp{level}{suffix}", intended_qty=qty, limit_price=price, trade_id=plan.trade_id,
                       role=Role.TAKE_PROFIT, command=tp_cmd, level=level)
    sl_cmd = stop_order(plan, f"sl{level}{suffix}", qty, stop, oca_group=oca, parent_ref=parent)
    sl = LegRecord(leg=f"sl{level}{suffix}", intended_qty=qty, stop_price=stop, trade_id=plan.trade_id,
                   role=Role.STOP, command=sl_cmd, level=level)
    return tp, sl


def emergency_leg(trade: TradeRecord, number: int, qty: int, *, oca_group: str | None = None) -> LegRecord:
    """A stop at the plan's protective price for shares no ladder stop protects; in `oca_group`
    when it stands beside a level's target whose own stop is gone (the two work the same shares)."""
    plan = trade.p
    name = f"estop{number}"
    command = stop_order(plan, name, qty, plan.protective_stop, oca_group=oca_group)
    return LegRecord(leg=name, intended_qty=qty, stop_price=plan.protective_stop, trade_id=plan.trade_id,
                     role=Role.STOP, command=command)


def flatten_leg(trade: TradeRecord, number: int, qty: int) -> LegRecord:
    """A market order for what is held, on the exit side (a flatten's side is never a signal's)."""
    plan = trade.p
    name = f"flat{number}"
    command = _exit_order(plan, name, qty, OrderType.MARKET, oca_group=None, parent_ref=None,
                          outside_rth=False)
    return LegRecord(leg=name, intended_qty=qty, trade_id=plan.trade_id, role=Role.FLATTEN, command=command)


def build_trade(plan: TradePlan, *, repairs: int) -> TradeRecord:
    """Every model of a trade, with every order it may place, built once when it is armed."""
    entry = entry_leg(plan)
    trade = TradeRecord(trade_id=plan.trade_id, entry=entry, quantity=plan.quantity, attached=plan.attached,
                        plan=plan, legs={"entry": entry})
    trade.pairs = ladder_pairs(trade, repairs=repairs)
    return trade


def ladder_pairs(trade: TradeRecord, *, repairs: int) -> list[PairModel]:
    """The pairs of the trade's plan, one per level with shares, their legs added to the trade."""
    plan = trade.p
    pairs = []
    for level, qty in enumerate(plan.split(plan.quantity), start=1):
        if qty == 0:
            continue  # a level the allocation gives no share: LadderLevelDropped at arm
        tp, sl = level_legs(trade, level, 1, qty, attached=plan.attached)
        pair = PairModel(f"pair{level}", level, tp, sl, target_qty=qty, repairs_left=repairs)
        for leg in pair.legs:
            trade.legs[leg.leg] = record(leg)
        pairs.append(pair)
    return pairs


def restored_leg(trade: TradeRecord, old: LegRecord, name: str, qty: int) -> LegRecord:
    """A new leg doing a lost one's work: the same order under a new name, in the same OCA group,
    no longer attached (its parent has filled)."""
    command = attrs.evolve(old.order, order_ref=order_ref(trade.trade_id, name), quantity=max(qty, 1),
                           parent_ref=None)
    return LegRecord(leg=name, intended_qty=command.quantity, limit_price=command.limit_price,
                     stop_price=command.stop_price, trade_id=trade.trade_id, role=old.role, command=command,
                     level=old.level)
