"""The compact form of a registered value: its fields as a list, in declaration order, nested
values the same way. For the values a restart decodes by the thousand (a checkpoint per closed
trade), where the tagged form's field names and type tags are most of the text and most of the
decoding work.

How it works: `pack(value)` turns a registered attrs value into a list of its `__init__` fields
(nested registered values become lists too; tuples stay tuples, enums and floats as they are:
`codec.encode` of whatever holds the list makes them strict JSON, exactly as for any field).
`unpack(cls, data)` goes back using `cls`'s field annotations, compiled once into positional
decoders (the codec's own decoders for every field that is not a nested value), and builds each
value with its class's `__init__`, so every validator runs as it does on the tagged path. Values
with only plain fields (an `Instrument`, repeated in every order of a trade) are built once per
`unpack` call and shared: they are frozen, so equal and interchangeable. Errors are `CodecError`s
naming the type and the field; a list shorter than the fields takes the defaults of the missing
trailing fields (a field added later with a default keeps old checkpoints readable), a longer
one is refused.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

import attrs

from supervisor import codec
from supervisor.codec import CodecError
from supervisor.codec_values import Bad, fail, located

T = TypeVar("T")

# A positional decoder takes (stored value, the values shared within this unpack call).
_Positional = typing.Callable[[Any, dict[Any, Any]], Any]
# (decoder, value types it returns unchanged, has a default) per init field, and whether every
# field is plain (the value can then be shared within one unpack call)
_Plan = tuple[tuple[tuple[_Positional, frozenset[type[Any]], bool], ...], bool]
_PLANS: dict[type[Any], _Plan] = {}
_FIELDS: dict[type[Any], tuple[str, ...]] = {}
_ALIASES: dict[type[Any], tuple[str, ...]] = {}  # the __init__ keywords (some classes are kw_only)


def pack(value: object) -> list[Any]:
    """The fields of a registered attrs value as a list (nested registered values as lists)."""
    cls = type(value)
    if not codec.is_registered(cls):
        raise CodecError(f"{cls.__qualname__} is not a registered type (use supervisor.codec.register)")
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in attrs.fields(typing.cast(Any, cls)) if f.init)
    return [_pack_item(getattr(value, name)) for name in names]


def _pack_item(item: Any) -> Any:
    if type(item) in (str, int, float, bool) or item is None:
        return item
    if isinstance(item, tuple | list):
        return [_pack_item(x) for x in item]
    if codec.is_registered(type(item)):
        return pack(item)
    return item  # an enum, a dict: codec.encode of the holder handles it


def unpack(cls: type[T], data: Any) -> T:
    """The `cls` value `pack` made `data` from. Raises `CodecError` naming the type and field."""
    try:
        return typing.cast(T, _nested(cls)(data, {}))
    except Bad as bad:
        raise CodecError(f"{cls.__name__}{bad.path}: {bad.message}") from bad.__cause__


def _plan(cls: type[Any]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        fields = [f for f in attrs.fields(cls) if f.init]
        decoders = []
        for f in fields:
            tp = hints.get(f.name, Any)
            decoders.append((_decoder(tp), _accepts(tp), f.default is not attrs.NOTHING))
        plain = all(not _holds_values(hints.get(f.name, Any)) for f in fields)
        plan = _PLANS[cls] = (tuple(decoders), plain)
        _FIELDS[cls] = tuple(f.name for f in fields)
        _ALIASES[cls] = tuple(f.alias or f.name for f in fields)
    return plan


def _holds_values(tp: Any) -> bool:
    """Does a field of this type hold (or may it hold) a nested attrs value?"""
    if isinstance(tp, type) and attrs.has(tp):
        return True
    return any(_holds_values(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)


def _accepts(tp: Any) -> frozenset[type[Any]]:
    return frozenset() if _holds_values(tp) else codec._accepts(tp)


def _decoder(tp: Any) -> _Positional:
    if not _holds_values(tp):
        plain = codec._decoder_for(tp)
        return lambda value, shared: plain(value)
    if isinstance(tp, type):
        return _nested(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = _decoder(args[0] if args[1] is type(None) else args[1])
        return lambda value, shared: None if value is None else inner(value, shared)
    if origin in (tuple, list) and (len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)):
        item, kind = _decoder(args[0]), origin

        def sequence(value: Any, shared: dict[Any, Any]) -> Any:
            if not isinstance(value, list):
                raise fail("a list", value)
            out = []
            for i, x in enumerate(value):
                try:
                    out.append(item(x, shared))
                except Bad as bad:
                    raise located(i, bad) from bad.__cause__
            return kind(out)

        return sequence
    raise CodecError(f"the compact form cannot hold fields annotated {tp!r}")


_FAST: dict[type[Any], _Positional] = {}


def _nested(cls: type[Any]) -> _Positional:
    """The positional decoder of `cls`: a function generated for its fields (as attrs generates
    `__init__`), for a list of exactly its fields that decodes cleanly; anything else (a shorter
    list, a bad field) goes the general way, `_general`, which names what is wrong."""

    def nested(value: Any, shared: dict[Any, Any]) -> Any:
        fast = _FAST.get(cls)
        if fast is None:
            fast = _FAST[cls] = _generate(cls)
        return fast(value, shared)

    return nested


def _generate(cls: type[Any]) -> _Positional:
    fields, plain = _plan(cls)
    general = _general(cls)
    names: dict[str, Any] = {"cls": cls, "general": general, "Bad": Bad}
    lines = ["def fast(value, shared):",
             f"    if type(value) is not list or len(value) != {len(fields)}:",
             "        return general(value, shared)"]
    if plain:
        lines += ["    try:", "        key = (cls, *value)", "        found = shared.get(key)",
                  "    except TypeError:", "        key = found = None",
                  "    if found is not None:", "        return found"]
    xs = [f"x{i}" for i in range(len(fields))]
    lines += ["    try:", f"        {', '.join(xs)}{',' if len(xs) == 1 else ''} = value" if xs else "        pass"]
    hints = typing.get_type_hints(cls)
    for i, ((decoder, accepts, _), name) in enumerate(zip(fields, _FIELDS[cls], strict=True)):
        tp = hints.get(name, Any)
        names[f"a{i}"] = accepts
        if _holds_values(tp):
            names[f"d{i}"], call = decoder, f"d{i}(x{i}, shared)"
        else:  # the codec's decoder itself, without the positional wrapper
            names[f"d{i}"], call = codec._decoder_for(tp), f"d{i}(x{i})"
            item = _plain_items(tp)
            if item:  # a tuple of plain values (take-profits, exec ids): checked and made here
                names[f"i{i}"] = item
                lines.append(f"        if type(x{i}) is list and all([type(v) in i{i} for v in x{i}]): "
                             f"x{i} = tuple(x{i})")
                lines.append(f"        else: x{i} = {call}")
                continue
        if accepts:
            lines.append(f"        if type(x{i}) not in a{i}: x{i} = {call}")
        else:
            lines.append(f"        x{i} = {call}")
    call = ", ".join(f"{alias}=x{i}" for i, alias in enumerate(_ALIASES[cls]))
    lines += [f"        out = cls({call})", "    except (Bad, TypeError, ValueError):",
              "        return general(value, shared)  # names what is wrong"]
    if plain:
        lines += ["    if key is not None:", "        shared[key] = out"]
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<compact {cls.__name__}>", "exec"), names)  # our own source, as attrs does
    return typing.cast(_Positional, names["fast"])


def _plain_items(tp: Any) -> frozenset[type[Any]]:
    """For `tuple[X, ...]` of a plain X, the item types X's decoder returns unchanged (else empty)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis and not _holds_values(args[0]):
        return codec._accepts(args[0])
    return frozenset()


def _general(cls: type[Any]) -> _Positional:
    def nested(value: Any, shared: dict[Any, Any]) -> Any:
        fields, plain = _plan(cls)
        if not isinstance(value, list) or len(value) > len(fields):
            raise fail(f"a packed {cls.__name__} (a list of at most {len(fields)} fields)", value)
        key = (cls, *value) if plain else None
        if key is not None:
            try:
                found = shared.get(key)
            except TypeError:  # a list among the fields: not shared
                key = None
            else:
                if found is not None:
                    return found
        args = []
        for i, x in enumerate(value):
            decoder, accepts, _ = fields[i]
            if type(x) in accepts:
                args.append(x)
                continue
            try:
                args.append(decoder(x, shared))
            except Bad as bad:
                raise Bad(bad.message, f".{_FIELDS[cls][i]}{bad.path}") from bad.__cause__
        missing = [_FIELDS[cls][i] for i in range(len(value), len(fields)) if not fields[i][2]]
        if missing:
            raise Bad(f"missing field {missing[0]!r}", f" ({cls.__name__})")
        try:
            out = cls(**dict(zip(_ALIASES[cls], args, strict=False)))
        except (TypeError, ValueError) as exc:
            raise Bad(f"the stored fields do not make a valid {cls.__name__}: {exc}") from exc
        if key is not None:
            shared[key] = out
        return out

    return nested
