"""The one place a command's broker is chosen: `connect(BrokerChoice)` -> a connection.

`--broker sim`: the simulated exchange (`broker.sim_market.SimExchange`) replaying `--bars`
(default: the bundled day; any symbol trades on it), with `--quotes` when given and the faults of
`--sim-fault`. Market data files are checked on load: a bad row, unsorted or repeated timestamps, a
non-finite price or a missing file end in exit 2 naming the option, the file, the line and the value.

`--broker ib`: an `IBLink` holding the `IBConfig` of `--host`, `--port`, `--client-id` and `--live`;
the command connects with `await link.open()` inside its event loop. A command that is not wired
for IB yet says so (exit 3, nothing sent): it passes `wired=("sim",)`. Connecting maps every
failure to the command line's exit codes, in one line and nothing sent: the live guard (a live
port or account without BOTH `--live` and ORDER_SUPERVISOR_LIVE=1) is bad input, exit 2 naming
both; a gateway out of reach, a timeout or a client id in use is exit 3.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from broker.cli.options import EXIT_BROKER
from broker.desk import Desk
from broker.desk_sim import SimDriver
from broker.sim import Fault, MarketDataError, load_bars, load_quotes, parse_fault
from broker.sim_market import SimExchange
from broker.sim_session import bundled_day

if TYPE_CHECKING:
    from broker.ib import IBBroker, IBConfig

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
    # --broker ib
    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    live: bool = False


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


@attrs.frozen
class IBLink:
    """`--broker ib`: where to connect; `await open()` connects (inside the command's event loop)."""

    config: IBConfig
    session: dict[str, Any]

    @property
    def name(self) -> str:
        return "ib"

    def where(self) -> str:
        return f"{self.config.host}:{self.config.port} (client id {self.config.client_id})"

    async def open(self) -> IBBroker:
        """A connected adapter, or the command's error: exit 2 for the live guard, 3 out of reach."""
        from broker.ib import ClientIdInUseError, IBBroker, LiveTradingRefusedError

        broker = IBBroker(config=self.config)
        ib_logs = logging.getLogger("ib_async")
        level = ib_logs.level
        ib_logs.setLevel(logging.CRITICAL)  # a failed connect is said once, by the line below
        try:
            await broker.connect()
        except LiveTradingRefusedError as exc:
            broker.close()
            raise click.BadParameter(f"{exc}; nothing was sent", param_hint="--live") from None
        except ClientIdInUseError as exc:
            broker.close()
            raise BrokerUnavailable(f"{exc} (--client-id); nothing was sent") from None
        except (TimeoutError, ConnectionError, OSError) as exc:
            broker.close()
            reason = str(exc) or type(exc).__name__
            raise BrokerUnavailable(f"cannot connect to IB at {self.where()}: {reason} (is TWS or IB Gateway "
                                    f"running with the API enabled on that port?); nothing was sent") from None
        finally:
            ib_logs.setLevel(level)
        return broker


def ib_link(symbol: str, host: str | None, port: int | None, client_id: int | None, live: bool | None) -> IBLink:
    """`--broker ib` from the command's options (their defaults filled in here)."""
    choice = BrokerChoice("ib", symbols=(symbol,), host=host or "127.0.0.1", port=port or 7497,
                          client_id=client_id if client_id is not None else 1, live=bool(live))
    link: IBLink = connect(choice, wired=("sim", "ib"))
    return link


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


def connect(choice: BrokerChoice, wired: Sequence[str] = ("sim",)) -> Any:
    """The connection the options ask for: a `SimConnection`, or an `IBLink` when the command is
    `wired` for IB (exit 2 for bad files, 3 for a broker the command cannot use)."""
    if choice.name == "ib":
        if "ib" not in wired:
            raise BrokerUnavailable("--broker ib is not wired into this command yet; nothing was sent "
                                    "(use --broker sim)")
        from broker.ib import IBConfig

        config = IBConfig(host=choice.host, port=choice.port, client_id=choice.client_id, allow_live=choice.live)
        session = {"broker": "ib", "host": choice.host, "port": choice.port, "client_id": choice.client_id,
                   "symbols": list(choice.symbols)}
        return IBLink(config, session)
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
