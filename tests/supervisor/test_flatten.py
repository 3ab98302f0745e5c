"""Flatten (the operator's flatten, the kill switch, a time exit): every order of the trade is
cancelled, then what the executions say is held goes out in one reduce-only market order. Nothing
is allocated or repaired meanwhile, a share that beats a cancel is flattened too, and the journal
replays it."""

from __future__ import annotations

from pathlib import Path

from factories import cancelled, execution, plan, rejected
from harness import Harness

from supervisor import events as ev
from supervisor.core import Supervisor
from supervisor.journal import Journal
from supervisor.plan import Side
from supervisor.policy import Policy
from supervisor.port import Action, CancelOrder, OrderType, PlaceOrder


def flatten_orders(h: Harness) -> list[PlaceOrder]:
    return [c for c in h.commands if isinstance(c, PlaceOrder) and ":flat" in c.order_ref]


def confirm_cancels(h: Harness, commands: list) -> list:
    out: list = []
    for cmd in commands:
        if isinstance(cmd, CancelOrder):
            out += h.feed(cancelled(cmd.order_ref.split(":", 1)[1]))
    return out


def test_a_ladder_in_flight_is_cancelled_then_what_is_held_goes_out_at_the_market() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0, 12.0, 13.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    h.settle(h.feed(execution("tp1", 60, 11.0)))  # level 1 done; sl2, sl3 repriced to break-even
    h.feed(cancelled("sl1"))  # IB's OCA group ends the level's stop
    out = h.sup.flatten("T1", "operator")
    assert {c.order_ref for c in out if isinstance(c, CancelOrder)} == {"T1:tp2", "T1:sl2", "T1:tp3", "T1:sl3"}
    assert not [c for c in out if isinstance(c, PlaceOrder)]  # nothing until the exits are gone
    [asked] = h.of_type(ev.FlattenRequested)
    assert asked.reason == "operator"
    more = confirm_cancels(h, out)
    [order] = [c for c in more if isinstance(c, PlaceOrder)]
    assert (order.order_ref, order.action, order.order_type, order.quantity) == (
        "T1:flat1", Action.SELL, OrderType.MARKET, 40)
    h.ack(more)
    h.tick(10.0)  # the market order works the shares: no stop is wanted beside it, no gap is reported
    assert not h.of_type(ev.CoverageGap)
    assert not h.of_type(ev.EmergencyStopPlaced)
    h.feed(execution("flat1", 40, 10.5))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position, trade.working_orders) == ("closed", 0, ())
    assert len(h.of_type(ev.TradeClosed)) == 1
    assert not h.of_type(ev.EmergencyStopPlaced)



def test_a_short_is_bought_back() -> None:
    h = Harness()
    h.settle(h.submit(plan(side=Side.SHORT, tps=(9.0, 8.0), stop=11.0)))
    h.settle(h.feed(execution("entry", 100, 10.0, action=Action.SELL)))
    out = h.sup.flatten("T1")
    more = confirm_cancels(h, out)
    [order] = [c for c in more if isinstance(c, PlaceOrder)]
    assert (order.action, order.order_type, order.quantity) == (Action.BUY, OrderType.MARKET, 100)
    h.ack(more)
    h.feed(execution("flat1", 100, 10.2, action=Action.BUY))
    assert (h.sup.trade("T1").state, h.sup.trade("T1").position) == ("closed", 0)

def test_an_exit_that_fills_while_its_cancel_is_in_flight_shrinks_the_market_order() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    out = h.sup.flatten("T1")
    h.feed(execution("sl2", 30, 9.0))  # the stop filled before its cancel arrived
    h.feed(cancelled("sl2"), cancelled("tp2"))  # (IB then confirms the sibling's end)
    more = confirm_cancels(h, [c for c in out if isinstance(c, CancelOrder) and c.order_ref.endswith("1")])
    [order] = [c for c in more if isinstance(c, PlaceOrder)]
    assert order.quantity == 70


def test_a_working_entry_is_cancelled_and_a_share_that_beat_the_cancel_goes_out_too() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 30, 10.0)))
    out = h.sup.flatten("T1")
    assert "T1:entry" in {c.order_ref for c in out if isinstance(c, CancelOrder)}
    more = confirm_cancels(h, out)
    [first] = [c for c in more if isinstance(c, PlaceOrder)]
    assert first.quantity == 30
    h.ack(more)
    h.feed(execution("flat1", 30, 10.0))
    late = h.feed(execution("entry", 5, 10.0))  # a fill that beat the entry's cancel, reported late
    [second] = [c for c in late if isinstance(c, PlaceOrder)]
    assert (second.order_ref, second.quantity) == ("T1:flat2", 5)
    assert not [c for c in late if isinstance(c, PlaceOrder) and ":sl" in c.order_ref]  # no new ladder
    h.ack(late)
    h.feed(execution("flat2", 5, 10.0))
    trade = h.sup.trade("T1")
    assert (trade.state, trade.position) == ("closed", 0)


def test_an_armed_trade_expires_and_nothing_is_sent() -> None:
    h = Harness()
    h.sup.arm(plan())
    assert h.sup.flatten("T1") == []
    assert h.sup.trade("T1").state == "aborted"


def test_flatten_twice_sends_nothing_twice() -> None:
    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    first = h.sup.flatten("T1")
    assert h.sup.flatten("T1") == []
    assert len([c for c in first if isinstance(c, CancelOrder)]) == 2
    assert len(h.of_type(ev.FlattenRequested)) == 1


def test_a_rejected_market_order_is_followed_by_another_within_the_limit_then_a_stop() -> None:
    h = Harness(policy=Policy(max_flatten_orders=2))
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    more = confirm_cancels(h, h.sup.flatten("T1"))
    h.ack(more)
    again = h.feed(rejected("flat1", code=201))
    assert [(c.order_ref, c.quantity) for c in again if isinstance(c, PlaceOrder)] == [("T1:flat2", 100)]
    h.ack(again)
    h.feed(rejected("flat2", code=201))
    [failed] = h.of_type(ev.ProtectionFailed)
    assert "max_flatten_orders=2" in failed.reason
    # the shares are not left bare: past the grace period, an emergency stop
    h.tick(5.0)
    assert [c.order_ref for c in flatten_orders(h)] == ["T1:flat1", "T1:flat2"]
    assert h.of_type(ev.EmergencyStopPlaced)


def test_a_flatten_replays_from_the_journal(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.sqlite")
    h = Harness(journal=path)
    h.settle(h.submit(plan(tps=(11.0, 12.0))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    more = confirm_cancels(h, h.sup.flatten("T1", "time exit"))
    h.ack(more)
    before = h.sup.trades()
    assert h.recorder is not None
    h.recorder.flush()
    with Journal.open(path) as journal:
        restored = Supervisor.restore(journal.records(), h.clock)
    assert restored.trades() == before
    assert restored.trade("T1").ladder == "flattening"


def test_an_adopted_flatten_order_counts_and_its_name_is_never_given_out_again() -> None:
    """A crash lost the journal's record of flat1; the broker still works it. Adopted at the
    reconciliation, it counts against the bound and the next flatten order is flat2."""
    from supervisor.port import BrokerTruth, OpenOrder, Position

    h = Harness()
    h.settle(h.submit(plan(tps=(11.0,))))
    h.settle(h.feed(execution("entry", 100, 10.0)))
    theirs = OpenOrder(order_ref="T1:flat1", order_id=91, symbol="ABC", action=Action.SELL,
                       order_type=OrderType.MARKET, quantity=40)
    h.sup.reconcile(BrokerTruth(open_orders=(theirs,), positions=(Position(symbol="ABC", quantity=100),),
                                executions=(execution("entry", 100, 10.0),), time=h.clock.now))
    h.feed(cancelled("flat1"))
    confirm_cancels(h, h.sup.flatten("T1"))
    refs = [c.order_ref for c in flatten_orders(h)]
    assert "T1:flat1" not in refs
    assert refs[-1] == "T1:flat2"
