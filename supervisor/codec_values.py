"""The codec's container and value decoders (supervisor.codec): each takes a stored JSON value and
returns the decoded one, or raises `Bad` saying what it expected; where it happened (`[2]`,
`['key']`) is added only on the way out of a failure, so a restart's happy path builds no location
string."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

Decoder = Callable[[Any], Any]


class Bad(Exception):  # noqa: N818 - turned into a CodecError naming the place
    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path  # below the field: "[2]", "['key']", ...


def fail(expected: str, got: object) -> Bad:
    return Bad(f"expected {expected}, got {got!r:.100}")


def located(index: object, bad: Bad) -> Bad:
    return Bad(bad.message, f"[{index!r}]{bad.path}")


def sequence_decoder(item: Decoder, kind: type[Any]) -> Decoder:
    def sequence(value: Any) -> Any:
        if not isinstance(value, list):
            raise fail("a list", value)
        try:
            return kind([item(x) for x in value])
        except Bad:
            for i, x in enumerate(value):  # only on a failure: which item
                try:
                    item(x)
                except Bad as bad:
                    raise located(i, bad) from bad.__cause__
            raise

    return sequence


def fixed_tuple_decoder(items: list[Decoder]) -> Decoder:
    def fixed(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != len(items):
            raise fail(f"a list of {len(items)} items", value)
        out = []
        for i, (dec, x) in enumerate(zip(items, value, strict=True)):
            try:
                out.append(dec(x))
            except Bad as bad:
                raise located(i, bad) from bad.__cause__
        return tuple(out)

    return fixed


def dict_decoder(item: Decoder) -> Decoder:
    def mapping(value: Any) -> Any:
        if not isinstance(value, dict):
            raise fail("an object", value)
        out = {}
        for k, v in value.items():
            try:
                out[k] = item(v)
            except Bad as bad:
                raise located(k, bad) from bad.__cause__
        return out

    return mapping


def literal_decoder(allowed: tuple[Any, ...]) -> Decoder:
    def literal(value: Any) -> Any:
        if value in allowed:
            return value
        raise fail(f"one of {allowed!r}", value)

    return literal


def enum_decoder(cls: type[enum.Enum]) -> Decoder:
    members = {m.value: m for m in cls if type(m.value) in (str, int)}  # the stored values, exactly

    def member(value: Any) -> Any:
        found = members.get(value) if type(value) in (str, int) else None
        if found is not None and type(found.value) is type(value):
            return found  # what cls(value) returns, without the enum machinery
        try:
            return cls(value)
        except ValueError:
            raise fail(f"a {cls.__name__} value ({', '.join(repr(m.value) for m in cls)})", value) from None

    return member
