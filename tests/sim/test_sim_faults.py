"""Every fault, shown by the events it produces; the fault parser; determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sim_helpers import NY, T0, bars, drain, flat, limit, names, of, order, stop

from broker.sim import FAULT_HELP, Fault, FaultName, Faults, SimBroker, SimConfig, load_bars, parse_fault
from supervisor.port import (
    Action,
    BrokerEvent,
    CancelOrder,
    CancelRejected,
    CommissionReported,
    ConnectionLost,
    ConnectionRestored,
    ExecutionReported,
    OrderAccepted,
    OrderRejected,
    OrderType,
    StatusObserved,
)


def for_ref(ref: str, events: list[BrokerEvent]) -> list[str]:
    return [type(e).__name__ for e in events if getattr(e, "order_ref", None) == ref]


def test_duplicate_executions_reports_every_execution_twice() -> None:
    sim = SimBroker(flat(2), faults=["duplicate-executions"], config=SimConfig(max_fill_qty=60))
    sim.execute(order("a", qty=100))
    executions = of(ExecutionReported, drain(sim))
    assert [(e.exec_id[-14:], e.qty) for e in executions] == [
        ("00000001.01.01", 60), ("00000001.01.01", 60), ("00000002.01.01", 40), ("00000002.01.01", 40)
    ]
    assert executions[0] == executions[1]
    assert [e.qty for e in sim.query().executions] == [60, 40]  # the truth has each once
    assert sim.position() == 100


def test_reorder_delivers_the_execution_before_the_acknowledgement() -> None:
    sim = SimBroker(flat(2), faults=["reorder"])
    sim.execute(order("m", qty=10))
    sim.execute(limit("never", Action.BUY, 50.0))
    events = drain(sim, steps=1)
    assert for_ref("m", events) == ["OrderSent", "StatusObserved", "ExecutionReported", "OrderAccepted",
                                    "StatusObserved"]
    assert for_ref("never", events) == ["OrderSent"]  # its ack waits for an execution
    sim.execute(CancelOrder("never"))  # ... or for the order to end
    assert for_ref("never", sim.poll()) == ["OrderAccepted", "StatusObserved", "OrderCancelled", "StatusObserved"]


def test_reorder_at_n_hits_only_the_nth_order() -> None:
    sim = SimBroker(flat(1), faults=["reorder@2"])
    sim.execute(order("first", qty=1))
    sim.execute(order("second", qty=1))
    events = drain(sim)
    assert for_ref("first", events)[:2] == ["OrderSent", "OrderAccepted"]
    assert for_ref("second", events)[:3] == ["OrderSent", "StatusObserved", "ExecutionReported"]


def test_status_without_fill_says_filled_with_no_execution_and_the_order_keeps_working() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (100, 100, 98, 98)), faults=["status-without-fill"])
    sim.execute(limit("child", Action.BUY, 99.0, qty=30))
    events = sim.poll()
    assert [(s.status, s.filled, s.remaining) for s in of(StatusObserved, events)] == [
        ("Submitted", 0, 30), ("Filled", 30, 0)
    ]
    assert of(ExecutionReported, events) == []
    sim.next_bar()
    assert [(o.order_ref, o.filled) for o in sim.query().open_orders] == [("child", 0)]
    assert sim.position() == 0
    assert [(e.qty, e.price) for e in of(ExecutionReported, drain(sim))] == [(30, 99.0)]  # really fills later


def test_parent_sized_children_turns_a_70_30_ladder_into_100_100() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (100, 103, 99.8, 102.9)), faults=["parent-sized-children"])
    sim.execute(order("t:entry", qty=100))
    sim.execute(limit("t:tp1", Action.SELL, 101.0, qty=70, parent_ref="t:entry"))
    sim.execute(limit("t:tp2", Action.SELL, 102.0, qty=30, parent_ref="t:entry"))
    accepted = {e.order_ref: e.quantity for e in of(OrderAccepted, sim.poll())}
    assert accepted == {"t:entry": 100, "t:tp1": 100, "t:tp2": 100}
    events = drain(sim)
    assert [(e.order_ref, e.qty) for e in of(ExecutionReported, events)] == [
        ("t:entry", 100), ("t:tp1", 100), ("t:tp2", 100)  # TP1 flattened everything, TP2 went short
    ]
    assert sim.position() == -100


def test_parent_sized_children_at_n_resizes_only_the_nth_child() -> None:
    sim = SimBroker(flat(1), faults=[parse_fault("parent-sized-children@2")])
    sim.execute(limit("p", Action.BUY, 90.0, qty=100))
    sim.execute(limit("c1", Action.SELL, 110.0, qty=70, parent_ref="p"))
    sim.execute(limit("c2", Action.SELL, 111.0, qty=30, parent_ref="p"))
    assert [e.quantity for e in of(OrderAccepted, sim.poll())] == [100, 70, 100]


def test_late_fill_reports_the_cancel_then_the_fill_it_lost_to() -> None:
    sim = SimBroker(flat(2), faults=["late-fill"])
    sim.execute(limit("tp", Action.SELL, 100.5, qty=40))
    sim.step()
    sim.poll()
    sim.execute(CancelOrder("tp"))
    events = sim.poll()
    assert names(events) == ["OrderCancelled", "StatusObserved", "StatusObserved", "ExecutionReported",
                             "CommissionReported"]
    execution = of(ExecutionReported, events)[0]
    assert (execution.order_ref, execution.qty, execution.price) == ("tp", 40, 100.5)
    assert sim.position() == -40
    assert sim.query().open_orders == ()
    sim.execute(CancelOrder("tp"))
    assert [e.code for e in of(CancelRejected, sim.poll())] == [161]  # it is filled, after all


def test_late_fill_hits_only_the_first_cancel_by_default() -> None:
    sim = SimBroker(flat(1), faults=["late-fill"])
    for ref in ("a", "b"):
        sim.execute(limit(ref, Action.BUY, 99.0, qty=10))
    sim.execute(CancelOrder("a"))
    sim.execute(CancelOrder("b"))
    executions = of(ExecutionReported, sim.poll())
    assert [(e.order_ref, e.price) for e in executions] == [("a", 99.0)]  # a limit: at its limit


def test_late_fill_cannot_fill_a_stop_the_price_has_not_reached() -> None:
    """An untriggered stop is held by the broker, not at the exchange: its cancel just lands."""
    sim = SimBroker(flat(1), faults=["late-fill"])
    sim.execute(stop("far", Action.BUY, 120.0))
    sim.execute(CancelOrder("far"))
    events = sim.poll()
    assert of(ExecutionReported, events) == []
    assert "OrderCancelled" in for_ref("far", events)
    assert sim.position() == 0


def test_drop_ack_loses_the_acknowledgement_but_the_order_works() -> None:
    sim = SimBroker(bars((100, 100, 100, 100), (100, 100, 99, 99)), faults=["drop-ack"])
    sim.execute(limit("lost", Action.BUY, 99.5, qty=10))
    sim.execute(limit("fine", Action.BUY, 50.0, qty=10))
    events = sim.poll()
    assert for_ref("lost", events) == ["OrderSent"]
    assert for_ref("fine", events) == ["OrderSent", "OrderAccepted", "StatusObserved"]
    assert [o.order_ref for o in sim.query().open_orders] == ["lost", "fine"]
    assert [e.order_ref for e in of(ExecutionReported, drain(sim))] == ["lost"]


@pytest.mark.parametrize(("spec", "rejected_ref"), [("reject:201", "first"), ("reject:203@2", "second")])
def test_reject_rejects_the_nth_order_with_the_code(spec: str, rejected_ref: str) -> None:
    sim = SimBroker(flat(1), faults=[spec])
    for ref in ("first", "second", "third"):
        sim.execute(order(ref, qty=1))
    events = drain(sim)
    (rejected,) = of(OrderRejected, events)
    assert (rejected.order_ref, rejected.code) == (rejected_ref, parse_fault(spec).code)
    # IB's order: the status says Cancelled, then the error says why
    assert for_ref(rejected_ref, events) == ["OrderSent", "StatusObserved", "OrderRejected"]
    assert [s.status for s in of(StatusObserved, events) if s.order_ref == rejected_ref] == ["Cancelled"]
    assert sim.position() == 2


def test_disconnect_hides_live_executions_until_query_after_the_reconnect() -> None:
    config = SimConfig(outage_seconds=90.0)
    sim = SimBroker(bars(*[(100, 100, 100, 100)] * 2, *[(100, 100.2, 98.5, 99)] * 3), faults=["disconnect:100"],
                    config=config)
    sim.execute(limit("entry", Action.BUY, 99.0, qty=50))
    events = drain(sim, steps=8)  # up to T0+105: lost at T0+100
    assert of(ConnectionLost, events) == [ConnectionLost(T0 + 100)]
    assert not sim.connected
    with pytest.raises(ConnectionError):
        sim.query()
    sim.execute(CancelOrder("entry"))
    sim.execute(order("blind", qty=1))
    assert [(type(e).__name__, e.code) for e in sim.poll()] == [("CancelRejected", 504), ("OrderRejected", 504)]
    events = drain(sim, steps=4)  # the 99 low at T0+150 fills the entry during the outage
    assert of(ExecutionReported, events) == []
    assert sim.position() == 50
    events = drain(sim)
    assert of(ConnectionRestored, events) == [ConnectionRestored(T0 + 190)]
    assert of(ExecutionReported, events) == []
    truth = sim.query(executions_since=T0)
    assert [(e.order_ref, e.qty, e.price, e.time) for e in truth.executions] == [("entry", 50, 99.0, T0 + 150)]
    assert {e.exec_id for e in truth.executions} <= {getattr(e, "exec_id", "") for e in sim.lost_events}


def test_disconnect_takes_an_iso_time() -> None:
    when = dt.datetime(2024, 3, 14, 9, 31, 30, tzinfo=NY)
    sim = SimBroker(flat(3), faults=[f"disconnect:{when.isoformat()}"], config=SimConfig(outage_seconds=10))
    events = drain(sim)
    assert [(type(e).__name__, e.time - T0) for e in events] == [("ConnectionLost", 90.0),
                                                                  ("ConnectionRestored", 100.0)]


def test_correction_re_reports_the_first_execution_under_its_next_revision_and_a_new_price() -> None:
    sim = SimBroker(flat(3), faults=["correction"], config=SimConfig(correction_delay=40.0, correction_ticks=-2))
    sim.execute(order("a", qty=10))
    sim.execute(order("b", qty=10))
    events = drain(sim, steps=1)
    first = of(ExecutionReported, events)[0]
    assert first.exec_id == "00000001.00000001.01.01"
    assert sim.query().executions[0] == first
    events = drain(sim)
    (corrected,) = of(ExecutionReported, events)
    assert (corrected.exec_id, corrected.qty, corrected.price) == ("00000001.00000001.01.02", 10, 99.98)
    assert [c.exec_id for c in of(CommissionReported, events)] == [corrected.exec_id]
    assert [e.exec_id for e in sim.query().executions] == [corrected.exec_id, "00000002.00000002.01.01"]
    assert sim.query().positions[0].avg_cost == pytest.approx((99.98 + 100) / 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("duplicate-executions", Fault(FaultName.DUPLICATE_EXECUTIONS)),
        ("Reorder", Fault(FaultName.REORDER)),
        ("drop-ack@3", Fault(FaultName.DROP_ACK, nth=3)),
        ("reject:201", Fault(FaultName.REJECT, code=201)),
        ("reject:201@2", Fault(FaultName.REJECT, nth=2, code=201)),
        ("disconnect:600", Fault(FaultName.DISCONNECT, after_seconds=600.0)),
        ("disconnect:2024-03-14T10:30:00-04:00",
         Fault(FaultName.DISCONNECT, at_time=dt.datetime(2024, 3, 14, 10, 30, tzinfo=NY).timestamp())),
        ("correction@2", Fault(FaultName.CORRECTION, nth=2)),
    ],
)
def test_parse_fault(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected
    assert parse_fault(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("explode", "unknown fault 'explode'; known faults: duplicate-executions"),
        ("reject", "reject:<IB error code>"),
        ("reject:abc", "reject:<IB error code>"),
        ("drop-ack@0", "@N must be a positive integer"),
        ("reorder:5", "takes no argument"),
        ("disconnect:soon", "disconnect:<seconds after the first bar>"),
        ("disconnect:2024-03-14T10:30:00", "with offset"),
        ("disconnect:60@2", "takes no @N"),
    ],
)
def test_parse_fault_errors_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        parse_fault(text)


def test_every_fault_is_documented() -> None:
    assert set(FAULT_HELP) == set(FaultName)
    assert str(Faults.of(["reorder", "reject:201@2"])) == "reorder reject:201@2"


def scenario(seed: int, faults: tuple[str, ...]) -> list[BrokerEvent]:
    data = load_bars(Path(__file__).resolve().parents[2] / "examples" / "data" / "breakout_day.csv")
    config = SimConfig(max_fill_qty=25, slippage_jitter_ticks=3, ack_latency=0.2, fill_latency=0.1)
    sim = SimBroker(data, config=config, faults=faults, seed=seed)
    sim.execute(order("t:entry", qty=100, kind=OrderType.STOP_LIMIT, stop=100.54, limit=100.7))
    events = []
    protected = False
    while sim.step():
        events += sim.poll()
        if not protected and sim.position() >= 100:
            protected = True
            sim.execute(limit("t:tp", Action.SELL, 101.5, qty=100, oca_group="x", oca_type=1))
            sim.execute(stop("t:sl", Action.SELL, 100.0, qty=100, oca_group="x", oca_type=1))
            sim.execute(order("t:scalp", Action.SELL, qty=60))
    return events + sim.poll()


@pytest.mark.parametrize(
    "faults", [(), ("duplicate-executions", "reorder", "correction", "late-fill", "disconnect:5000")]
)
def test_same_inputs_and_seed_give_the_same_events(faults: tuple[str, ...]) -> None:
    first = scenario(7, faults)
    assert len(first) > 20
    assert first == scenario(7, faults)
    assert first != scenario(8, faults)  # the seed only matters through the configured jitter
