"""A plan with no take-profit ("exits: none"): the entry and its stop only. The shares are held
under one stop that grows with every execution of the entry, until the stop fills, the trade is
flattened, or a restart restores it from the journal; a lost stop is restored at once (no OCA
sibling's fill can explain it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import cancelled, execution, plan, rejected, replace_ok
from harness import Harness

from supervisor import events as ev
from supervisor.journal_recorder import JournalRecorder
from supervisor.plan import EntryType, ExitMode, PlanError
from supervisor.policy import Policy, TargetsCrossedAction
from supervisor.port import Action, CancelOrder, ModifyOrder, OrderType, PlaceOrder


def stop_only(**kw: object):  # type: ignore[no-untyped-def]
    return plan(tps=(), stop=9.0, **kw)


def placed(commands: list) -> list[tuple[str, int]]:
    return [(c.order_ref, c.quantity) for c in commands if isinstance(c, PlaceOrder)]


def test_the_stop_grows_with_every_piece_of_the_entry_and_its_fill_closes_the_trade() -> None:
    h = Harness()
    assert placed(h.submit(stop_only())) == [("T1:entry", 100)]
    h.settle(h.commands)
    first = h.feed(execution("entry", 30, 10.0, "e1"))
    assert placed(first) == [("T1:sl1", 30)]  # the stop at once, and nothing else: no target
    sl = h.placed("sl1")
    assert (sl.order_type, sl.action, sl.stop_price, sl.oca_group) == (OrderType.STOP, Action.SELL, 9.0, None)
    h.settle(first)
    grow = h.feed(execution("entry", 50, 10.0, "e2"))
    assert [(c.order_ref, c.quantity) for c in grow if isinstance(c, ModifyOrder)] == [("T1:sl1", 80)]
    h.feed(replace_ok("sl1"))
    grow = h.feed(execution("entry", 20, 10.0, "e3"))
    assert [(c.order_ref, c.quantity) for c in grow if isinstance(c, ModifyOrder)] == [("T1:sl1", 100)]
    h.feed(replace_ok("sl1"))
    h.tick(10.0)
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position, trade.stop_coverage, trade.pairs) == ("protected", 100, 100,
                                                                               (("pair1", "armed"),))
    assert [leg.name for leg in trade.legs] == ["entry", "sl1"]
    h.feed(execution("sl1", 40, 9.0, "s1"))
    assert h.sup.trade("T1").pairs == (("pair1", "reducing"),)
    h.feed(execution("sl1", 60, 9.0, "s2"))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position, trade.pairs, trade.working_orders) == (
        "closed", 0, (("pair1", "closed_by_sl"),), ())
    [closed] = h.of_type(ev.TradeClosed)
    assert closed.realized_pnl == pytest.approx(-100.0)
    assert not h.of_type(ev.CoverageGap)
    assert not h.of_type(ev.InvariantViolated)
    assert not [c for c in h.commands if isinstance(c, PlaceOrder) and ":tp" in c.order_ref]


def test_one_fill_of_the_whole_entry_places_the_stop_alone() -> None:
    h = Harness()
    h.settle(h.submit(stop_only()))
    assert placed(h.feed(execution("entry", 100, 10.0))) == [("T1:sl1", 100)]


def test_flatten_cancels_the_stop_then_sells_what_is_held() -> None:
    h = Harness()
    h.settle(h.submit(stop_only()))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    out = h.sup.flatten("T1", "operator")
    assert [c.order_ref for c in out if isinstance(c, CancelOrder)] == ["T1:sl1"]
    assert not [c for c in out if isinstance(c, PlaceOrder)]
    more = h.feed(cancelled("sl1"))
    [order] = [c for c in more if isinstance(c, PlaceOrder)]
    assert (order.order_ref, order.order_type, order.action, order.quantity) == (
        "T1:flat1", OrderType.MARKET, Action.SELL, 100)
    h.ack(more)
    h.feed(execution("flat1", 100, 10.5))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position, trade.working_orders) == ("closed", 0, ())
    assert not h.of_type(ev.LegRestored)  # a flattened level restores nothing


def test_a_rejected_stop_is_restored_at_once() -> None:
    h = Harness()
    h.settle(h.submit(stop_only()))
    out = h.feed(execution("entry", 100, 10.0))
    h.ack(out)
    again = h.feed(rejected("sl1"))
    assert placed(again) == [("T1:sl1~2", 100)]
    [restored] = h.of_type(ev.LegRestored)
    assert (restored.leg, restored.replaces, restored.quantity) == ("sl1~2", "sl1", 100)
    h.settle(again)
    h.tick(10.0)
    assert h.sup.trade("T1").stop_coverage == 100
    h.feed(execution("sl1~2", 100, 9.0))
    assert h.sup.trade("T1").state == "closed"


def test_a_stop_cancelled_behind_our_back_is_restored_without_waiting() -> None:
    """A ladder level's cancelled stop may be its target's OCA fill on its way, so it waits for the
    grace period; a stop-only level has no target, so nothing can explain its loss."""
    h = Harness()
    h.settle(h.submit(stop_only()))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    assert placed(h.feed(cancelled("sl1"))) == [("T1:sl1~2", 100)]


def test_a_crash_mid_trade_restores_the_stop_only_level(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.sqlite")
    h = Harness(journal=path)
    h.settle(h.submit(stop_only()))
    h.settle(h.feed(execution("entry", 60, 10.0, "e1")))
    before = h.sup.trades()
    assert h.recorder is not None
    h.recorder.close()  # the process dies with 60 shares held under sl1

    again = JournalRecorder.open(path, h.clock)
    assert again.trades() == before
    trade = again.trade("T1")
    assert (trade.position, trade.pairs, [leg.name for leg in trade.legs]) == (
        60, (("pair1", "armed"),), ["entry", "sl1"])
    out = again.handle(execution("entry", 40, 10.0, "e2")) + again.settle()
    assert [(c.order_ref, c.quantity) for c in out if isinstance(c, ModifyOrder)] == [("T1:sl1", 100)]
    again.handle(replace_ok("sl1"))
    again.handle(execution("sl1", 100, 9.0, "s1"))
    assert again.trade("T1").state == "closed"
    again.flush()
    # a closed trade comes back from its checkpoint: the stop-only pair survives the codec
    from supervisor.core import Supervisor

    restored = Supervisor.restore(again.journal.restore_records(), h.clock, again.supervisor.policy)
    assert restored.trades() == again.trades()
    again.close()


def test_attached_the_stop_is_the_entry_s_only_child() -> None:
    h = Harness()
    out = h.submit(stop_only(exit_mode=ExitMode.ATTACHED))
    assert [(c.order_ref, c.parent_ref) for c in out if isinstance(c, PlaceOrder)] == [
        ("T1:entry", None), ("T1:sl1", "T1:entry")]
    h.settle(out)
    h.feed(execution("entry", 100, 10.0))
    h.tick(10.0)
    trade = h.sup.trade("T1")
    assert (trade.position, trade.stop_coverage, trade.pairs) == (100, 100, (("pair1", "armed"),))
    h.feed(execution("sl1", 100, 9.0))
    assert h.sup.trade("T1").state == "closed"


@pytest.mark.parametrize("action", list(TargetsCrossedAction))
def test_an_entry_far_above_its_reference_crosses_no_target(action: TargetsCrossedAction) -> None:
    h = Harness(Policy(targets_crossed=action))
    h.settle(h.submit(stop_only(entry_type=EntryType.MARKET)))
    assert placed(h.feed(execution("entry", 100, 14.0))) == [("T1:sl1", 100)]
    assert not h.of_type(ev.TargetsCrossed)


def test_a_plan_with_no_target_needs_its_stop() -> None:
    with pytest.raises(PlanError) as caught:
        plan(tps=(), stop_losses=())
    assert caught.value.field == "stop_losses"
    assert "every executed share is kept under a stop" in str(caught.value)


def test_a_plan_with_no_target_has_no_milestone_to_move_its_stop() -> None:
    with pytest.raises(PlanError) as caught:
        stop_only(stop_updates=(10.0,))
    assert caught.value.field == "stop_updates"


def test_a_stop_only_plan_is_one_level_with_every_share() -> None:
    p = stop_only(quantity=7)
    assert (p.levels, p.stop_only, p.split(7), p.split(3), p.target_for(1)) == (1, True, (7,), (3,), None)
    assert stop_only(allocation=(100,)).split(100) == (100,)
    with pytest.raises(PlanError) as caught:
        stop_only(allocation=(60, 40))
    assert caught.value.field == "allocation"
    with pytest.raises(PlanError) as caught:
        stop_only(stop_losses=(9.0, 8.5))
    assert caught.value.field == "stop_losses"
