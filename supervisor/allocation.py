"""Allocation: the entry's shares go to the ladder's levels in order, each level up to its size, so
a level's stop and target cover its shares as they arrive. A level's pairs answer for its shares
together: the newest takes what the others do not. A pair grows to take more only while growing
cannot race the broker (`can_grow`); otherwise the extra shares get a pair of their own. When the
entry is done, a level with no share is dropped. The OCA pair machine decides what each allocation
means for its legs (`allocate`, `drop`).

Also here: the caps IB's OCA groups put on each member (`refresh_caps`), and a level's successor
pair (`add_pair`), named so that no orderRef is ever used twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from machines import PairModel
from supervisor.book import TradeRecord, entry_filled, record
from supervisor.orders import level_legs

if TYPE_CHECKING:
    from supervisor.choreography import Choreography


def allocate(ch: Choreography, trade: TradeRecord, *, final: bool) -> None:
    if trade.attached and trade.ladder in ("attached", "detaching"):
        return
    left = entry_filled(trade)
    for level, size in enumerate(trade.p.split(trade.quantity), start=1):
        share = min(left, size)
        left -= share
        pairs = [p for p in trade.pairs if p.level == level]
        current = pairs[-1] if pairs else None
        others = sum(p.allocated for p in pairs[:-1])
        more = current is not None and share > others + current.allocated
        if current is None or (more and (current.done or not can_grow(current))):
            if share == 0:
                continue
            taken = others + (current.allocated if current is not None else 0)
            if current is not None and not current.done:
                current.target_qty = current.allocated  # it keeps what it covers; the new pair the rest
            current = ch.new_pair(trade, level, target=size - taken, allocated=share - taken,
                                  repairs_left=trade.pairs[0].repairs_left if trade.pairs else 0)
        elif not current.done:
            current.allocated = max(share - others, 0)
            current.target_qty = max(size - others, current.allocated)
        refresh_caps(current)
        if final and current.allocated == 0:
            event = "drop"
        elif current.state in ("pending", "armed", "reducing"):
            event = "allocate"
        else:
            continue
        step = ch.desk.fire(ch.m.pair, current, trade, event)
        if step is not None:
            ch.run(trade, step.intents)


def can_grow(pair: PairModel) -> bool:
    """A pair takes more of its level's shares by growing its legs only while no leg of it has
    executed: a grow sets the size outright, so one that lands after a target fill it crossed would
    undo IB's OCA reduction (an exit larger than the position, cut again one fill behind while the
    target keeps filling). Else the extra shares get a pair of their own at the same prices."""
    return pair.exited == 0


def add_pair(trade: TradeRecord, level: int, *, target: int, allocated: int, repairs_left: int) -> PairModel:
    """A new pair for `level`, its legs added to the trade (not yet registered with the desk)."""
    generation = sum(1 for p in trade.pairs if p.level == level) + 1
    # a restored leg may hold a successor's name already (sl1~2): orderRefs are never reused
    while any(f"{kind}{level}~{generation}" in trade.legs for kind in ("tp", "sl")):
        generation += 1
    tp, sl = level_legs(trade, level, generation, max(target, 1), attached=False)
    suffix = "" if generation == 1 else f"~{generation}"
    pair = PairModel(f"pair{level}{suffix}", level, tp, sl, target_qty=target, allocated=allocated,
                     repairs_left=repairs_left)
    for leg in pair.legs:
        trade.legs[leg.leg] = record(leg)
    trade.pairs.append(pair)
    refresh_caps(pair)
    return pair


def refresh_caps(pair: PairModel) -> None:
    """IB reduces each member of an OCA group (ocaType 3) by the other members' fills: each leg
    can execute what it was acknowledged for, less what the others executed since."""
    for leg in pair.legs:
        taken = (pair.exited - leg.filled) - leg.sibling_filled_at_ack
        base = leg.broker_qty if leg.broker_qty is not None else leg.intended_qty
        leg.cap = max(base - taken, leg.filled) if taken > 0 else None
