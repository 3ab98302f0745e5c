"""Allocation: a level takes more of the entry's shares by growing its pair only while a grow
cannot race the broker; otherwise the extra shares get a pair of their own at the same prices."""

from __future__ import annotations

from factories import execution, plan, replace_ok
from harness import Harness

from supervisor.port import ModifyOrder, PlaceOrder


def placed(commands: list) -> dict[str, int]:
    return {c.order_ref.split(":")[1]: c.quantity for c in commands if isinstance(c, PlaceOrder)}


def modified(commands: list) -> dict[str, int | None]:
    return {c.order_ref.split(":")[1]: c.quantity for c in commands if isinstance(c, ModifyOrder)}


def test_acknowledged_legs_without_executions_grow() -> None:
    h = Harness()
    h.settle(h.submit(plan(quantity=100, tps=(11.0,))))
    h.settle(h.feed(execution("entry", 40, 10.0)))
    more = h.feed(execution("entry", 60, 10.0))
    assert modified(more) == {"sl1": 100, "tp1": 100}
    assert placed(more) == {}


def test_a_level_whose_target_already_executed_gets_a_pair_for_the_extra_shares() -> None:
    """A grow sets the size outright: landing after a target fill it crossed, it would undo IB's OCA
    reduction (an exit larger than the position). The extra shares get their own OCA pair."""
    h = Harness()
    h.settle(h.submit(plan(quantity=100, tps=(11.0,))))
    h.settle(h.feed(execution("entry", 40, 10.0)))
    h.feed(execution("tp1", 10, 11.0))
    more = h.feed(execution("entry", 60, 10.0))
    assert modified(more) == {}
    assert placed(more) == {"sl1~2": 60, "tp1~2": 60}
    trade = h.sup.trade("T1")
    h.settle(more)
    assert (trade.position, h.sup.trade("T1").stop_coverage) == (90, 90)


def test_a_second_piece_is_covered_and_the_trade_hears_it() -> None:
    """Two pieces before any acknowledgement: the first level grows on its answer, the later
    levels go out at once, and the Trade (whose Cover machine never left `covered`) is protected."""
    h = Harness()
    h.settle(h.submit(plan(quantity=100, tps=(11.0, 12.0, 13.0))))
    first = h.feed(execution("entry", 50, 10.0))
    second = h.feed(execution("entry", 50, 10.0))
    assert placed(first) == {"sl1": 50, "tp1": 50}
    assert placed(second) == {"sl2": 30, "tp2": 30, "sl3": 10, "tp3": 10}
    grown = h.ack(first + second)
    assert modified(grown) == {"sl1": 60, "tp1": 60}
    h.feed(replace_ok("sl1"), replace_ok("tp1"))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.stop_coverage) == ("protected", 100)
