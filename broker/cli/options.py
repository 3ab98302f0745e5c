"""Option types and parsers shared by the commands: every bad value ends in exit 2 naming the option.

- `Number(...)`: a float that must be finite (no `inf`, no `nan`) and within bounds, e.g.
  `POSITIVE_PRICE`, `NON_NEGATIVE` (click's own `float` accepts `inf` and `nan`).
- `Count(...)`: a whole number within bounds (`--qty 0` is refused).
- `PriceList`: `195-198-205` or `195,198,205` (the seed's dashes, or commas), each a positive finite
  price (`--tp` also takes `auto` and `none`); `Parts`: `60-30-10` whole numbers.
- `breakout_tokens(tokens)`: the operator's token style, `AAPL level=190 qty=100 tp=195-198-205
  sl=187 tp_alloc=60-30-10`, and the shorthand `XRTX 0.42 1000 tp-2 sl=0.37`, into option values.
- `plan_error(exc)`: a `PlanError` as a `click.BadParameter` naming the option it came from.
- `ib_options`: the `--broker ib` options every command wired for IB takes (`--host`, `--port`,
  `--client-id`, `--live`, `--idle-timeout`), all defaulting to None so a command can tell they were
  given; `one_broker(...)` refuses the options of the broker not chosen, by name (exit 2).

Exit codes of every command (documented in the README): 0 ok (or a watcher that expired: nothing
was sent), 2 bad input (nothing sent), 3 the broker refused or could not be reached, 4 an invariant
broke during the run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from supervisor.plan import PlanError

EXIT_OK, EXIT_BAD_INPUT, EXIT_BROKER, EXIT_INVARIANT = 0, 2, 3, 4


class Number(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    name = "number"

    def __init__(self, *, minimum: float | None = None, above: float | None = None) -> None:
        self.minimum, self.above = minimum, above

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.above is not None and not number > self.above:
            self.fail(f"{value!r} must be greater than {self.above:g}", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value!r} must be at least {self.minimum:g}", param, ctx)
        return number


class Count(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    name = "count"

    def __init__(self, minimum: int = 1, maximum: int | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not re.fullmatch(r"[+-]?\d+", text):
                self.fail(f"{value!r} is not a whole number", param, ctx)
            number = int(text)
        if number < self.minimum or (self.maximum is not None and number > self.maximum):
            bound = f"{self.minimum} to {self.maximum}" if self.maximum is not None else f"at least {self.minimum}"
            self.fail(f"{value!r} must be {bound}", param, ctx)
        return number


class PriceList(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """`195-198-205` or `195,198,205`: positive finite prices (`auto` and `none` pass through as is
    where allowed: automatic take-profits, or none at all)."""

    name = "prices"

    def __init__(self, allow_auto: bool = False, allow_none: bool = False) -> None:
        self.allow_auto, self.allow_none = allow_auto, allow_none

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        if self.allow_auto and text.lower() == "auto":
            return "auto"
        if self.allow_none and text.lower() == "none":
            return "none"
        prices: list[float] = []
        for part in re.split(r"[-,]", text):
            price = POSITIVE_PRICE.convert(part, param, ctx) if part.strip() else None
            if price is None:
                self.fail(f"{text!r} is not a list of prices like 195-198-205", param, ctx)
            prices.append(price)
        return tuple(prices)


class Parts(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """`60-30-10` or `60,30,10`: positive whole numbers."""

    name = "parts"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        return tuple(Count(1).convert(part, param, ctx) for part in re.split(r"[-,]", text))


POSITIVE_PRICE = Number(above=0)
NON_NEGATIVE = Number(minimum=0)
POSITIVE_SECONDS = Number(above=0)
QUANTITY = Count(1)


# the option each setup field is given by (PlanError.field -> option)
SETUP_OPTIONS = {
    "level": "--level", "qty": "--qty", "tp": "--tp", "tp_count": "--tp-count", "sl": "--sl",
    "tp_alloc": "--tp-alloc", "rule": "--rule", "max_bars": "--max-bars", "quote_age": "--quote-age",
    "limit_offset": "--limit-offset", "atr_bars": "--atr-bars", "stop_updates": "--stop-updates",
    "rth": "--rth", "timezone": "--timezone", "fast_offset": "--fast-offset", "watch_after": "--watch-after",
    "trade_id": "--trade-id", "symbol": "SYMBOL", "targets_crossed": "--targets-crossed",
}


def plan_error(exc: PlanError) -> click.BadParameter:
    field = exc.field.split("[")[0]
    return click.BadParameter(str(exc), param_hint=SETUP_OPTIONS.get(field, field))


# -- the token style ------------------------------------------------------------------------------

TOKEN_KEYS = {
    "level": "level", "qty": "qty", "tp": "tp", "sl": "sl", "tp_alloc": "tp_alloc", "tp_count": "tp_count",
    "rule": "rule", "entry": "entry", "tif": "tif", "max_bars": "max_bars", "quote_age": "quote_age",
    "account": "account", "trade_id": "trade_id", "side": "side", "rth": "rth", "outside_rth": "outside_rth",
    "stop_updates": "stop_updates", "fast": "fast", "fast_offset": "fast_offset", "limit_offset": "limit_offset",
    "watch_after": "watch_after", "exit_mode": "exit_mode", "tp_exec": "exit_mode",
    "targets_crossed": "targets_crossed",
}


def breakout_tokens(tokens: Sequence[str]) -> tuple[str, dict[str, str]]:
    """`SYMBOL [LEVEL] [QTY] [tp-N] [key=value ...]` -> (symbol, {option name: raw value}).

    Positional numbers are the level, then the quantity; `tp-2` means `tp=auto tp_count=2`. Unknown
    keys and repeated keys are errors naming the token."""
    if not tokens:
        raise click.UsageError("give a SYMBOL, e.g. breakout arm AAPL level=190 qty=100 tp=195 sl=187")
    symbol, *rest = tokens
    if "=" in symbol or not re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-]{0,11}", symbol):
        raise click.BadParameter(f"{symbol!r} is not a symbol", param_hint="SYMBOL")
    values: dict[str, str] = {}
    positional = ["level", "qty"]

    def put(key: str, value: str, token: str) -> None:
        if key in values:
            raise click.BadParameter(f"{token!r}: {key} is given twice", param_hint=f"{key}=")
        values[key] = value

    for token in rest:
        shorthand = re.fullmatch(r"tp-(\d+)", token.lower())
        if shorthand:
            put("tp", "auto", token)
            put("tp_count", shorthand.group(1), token)
        elif "=" in token:
            key, _, value = token.partition("=")
            name = TOKEN_KEYS.get(key.strip().lower().replace("-", "_"))
            if name is None:
                known = ", ".join(sorted(set(TOKEN_KEYS)))
                raise click.BadParameter(f"{token!r}: unknown key {key!r} (known: {known})", param_hint=f"{key}=")
            put(name, value.strip(), token)
        elif positional:
            put(positional.pop(0), token, token)
        else:
            raise click.BadParameter(f"{token!r}: a third positional value (use key=value)", param_hint="TOKENS")
    return symbol.upper(), values


# -- the IB connection options ----------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])

_IB_OPTIONS = (
    click.option("--host", default=None, help="ib: the TWS / IB Gateway host  [default: 127.0.0.1]"),
    click.option("--port", type=click.IntRange(1, 65535), default=None,
                 help="ib: the API port (paper: TWS 7497, Gateway 4002; live 7496 / 4001 need --live)  "
                      "[default: 7497]"),
    click.option("--client-id", type=click.IntRange(0, 2**31 - 1), default=None,
                 help="ib: the API client id  [default: 1]"),
    click.option("--live", is_flag=True, default=None,
                 help="ib: allow a live port or account; also needs the environment variable ORDER_SUPERVISOR_LIVE=1"),
    click.option("--idle-timeout", type=Number(above=0), default=None,
                 help="ib: seconds without a bar update before the market data counts as ended  [default: 300]"),
)


def ib_options(command: F) -> F:
    for option in reversed(_IB_OPTIONS):
        command = option(command)
    return command


def one_broker(broker: str, ib: Mapping[str, object], sim: Mapping[str, object]) -> None:
    """Options of the broker not chosen are refused by name (exit 2), never silently ignored."""
    other, given = ("ib", ib) if broker == "sim" else ("sim", sim)
    for option, value in given.items():
        if value is not None:
            raise click.BadParameter(f"is for --broker {other} (this run is --broker {broker})", param_hint=option)
