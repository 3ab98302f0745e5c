"""`order-supervisor tws-sim`: a local TWS-protocol gateway over the simulated exchange.

It serves until interrupted (Ctrl-C or SIGTERM end it cleanly, exit 0). Bad input (a missing or
malformed bars file, an unknown fault, a port in use) ends it with exit code 2 and a message naming
the option and the value, before anything listens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from broker.cli.run import _fault_help, _parse_faults

if TYPE_CHECKING:
    from broker.sim import Bar
    from broker.tws import TwsSimServer


def _load(path: str | None) -> list[Bar]:
    from broker.sim import MarketDataError, load_bars
    from broker.sim_session import bundled_day

    try:
        return load_bars(path if path is not None else bundled_day())
    except MarketDataError as exc:
        raise click.BadParameter(str(exc), param_hint="--bars") from None
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--bars") from None


def _watch_stdin(server: TwsSimServer, loop: asyncio.AbstractEventLoop) -> None:
    """Manual clock: every line read on stdin moves the market one bar (EOF: it stays put)."""
    if sys.stdin is None or sys.stdin.closed:
        return

    def on_line() -> None:
        line = sys.stdin.readline()
        if not line:
            loop.remove_reader(sys.stdin.fileno())
            return
        if server.advance_bars(1):
            click.echo(f"bar closed; clock at {_clock(server)}")
        else:
            click.echo("the data has ended")

    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        loop.add_reader(sys.stdin.fileno(), on_line)


def _clock(server: TwsSimServer) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(server.engine.exchange.config.timezone)
    return dt.datetime.fromtimestamp(server.now(), tz).strftime("%Y-%m-%d %H:%M:%S %Z")


async def _serve(server: TwsSimServer, describe: str) -> None:
    await server.start()
    server.step()  # the market opens: its first price is there for the first client to see
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"TWS simulator listening on {server.host}:{server.port} (server version 176, account "
               f"{server.engine.account}); {describe}")
    if server.speed == 0:
        _watch_stdin(server, loop)
    try:
        await stop.wait()
    finally:
        await server.close()
    click.echo("TWS simulator stopped")


@click.command("tws-sim")
@click.option("--port", type=click.IntRange(0, 65535), default=7497, show_default=True,
              help="TCP port to listen on (7497: TWS paper; 0: any free port, printed on start)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--bars", "bars_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="bars to replay (timestamp,open,high,low,close,volume)  [default: the bundled breakout day]")
@click.option("--sim-fault", "sim_faults", multiple=True, metavar="NAME", help=_fault_help())
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="bars per second of wall-clock time; 0: manual, each line on stdin (Enter) moves one bar")
@click.option("--client-id-limit", type=click.IntRange(min=1), default=32, show_default=True,
              help="how many API clients may be connected at once (IB: 32)")
@click.option("--account", default="DU1234567", show_default=True, help="the managed (paper) account id")
@click.option("--commission-delay", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="market seconds between an execution and its commission report")
@click.option("--outage", type=click.Choice(["notice", "drop"]), default="notice", show_default=True,
              help="the disconnect fault as IB's 1100/1102 notices, or as dropped sockets")
@click.option("--max-fill-qty", type=click.IntRange(min=1), default=None,
              help="the most one execution may carry: larger orders fill in pieces")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--verbose", is_flag=True, help="log every connection and refused request to stderr")
def tws_sim(*, port: int, host: str, bars_path: str | None, sim_faults: Sequence[str], speed: float,
            client_id_limit: int, account: str, commission_delay: float, outage: str, max_fill_qty: int | None,
            seed: int, verbose: bool) -> None:
    """Serve the TWS socket protocol on HOST:PORT, backed by the simulated exchange, so any
    ib_async bot connects to it as to TWS or IB Gateway and trades any stock symbol on replayed bars.

    \b
    Example: rehearse a bot against the bundled day at 5 bars a second, with a rejected 2nd order:
        order-supervisor tws-sim --port 7497 --speed 5 --sim-fault reject:201@2
    then, in the bot: IB().connect("127.0.0.1", 7497, clientId=1)
    """
    from broker.sim import SimConfig
    from broker.tws import TwsSimServer

    faults = _parse_faults(sim_faults)
    day = _load(bars_path)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = TwsSimServer(day, faults=faults, config=SimConfig(max_fill_qty=max_fill_qty), seed=seed, host=host,
                          port=port, speed=speed, account=account, commission_delay=commission_delay,
                          client_limit=client_id_limit, outage=outage)
    source = bars_path or "the bundled day"
    pace = f"{speed:g} bars/s" if speed > 0 else "manual (Enter moves one bar)"
    describe = f"{len(day)} bars from {source}, clock {pace}, faults: {' '.join(sim_faults) or 'none'}"
    try:
        asyncio.run(_serve(server, describe))
    except OSError as exc:  # cannot listen: the port is taken, or the address is not ours
        raise click.BadParameter(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                                 param_hint="--port") from None


COMMANDS = [tws_sim]
