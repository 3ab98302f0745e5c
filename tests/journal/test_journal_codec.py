"""The codec round-trips every registered value exactly and names what is wrong when it cannot.

Values are generated from the classes' own annotations (hypothesis), with the few fields the port
validates (positive prices and quantities, IB's oca types) drawn from their valid ranges; values the
validators still refuse (a limit order without a limit price) are discarded with `assume`.
"""

from __future__ import annotations

import enum
import json
import typing
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from supervisor import codec, events, port

FLOATS = st.floats(allow_nan=False)  # NaN is never equal to itself, so it cannot round-trip by ==
POSITIVE_FLOATS = st.floats(min_value=0.0, exclude_min=True, allow_nan=False)
BY_FIELD: dict[str, st.SearchStrategy[Any]] = {
    "price": POSITIVE_FLOATS,
    "limit_price": POSITIVE_FLOATS,
    "stop_price": POSITIVE_FLOATS,
    "quantity": st.integers(min_value=1, max_value=2**40),
    "qty": st.integers(min_value=1, max_value=2**40),
    "filled": st.integers(min_value=0, max_value=2**40),
    "remaining": st.integers(min_value=0, max_value=2**40),
    "oca_type": st.integers(min_value=0, max_value=3),
}
PORT_AND_EVENT_CLASSES = sorted(
    (cls for cls in codec.registered().values() if cls.__module__ in (port.__name__, events.__name__)),
    key=lambda cls: cls.__name__,
)


def strategy_for_type(tp: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is str:
        return st.text(min_size=1, max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-(2**63), max_value=2**63)
    if tp is float:
        return FLOATS
    if tp is type(None):
        return st.none()
    if origin in (typing.Union, type(int | None)):
        return st.one_of(*(strategy_for_type(a) for a in args))
    if origin is tuple:
        return st.lists(strategy_for_type(args[0]), max_size=3).map(tuple)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return strategy_for_class(tp)
    raise AssertionError(f"no strategy for {tp!r}")


def strategy_for_field(name: str, hint: Any) -> st.SearchStrategy[Any]:
    if name not in BY_FIELD:
        return strategy_for_type(hint)
    if type(None) in typing.get_args(hint):
        return st.none() | BY_FIELD[name]
    return BY_FIELD[name]


def strategy_for_class(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for_field(f.name, hints[f.name]) for f in attrs.fields(cls)}

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        kwargs = {name: draw(strategy) for name, strategy in fields.items()}
        try:
            return cls(**kwargs)
        except ValueError:
            assume(False)
            raise  # pragma: no cover - assume(False) does not return

    return build()


def through_json(value: Any) -> Any:
    return codec.decode(json.loads(json.dumps(codec.encode(value), allow_nan=False)))


@pytest.mark.parametrize("cls", PORT_AND_EVENT_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_port_and_event_class_round_trips_exactly(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(strategy_for_class(cls))
    back = through_json(value)
    assert back == value
    assert repr(back) == repr(value)  # also catches -0.0 vs 0.0, int vs float, list vs tuple


def test_every_class_of_the_port_and_the_events_is_registered() -> None:
    for module in (port, events):
        declared = {obj for obj in vars(module).values() if isinstance(obj, type) and attrs.has(obj)}
        assert declared <= set(codec.registered().values()), module.__name__


def test_the_encoded_form_is_tagged_with_enums_by_value_and_tuples_as_lists() -> None:
    truth = port.BrokerTruth(
        executions=(port.ExecutionReported("T1:entry", 7, "e.1", port.Action.BUY, 70, 101.25, time=1.5),),
    )
    assert codec.encode(truth) == {
        "type": "BrokerTruth",
        "open_orders": [],
        "positions": [],
        "executions": [
            {
                "type": "ExecutionReported",
                "order_ref": "T1:entry",
                "order_id": 7,
                "exec_id": "e.1",
                "action": "BUY",
                "qty": 70,
                "price": 101.25,
                "time": 1.5,
                "symbol": "",
                "perm_id": None,
                "account": "",
            }
        ],
        "time": 0.0,
        "completed_orders": [],
    }


def test_non_finite_floats_are_encoded_as_strict_json() -> None:
    value = port.CommissionReported("e1", float("-inf"))
    encoded = codec.encode(value)
    assert encoded["commission"] == "-Infinity"
    assert through_json(value) == value


@attrs.frozen(kw_only=True)
class PlanLevelForTest:
    price: float
    share: float


@codec.register
@attrs.frozen(kw_only=True)
class PlanForTest:
    """Stands in for the supervisor's TradePlan: registered later, nested values, a mapping."""

    trade_id: str
    side: port.Action
    levels: tuple[PlanLevelForTest, ...]
    tags: dict[str, int] = attrs.field(factory=dict)
    note: str | None = None


codec.register(PlanLevelForTest)


def test_a_class_registered_later_round_trips_with_its_nested_values() -> None:
    plan = PlanForTest(
        trade_id="T9",
        side=port.Action.SELL,
        levels=(PlanLevelForTest(price=0.1 + 0.2, share=0.7), PlanLevelForTest(price=1e-300, share=0.3)),
        tags={"a": 1},
    )
    assert through_json(plan) == plan


def test_registering_is_idempotent_and_refuses_a_second_class_under_a_taken_name() -> None:
    assert codec.register(port.OrderSent) is port.OrderSent

    @attrs.frozen
    class OrderSent:
        x: int

    with pytest.raises(codec.CodecError, match="'OrderSent' is already registered"):
        codec.register(OrderSent)


def test_registering_refuses_non_attrs_classes_and_a_field_named_type() -> None:
    class Plain:
        pass

    @attrs.frozen
    class Typed:
        type: str

    with pytest.raises(codec.CodecError, match="only attrs classes"):
        codec.register(Plain)
    with pytest.raises(codec.CodecError, match="field named 'type'"):
        codec.register(Typed)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "NoSuchEvent", "x": 1}, "unknown type 'NoSuchEvent'"),
        ({"order_ref": "a"}, "no 'type' name"),
        ({"type": "OrderSent", "order_ref": "T1:entry", "order_id": 3}, "OrderSent: missing field 'time'"),
        ({"type": "OrderSent", "order_ref": "T1:entry", "order_id": 3, "time": 1.0, "venue": "X"}, "unknown field"),
        ({"type": "OrderSent", "order_ref": "T1:entry", "order_id": "3", "time": 1.0}, "OrderSent.order_id"),
        ({"type": "OrderSent", "order_ref": "", "order_id": 3, "time": 1.0}, "OrderSent: the stored fields"),
        (
            {"type": "PlaceOrder", "order_ref": "a", "symbol": "X", "action": "HOLD", "order_type": "MKT"},
            "PlaceOrder.action: expected a Action value",
        ),
        (
            {"type": "BrokerTruth", "positions": [{"type": "Position", "symbol": "X"}]},
            r"BrokerTruth.positions\[0\]: Position: missing field 'quantity'",
        ),
        ({"type": "ExitsPlaced", "trade_id": "T", "quantities": [1, "2"]}, r"ExitsPlaced.quantities\[1\]"),
    ],
)
def test_bad_input_raises_a_codec_error_naming_the_type_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(codec.CodecError, match=message):
        codec.decode(data)


def test_a_missing_field_with_a_default_takes_the_default() -> None:
    # a field added later with a default keeps older journals readable
    assert codec.decode({"type": "ConnectionLost"}) == port.ConnectionLost()


def test_encoding_an_unregistered_value_names_it() -> None:
    @attrs.frozen
    class Stranger:
        x: int

    with pytest.raises(codec.CodecError, match="Stranger is not a registered type"):
        codec.encode(Stranger(1))
    with pytest.raises(codec.CodecError, match=r"ExitsPlaced.quantities: cannot encode a object"):
        codec.encode(events.ExitsPlaced(trade_id="T", quantities=(object(),)))  # type: ignore[arg-type]
