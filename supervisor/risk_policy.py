"""`RiskPolicy`: the account's limits, one frozen value, from code, a TOML file or CLI-style values.

How it works: every field is checked on construction and a bad one raises `RiskPolicyError`
naming the field (or, from the command line, the option), the value and, for a file, the file.
`from_toml(path)` reads a whole file (or one of its tables) with `tomllib`; a key that is not a
field is an error naming the key and the file, so a misspelt limit never silently means "no
limit". `from_options({"--max-daily-loss": "500", ...})` parses command-line strings on top of a
base policy (a file's, say); an option left out (None) keeps the base's value.

A limit left at None is not enforced. Money is in the account currency; positions are units
(shares or contracts) per symbol. The one file read in here is `from_toml`'s, when a
caller loads its limits at start-up; `from_toml_text` parses without touching the disk, and
nothing on a decision path (`RiskBook.check`) reads anything but memory.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from supervisor.guards import DEFAULT_MIN_DISTANCE_TICKS


class RiskPolicyError(ValueError):
    """A limit that cannot be used: `field` (or the option) and `value` name it, `source` the file."""

    def __init__(self, field: str, value: object, reason: str, source: str = "") -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason
        self.source = source


def _money(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise RiskPolicyError(attribute.name, value, "must be a finite amount > 0 (or None: no limit)")


def _count(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RiskPolicyError(attribute.name, value, "must be a whole number >= 1 (or None: no limit)")


def _ticks(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RiskPolicyError(attribute.name, value, "must be a whole number of ticks >= 1")


def _hour(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
        raise RiskPolicyError(attribute.name, value, "must be a whole hour from 0 to 23")


def _zone(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    try:
        ZoneInfo(value)
    except (TypeError, ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise RiskPolicyError(attribute.name, value, "is not a known time zone (e.g. America/New_York)") from None


@attrs.frozen(kw_only=True)
class RiskPolicy:
    # quantity x |entry - protective stop| x multiplier, per trade
    max_risk_per_trade: float | None = attrs.field(default=None, validator=_money)
    # units per symbol on a plan's side: the net position held, plus what the open entries on that
    # side may still add, plus the plan's quantity
    max_position: int | None = attrs.field(default=None, validator=_count)
    max_trades_per_day: int | None = attrs.field(default=None, validator=_count)
    # the day's net realized loss (after commissions) that moves the account to `reducing`
    max_daily_loss: float | None = attrs.field(default=None, validator=_money)
    max_open_trades: int | None = attrs.field(default=None, validator=_count)
    # the entry guard's minimum distance of every stop and target from the entry
    min_distance_ticks: int = attrs.field(default=DEFAULT_MIN_DISTANCE_TICKS, validator=_ticks)
    # the exchange clock the trading day is counted on, and the hour at which it rolls
    timezone: str = attrs.field(default="America/New_York", validator=_zone)
    roll_hour: int = attrs.field(default=0, validator=_hour)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in attrs.fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "", base: RiskPolicy | None = None) -> RiskPolicy:
        """Field names to values (as a TOML table gives them); unknown keys are errors."""
        known = cls.fields()
        for key in values:
            if key not in known:
                raise RiskPolicyError(key, values[key], f"is not a risk limit; known: {', '.join(known)}", source)
        try:
            return attrs.evolve(base or cls(), **dict(values))
        except RiskPolicyError as exc:
            raise RiskPolicyError(exc.field, exc.value, exc.reason, source) from None

    @classmethod
    def from_toml(cls, path: str | Path, table: str | None = None) -> RiskPolicy:
        """Read a TOML file: its top level, or `[table]` of it, holds the fields."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RiskPolicyError("path", str(path), f"cannot be read: {exc.strerror or exc}") from None
        return cls.from_toml_text(text, str(path), table)

    @classmethod
    def from_toml_text(cls, text: str, source: str = "<toml>", table: str | None = None) -> RiskPolicy:
        """Parse TOML text; errors name `source` (the file it came from)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RiskPolicyError("path", source, f"is not valid TOML: {exc}") from None
        if table is not None:
            section = data.get(table)
            if not isinstance(section, dict):
                raise RiskPolicyError(table, section, "no such table in the file", source)
            data = section
        return cls.from_mapping(data, source)

    @classmethod
    def from_options(cls, values: Mapping[str, object], base: RiskPolicy | None = None) -> RiskPolicy:
        """Command-line values (`--max-daily-loss 500`): keys spelt as options or as fields, values
        as strings or numbers; None leaves the base's value. Errors name the option."""
        parsed: dict[str, Any] = {}
        option_of: dict[str, str] = {}
        known = cls.fields()
        for key, raw in values.items():
            name = key.lstrip("-").replace("-", "_")
            option = "--" + name.replace("_", "-")
            if name not in known:
                options = ", ".join("--" + f.replace("_", "-") for f in known)
                raise RiskPolicyError(key, raw, f"is not a risk option; known: {options}")
            if raw is None:
                continue
            option_of[name] = option
            parsed[name] = _parse_option(name, option, raw)
        try:
            return attrs.evolve(base or cls(), **parsed)
        except RiskPolicyError as exc:
            raise RiskPolicyError(option_of.get(exc.field, exc.field), exc.value, exc.reason) from None


_TEXT_FIELDS = frozenset({"timezone"})
_INT_FIELDS = frozenset({"max_position", "max_trades_per_day", "max_open_trades", "min_distance_ticks", "roll_hour"})


def _parse_option(name: str, option: str, raw: object) -> Any:
    if not isinstance(raw, str) or name in _TEXT_FIELDS:
        return raw
    text = raw.strip()
    try:
        return int(text) if name in _INT_FIELDS else float(text)
    except ValueError:
        kind = "a whole number" if name in _INT_FIELDS else "a number"
        raise RiskPolicyError(option, raw, f"is not {kind}") from None
