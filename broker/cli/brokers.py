"""The one place a command's broker is chosen: `connect(BrokerChoice)` -> a connection.

`--broker sim` (done): the simulated exchange (`broker.sim_market.SimExchange`) replaying `--bars`
(default: the bundled day; any symbol trades on it), with `--quotes` when given and the faults of
`--sim-fault`. `--broker ib` is wired here when the IB adapter lands; until then it is refused with
exit 3 (the broker cannot be reached). Market data files are checked on load: a bad row, unsorted
or repeated timestamps, a non-finite price or a missing file end in exit 2 naming the option, the
file, the line and the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import click

from broker.cli.options import EXIT_BROKER
from broker.desk import Desk
from broker.desk_sim import SimDriver
from broker.sim import Fault, MarketDataError, load_bars, load_quotes, parse_fault
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day

BROKERS = ("sim", "ib")


class BrokerUnavailable(click.ClickException):
    """The broker cannot be reached (or is not wired yet): exit 3, nothing sent."""

    exit_code = EXIT_BROKER


@attrs.frozen
class BrokerChoice:
    name: str = "sim"
    bars: str | None = None
    quotes: str | None = None
    faults: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ("SIM",)


@attrs.define
class SimConnection:
    exchange: SimExchange
    session: dict[str, Any]
    # a new exchange holds nothing yet (reconcile replays a journal into it); False: it already
    # holds the state to check (a test's prepared exchange)
    fresh: bool = True

    @property
    def name(self) -> str:
        return "sim"

    def driver(self, desk: Desk) -> SimDriver:
        return SimDriver(desk, self.exchange)


def parse_faults(values: Sequence[str]) -> tuple[Fault, ...]:
    faults: list[Fault] = []
    for value in values:
        try:
            faults.append(parse_fault(value))
        except ValueError as exc:
            raise click.BadParameter(f"{value!r}: {exc}", param_hint="--sim-fault") from None
    return tuple(faults)


def _load(path: str, option: str, loader: Any) -> Any:
    if not Path(path).is_file():
        raise click.BadParameter(f"{path}: no such file", param_hint=option)
    try:
        return loader(path)
    except MarketDataError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint=option) from None


def connect(choice: BrokerChoice) -> SimConnection:
    """The connection the options ask for (exit 2 for bad files, 3 for a broker out of reach)."""
    if choice.name == "ib":
        raise BrokerUnavailable("--broker ib: the IB adapter is not wired into the command line yet; "
                                "nothing was sent (use --broker sim)")
    if choice.name != "sim":
        raise click.BadParameter(f"{choice.name!r} is not one of {', '.join(BROKERS)}", param_hint="--broker")
    faults = parse_faults(choice.faults)
    bars = _load(choice.bars, "--bars", load_bars) if choice.bars else load_bars(bundled_day())
    quotes = _load(choice.quotes, "--quotes", load_quotes) if choice.quotes else None
    exchange = SimExchange(bars, symbols=choice.symbols, quotes=quotes, faults=faults)
    session = {"broker": "sim", "bars": str(Path(choice.bars).resolve()) if choice.bars else "bundled",
               "quotes": str(Path(choice.quotes).resolve()) if choice.quotes else None,
               "faults": list(choice.faults), "symbols": list(choice.symbols)}
    return SimConnection(exchange, session)
