"""The value codec: frozen attrs values <-> JSON-safe dicts, exactly, for the journal.

How it works: every class the journal may store is registered by name (all attrs classes of
`supervisor.port` and `supervisor.events` at import, more with `@register`). `encode` walks the
value: an attrs value becomes `{"type": "<ClassName>", <field>: <encoded value>, ...}`, an enum
its `.value`, a tuple or list a list, a non-finite float the string "NaN"/"Infinity"/"-Infinity"
(so the output is strict JSON), and None, bool, int, str and finite floats stay as they are.
`decode` goes back using the field annotations of the registered class (resolved lazily, once,
into a tree of small decoder functions), so `Action.BUY` comes back from "BUY", a
`tuple[int, ...]` from a list, and a nested value from its own tagged dict.

Round-trip is exact: `decode(json.loads(json.dumps(encode(v)))) == v` for every registered value
(floats survive `json` by their shortest repr). Errors are loud and named: an unknown type name,
a missing required field, an unknown field or a value of the wrong shape raise `CodecError`
naming the type and the field. A missing field that has a default takes the default, so a field
added later with a default keeps old journals readable.

Pure: no I/O, no clock, no global state beyond the registry.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from supervisor import events as _events
from supervisor import port as _port
from supervisor.codec_values import Bad as _Bad
from supervisor.codec_values import Decoder as _Decoder
from supervisor.codec_values import dict_decoder as _dict_decoder
from supervisor.codec_values import enum_decoder as _enum_decoder
from supervisor.codec_values import fail as _fail
from supervisor.codec_values import fixed_tuple_decoder as _fixed_tuple_decoder
from supervisor.codec_values import literal_decoder as _literal_decoder
from supervisor.codec_values import sequence_decoder as _sequence_decoder

__all__ = ["CodecError", "decode", "encode", "is_registered", "register", "registered"]

T = TypeVar("T")
JsonDict = dict[str, Any]


class CodecError(ValueError):
    """A value that cannot be encoded, or a dict that cannot be decoded; the message names where."""


@attrs.frozen
class _Entry:
    cls: type[Any]
    # (field name, constructor keyword, has a default) for every field set by __init__
    fields: tuple[tuple[str, str, bool], ...]


_REGISTRY: dict[str, _Entry] = {}
_NAMES: dict[str, tuple[str, ...]] = {}  # the field names of each registered type, in order
_BY_CLASS: dict[type[Any], str] = {}


def register(cls: type[T]) -> type[T]:
    """Register an attrs class so it can be encoded and decoded; usable as a class decorator.

    Registering the same class twice is a no-op; a different class under a taken name is refused,
    because the journal stores the bare class name.
    """
    if not _is_attrs_class(cls):
        raise CodecError(f"only attrs classes can be registered, got {cls!r}")
    name = cls.__name__
    taken = _REGISTRY.get(name)
    if taken is not None:
        if taken.cls is cls:
            return cls
        raise CodecError(f"type name {name!r} is already registered for {taken.cls.__module__}.{name}")
    declared = attrs.fields(typing.cast(Any, cls))
    fields = tuple((f.name, f.alias or f.name, f.default is not attrs.NOTHING) for f in declared if f.init)
    if any(name_ == "type" for name_, _, _ in fields):
        raise CodecError(f"{name} has a field named 'type', which the codec uses for the class name")
    _REGISTRY[name] = _Entry(cls, fields)
    _NAMES[name] = tuple(field for field, _, _ in fields)
    _BY_CLASS[cls] = name
    return cls


def _is_attrs_class(obj: object) -> bool:
    return isinstance(obj, type) and attrs.has(obj)


def is_registered(cls: type[Any]) -> bool:
    return cls in _BY_CLASS


def registered() -> Mapping[str, type[Any]]:
    """Every registered class by its type name (a copy)."""
    return {name: entry.cls for name, entry in _REGISTRY.items()}


# ---------------------------------------------------------------------------------------------
# encode
# ---------------------------------------------------------------------------------------------

_PLAIN = (str, int, bool, type(None))
_PLAIN_TYPES = frozenset(_PLAIN)


def encode(value: object) -> JsonDict:
    """The JSON-safe dict of a registered attrs value: `{"type": "<ClassName>", ...fields}`."""
    name = _BY_CLASS.get(type(value))
    if name is None:
        raise CodecError(f"{type(value).__qualname__} is not a registered type (use supervisor.codec.register)")
    out: JsonDict = {"type": name}
    plain, isfinite = _PLAIN_TYPES, math.isfinite
    for field in _NAMES[name]:
        item = getattr(value, field)
        kind = type(item)
        if kind in plain or (kind is float and isfinite(item)):  # most fields: stored as they are
            out[field] = item
        else:
            out[field] = _encode_item(item, name, field)
    return out


def _encode_item(item: object, owner: str, field: str) -> Any:
    if isinstance(item, enum.Enum):  # first: an IntEnum is also an int
        return _encode_item(item.value, owner, field)
    if item is None or isinstance(item, (str, int)):
        return item
    if isinstance(item, float):
        if math.isfinite(item):
            return item
        return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
    if isinstance(item, (tuple, list)):
        return [_encode_item(x, owner, field) for x in item]
    if type(item) in _BY_CLASS:
        return encode(item)
    if isinstance(item, dict):
        if not all(isinstance(k, str) for k in item):
            raise CodecError(f"{owner}.{field}: dict keys must be strings, got {list(item)!r}")
        return {k: _encode_item(v, owner, field) for k, v in item.items()}
    raise CodecError(f"{owner}.{field}: cannot encode a {type(item).__qualname__} ({item!r})")


# ---------------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------------
# A field decoder takes the stored value and returns the decoded one, or raises `_Bad` saying what
# it expected; where it happened (`Type.field[2]`) is put together only on the way out of a
# failure, by the decoders that catch it (a restart decodes every checkpoint: the happy path
# builds no location string).


# (field name, constructor keyword, has a default, decoder, the value types its decoder returns as
# they are: those skip the call) of every field set by __init__
_Plan = tuple[tuple[str, str, bool, _Decoder, frozenset[type[Any]]], ...]
_PLANS: dict[type[Any], _Plan] = {}


_ABSENT = object()


def decode(data: Mapping[str, Any]) -> Any:
    """The value `encode` made `data` from. Raises `CodecError` naming the type and the field."""
    if type(data) is not dict and not isinstance(data, Mapping):  # a dict (json's) skips the ABC check
        raise CodecError(f"expected an encoded value (a dict with 'type'), got {type(data).__name__}")
    name = data.get("type")
    entry = _REGISTRY.get(name) if type(name) is str else None
    if entry is None:
        if not isinstance(name, str):
            raise CodecError(f"encoded value has no 'type' name: {dict(data)!r:.200}")
        entry = _REGISTRY.get(name)
        if entry is None:
            raise CodecError(f"unknown type {name!r}: not registered with supervisor.codec")
    plan = _PLANS.get(entry.cls)
    if plan is None:  # (a class without fields has an empty plan: compiled once too)
        plan = _compile(entry)
    kwargs: dict[str, Any] = {}
    get, absent = data.get, _ABSENT
    for field, alias, has_default, decoder, accepts in plan:
        value = get(field, absent)  # one lookup per field (a restart decodes every checkpoint)
        if value is absent:
            if not has_default:
                raise CodecError(f"{name}: missing field {field!r}")
            continue
        if type(value) in accepts:
            kwargs[alias] = value
            continue
        try:
            kwargs[alias] = decoder(value)
        except _Bad as bad:
            raise CodecError(f"{name}.{field}{bad.path}: {bad.message}") from bad.__cause__
    if len(data) > len(kwargs) + 1:
        known = {f for f, _, _ in entry.fields}
        extra = sorted(k for k in data if k != "type" and k not in known)
        if extra:
            raise CodecError(f"{name}: unknown field(s) {', '.join(map(repr, extra))}")
    try:
        return entry.cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{name}: the stored fields do not make a valid value: {exc}") from exc


def _compile(entry: _Entry) -> _Plan:
    try:
        hints = typing.get_type_hints(entry.cls)
    except Exception as exc:  # a NameError or a bad annotation: say which class
        raise CodecError(f"cannot resolve the field annotations of {entry.cls.__qualname__}: {exc}") from exc
    plan = tuple((field, alias, has_default, _decoder_for(hints.get(field, Any)), _accepts(hints.get(field, Any)))
                 for field, alias, has_default in entry.fields)
    _PLANS[entry.cls] = plan
    return plan


def _dec_any(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("type"), str) and value["type"] in _REGISTRY:
        return decode(value)
    return value


def _dec_str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise _fail("a string", value)


def _dec_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise _fail("a boolean", value)


def _dec_int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _fail("an integer", value)


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _dec_float(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value  # an int stored in a float field comes back as that int: equal, and exact
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    raise _fail("a number", value)


def _dec_none(value: Any) -> Any:
    if value is None:
        return None
    raise _fail("null", value)


_IDENTITY: dict[Any, frozenset[type[Any]]] = {
    str: frozenset({str}), bool: frozenset({bool}), int: frozenset({int}), float: frozenset({int, float}),
    type(None): frozenset({type(None)}),
}
_NOTHING: frozenset[type[Any]] = frozenset()


def _accepts(tp: Any) -> frozenset[type[Any]]:
    """The value types the decoder of `tp` returns unchanged (exactly what it would do: an int for
    a float field stays that int, a bool is never an int), so decode need not call it for them."""
    if tp is Any or tp is object:
        return frozenset({str, int, float, bool, type(None), list})  # _dec_any: all but a tagged dict
    if tp in _IDENTITY:
        return _IDENTITY[tp]
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        other = args[0] if args[1] is type(None) else args[1]  # X | None: None first, then X's decoder
        return _accepts(other) | {type(None)} if other in _IDENTITY else frozenset({type(None)})
    return _NOTHING


def _decoder_for(tp: Any) -> _Decoder:
    if tp is Any or tp is object:
        return _dec_any
    simple: dict[Any, _Decoder] = {
        str: _dec_str,
        bool: _dec_bool,
        int: _dec_int,
        float: _dec_float,
        type(None): _dec_none,
    }
    if tp in simple:
        return simple[tp]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(tp, [_decoder_for(a) for a in args])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence_decoder(_decoder_for(args[0]), tuple)
        return _fixed_tuple_decoder([_decoder_for(a) for a in args])
    if origin in (list, typing.List):  # noqa: UP006 - both spellings may appear in annotations
        return _sequence_decoder(_decoder_for(args[0]) if args else _dec_any, list)
    if origin in (dict, typing.Dict):  # noqa: UP006
        return _dict_decoder(_decoder_for(args[1]) if len(args) == 2 else _dec_any)
    if origin is typing.Literal:
        return _literal_decoder(args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_decoder(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _nested_decoder(tp)
    if tp is tuple:
        return _sequence_decoder(_dec_any, tuple)
    if tp is list:
        return _sequence_decoder(_dec_any, list)
    if tp is dict:
        return _dict_decoder(_dec_any)
    raise CodecError(f"the codec cannot decode fields annotated {tp!r}")


def _union_decoder(tp: Any, options: list[_Decoder]) -> _Decoder:
    if len(options) == 2 and _dec_none in options:  # X | None, the common case
        other = options[0] if options[1] is _dec_none else options[1]

        def optional(value: Any) -> Any:
            return None if value is None else other(value)

        return optional

    def union(value: Any) -> Any:
        for option in options:
            try:
                return option(value)
            except _Bad:
                continue
        raise _fail(f"a value of {tp}", value)

    return union


def _nested_decoder(cls: type[Any]) -> _Decoder:
    def nested(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _fail(f"an encoded {cls.__name__}", value)
        try:
            out = decode(value)
        except CodecError as exc:
            raise _Bad(str(exc)) from exc
        if not isinstance(out, cls):
            raise _fail(f"an encoded {cls.__name__}", value.get("type"))
        return out

    return nested


def _register_module(module: types.ModuleType) -> None:
    for obj in vars(module).values():
        if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == module.__name__:
            register(obj)


_register_module(_port)
_register_module(_events)
