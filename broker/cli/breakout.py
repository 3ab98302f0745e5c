"""`order-supervisor breakout arm`: arm one breakout watcher, show its legs live, print the audit.

The same setup is read from options (`--level 190 --qty 100 --tp 195-198-205 --sl 187`) or from the
operator's tokens (`AAPL level=190 qty=100 tp=195-198-205 sl=187 tp_alloc=60-30-10`, or the
shorthand `XRTX 0.42 1000 tp-2 sl=0.37`); `build_setup` turns either into a validated
`BreakoutSetup` (the console uses it too). Then: connect (`brokers.connect`, the one place the broker
is chosen), open the journal (`--journal`, or a temporary one), print the plan, arm, run with the
live table (plain lines when not a terminal), and print the audit of the trade from the journal.
On `--broker sim` the simulated day is replayed step by step (`SimDriver`); on `--broker ib` the
same desk runs on TWS / IB Gateway inside an event loop (`broker.ib.desk_driver.IBDeskDriver`):
1-minute bars from the adapter, watched from `--watch-after` minutes after the regular open, until
the trade is over, the session closes or the market data stops (`--idle-timeout`).
Exit codes: 0 closed and flat, or expired with nothing sent; 2 bad input; 3 the broker refused (a
rejected order) or is out of reach; 4 an invariant broke (a mismatch event, or shares left held).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from broker.cli import options as opt
from broker.cli.controls import control_options, controls_from
from broker.cli.options import EXIT_BROKER, EXIT_INVARIANT, EXIT_OK
from broker.cli.setup import build_setup, merge_values
from strategies.health import HealthPolicy


@contextlib.contextmanager
def journal_file(path: str | None) -> Iterator[Path]:
    """`--journal PATH`, or a temporary journal removed afterwards."""
    if path is not None:
        yield Path(path)
        return
    folder = tempfile.mkdtemp(prefix="order-supervisor-")
    try:
        yield Path(folder) / "journal.sqlite"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# a bar's age on IB is not checked yet (the stall monitor is fed but not asked): ten years
_IB_HEALTH = HealthPolicy(bar_max_age=10 * 365 * 86400.0)


def open_desk(path: Path, connection: Any, broker: Any = None, market: Any = None, *, risk: Any = None,
              bars: Any = None, health: Any = None) -> Any:
    """The desk on `connection`'s broker and market (the sim's exchange is both), journaled at `path`;
    `risk`: the operator's controls (`Controls.factory(...)`) put in front of its supervisor; `bars`:
    where a stalled stream is asked for again (default the market, when it takes `subscribe_bars`)."""
    from broker.desk import Desk
    from supervisor.journal import JournalError

    if path.exists() and not path.is_file():
        raise click.BadParameter(f"{path} is not a file", param_hint="--journal")
    try:
        return Desk.open(path, broker or connection.exchange, market or connection.exchange,
                         session=connection.session, risk=risk, bars=bars, health=health)
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--journal") from None


def show_health(view: Any, timezone: str) -> Callable[[Any], None]:
    """A desk listener printing the market-data health events as event lines (`format_event`):
    above the live table on a terminal (through its console), a plain line otherwise."""
    from broker.report import HEALTH_EVENTS, format_event

    def show(event: Any) -> None:
        if not isinstance(event, HEALTH_EVENTS):
            return
        line = format_event(event, timezone)
        console = getattr(getattr(view, "live", None), "console", None)
        if console is not None:
            console.print(line, markup=False, highlight=False)
        else:
            click.echo(line)

    return show


def outcome(trade_id: str, records: list[Any], audit: Any, *, ran_to_end: bool) -> tuple[int, str]:
    """The exit code and the closing line of a run, from the journal and its audit."""
    from broker.audit import MISMATCH_EVENTS
    from supervisor import events as ev

    rejected = [r.value for r in records if r.kind == "supervisor_event" and isinstance(r.value, ev.LegRejected)
                and r.value.trade_id == trade_id]
    flattening = next((r.seq for r in records if r.kind == "supervisor_event"
                       and isinstance(r.value, ev.FlattenRequested) and r.value.trade_id == trade_id), None)
    # a flatten cancels the stops before its market order fills: that gap is the flatten's own
    # (the run is still judged on ending flat below), every other mismatch breaks a promise
    broken = [r.value for r in records if r.kind == "supervisor_event"
              and isinstance(r.value, MISMATCH_EVENTS) and not isinstance(r.value, ev.LateFill)
              and r.value.trade_id in (trade_id, "")
              and not (isinstance(r.value, ev.CoverageGap) and flattening is not None and r.seq > flattening)]
    watcher = next((w for w in audit.watchers if w.trade_id == trade_id), None)
    if not audit.trades or (audit.trades[0].entry_filled == 0 and audit.trades[0].state in ("aborted", "armed")):
        if rejected:
            return EXIT_BROKER, f"REFUSED: the broker rejected {rejected[0].leg} ({rejected[0].code}): nothing held"
        status = watcher.status if watcher is not None else "expired"
        if status == "fired" and audit.trades:
            entry = audit.trades[0].legs[0]
            return EXIT_OK, f"NOT FILLED: the entry ended {entry.state} with nothing executed: nothing held"
        if status == "watching":
            return EXIT_OK, "WATCHING: stopped before the breakout; the watcher is in the journal"
        return EXIT_OK, f"{status.upper()}: {watcher.detail if watcher else 'nothing sent'}"
    trade = audit.trades[0]
    if broken:
        kinds = sorted({type(b).__name__ for b in broken})
        return EXIT_INVARIANT, f"INVARIANT: {', '.join(kinds)} during the run (see the audit above)"
    if rejected:
        return EXIT_BROKER, f"REFUSED: the broker rejected {', '.join(sorted({r.leg for r in rejected}))}"
    if trade.position and ran_to_end:
        return EXIT_INVARIANT, f"INVARIANT: the run ended with {trade.position} shares held"
    if trade.position:
        return EXIT_OK, f"STOPPED: {trade.position} shares held, under {trade.state} exits"
    return EXIT_OK, f"OK: {trade.state}, flat, realized P&L {trade.realized_pnl:.2f}"


@click.group()
def breakout() -> None:
    """Breakout watchers: arm one on a broker and supervise its trade.

    \b
    Example:
      order-supervisor breakout arm AAPL level=190 qty=100 tp=195-198-205 sl=187
    """


@breakout.command("arm")
@click.argument("tokens", nargs=-1)
@click.option("--level", type=opt.POSITIVE_PRICE, help="the breakout level")
@click.option("--qty", type=opt.QUANTITY, help="shares to enter")
@click.option("--side", type=click.Choice(["long", "short"]), help="long (default) or a short breakdown")
@click.option("--tp", type=opt.PriceList(allow_auto=True, allow_none=True),
              help="take-profits 195-198-205 (1 to 3), auto, or none: no take-profit, the stop alone holds every "
                   "share (--sl required: every filled share is kept under a stop)")
@click.option("--tp-count", type=opt.Count(1, 3), help="with --tp auto: how many levels (1-3)")
@click.option("--tp-alloc", type=opt.Parts(), help="split: shares (sum = --qty) or percent (sum = 100)")
@click.option("--sl", type=opt.PriceList(), help="stop: one price, or one per level")
@click.option("--stop-updates", type=opt.PriceList(), help="stop prices after TP1, after TP2 (default break-even)")
@click.option("--rule", type=click.Choice(["close", "touch", "break-confirm"]), help="[default: close]")
@click.option("--entry", type=click.Choice(["limit", "market"]), help="limit at the ask (default) or market")
@click.option("--limit-offset", type=opt.Count(0, 100), help="ticks above the ask for the limit [default: 0]")
@click.option("--quote-age", type=opt.POSITIVE_SECONDS, help="oldest quote a limit entry accepts [default: 5s]")
@click.option("--tif", type=click.Choice(["DAY", "GTC"], case_sensitive=False), help="[default: DAY]")
@click.option("--outside-rth/--rth-only", "outside_rth", default=None, help="orders may fill outside regular hours")
@click.option("--rth", help="watched hours HH:MM-HH:MM, or off [default: 09:30-16:00]")
@click.option("--timezone", default="America/New_York", show_default=True, help="the exchange's time zone")
@click.option("--max-bars", type=opt.Count(1), help="expire after this many watched bars without a breakout")
@click.option("--watch-after", type=opt.NON_NEGATIVE, help="minutes after the first bar before watching")
@click.option("--fast", is_flag=True, default=None, help="fast entry on second bars (needs --bars of 1-59 s bars)")
@click.option("--fast-offset", type=opt.NON_NEGATIVE, help="with --fast: distance beyond the level [default: 0]")
@click.option("--atr-bars", type=opt.Count(1, 500), help="bars of history for --tp auto [default: 14]")
@click.option("--exit-mode", type=click.Choice(["auto", "detached", "attached"]), help="[default: auto]")
@click.option("--targets-crossed", type=click.Choice(["keep", "drop", "shift"], case_sensitive=False),
              help="the entry filled at or beyond a take-profit: keep the ladder, drop the crossed levels' shares "
                   "into the next, or shift every target by the slippage [default: drop]")
@click.option("--account", help="the broker account")
@click.option("--trade-id", help="[default: symbol-level, e.g. aapl-190]")
@click.option("--broker", "broker_name", type=click.Choice(["sim", "ib"]), default="sim", show_default=True)
@click.option("--bars", type=click.Path(dir_okay=False), help="sim: bars CSV [default: the bundled day]")
@click.option("--quotes", type=click.Path(dir_okay=False), help="sim: quotes CSV (timestamp,bid,ask)")
@click.option("--journal", type=click.Path(dir_okay=False), help="journal file (kept; reused to resume)")
@click.option("--sim-fault", "sim_faults", multiple=True, metavar="NAME", help="sim: inject a fault (repeatable)")
@click.option("--until", help="sim: stop the replay at HH:MM (exchange time), leaving what works")
@click.option("--speed", type=opt.NON_NEGATIVE, default=None,
              help="sim: replay at this many exchange seconds per second (e.g. 60), to watch it [default: 0, "
                   "as fast as possible]")
@opt.ib_options
@control_options
def arm(*, tokens: tuple[str, ...], timezone: str, broker_name: str, bars: str | None, quotes: str | None,
        journal: str | None, sim_faults: tuple[str, ...], until: str | None, speed: float | None,
        host: str | None, port: int | None, client_id: int | None, live: bool | None, idle_timeout: float | None,
        **given: Any) -> None:
    """Arm a breakout on SYMBOL and supervise it until it closes (or expires).

    \b
    Examples:
      order-supervisor breakout arm SIM --level 100.49 --qty 100 --tp 101.2-101.7-102.4 \\
          --tp-alloc 40-30-30 --sl 99.95 --entry market --watch-after 30
      order-supervisor breakout arm AAPL level=190 qty=100 tp=195-198-205 sl=187 tp_alloc=60-30-10
      order-supervisor breakout arm XRTX 0.42 1000 tp-2 sl=0.37
      order-supervisor breakout arm SIM level=100.49 qty=100 tp=none sl=99.95 entry=market --flatten-at 15:45

    With --tp none there is no take-profit: the position is held under the stop until the stop
    fills, it is flattened (--flatten-at, kill) or the day ends; --sl is required (every filled
    share is kept under a stop).

    Exit codes: 0 closed and flat, or expired with nothing sent; 2 bad input; 3 the broker refused
    or is out of reach; 4 an invariant broke during the run.
    """
    from broker import live_table
    from broker.cli.brokers import BrokerChoice, connect, ib_link

    controls = controls_from(given)
    symbol, values = merge_values(tokens, given)
    opt.one_broker(broker_name, {"--host": host, "--port": port, "--client-id": client_id, "--live": live,
                                 "--idle-timeout": idle_timeout},
                   {"--bars": bars, "--quotes": quotes, "--sim-fault": sim_faults or None, "--until": until,
                    "--speed": speed})
    if broker_name == "ib":
        if values.get("fast"):
            raise click.BadParameter("fast entry on second bars is not wired for --broker ib yet", param_hint="--fast")
        link = ib_link(symbol, host, port, client_id, live)
        with journal_file(journal) as path:
            setup = asyncio.run(_supervise_on_ib(link, path, symbol, values, timezone, idle_timeout=idle_timeout,
                                                 controls=controls))
            code = _audit(path, setup.trade_id, timezone, ran_to_end=True)
        sys.exit(code)
    if values.get("fast") and not bars:
        raise click.BadParameter("needs --bars with bars shorter than a minute (the bundled day has 1-minute bars)",
                                 param_hint="--fast")
    connection = connect(BrokerChoice(broker_name, bars, quotes, sim_faults, (symbol,)))
    exchange = connection.exchange
    stop_at = _until(until, exchange.bars[0].time, timezone) if until else None
    setup = build_setup(symbol, values, session_start=exchange.bars[0].time, timezone=timezone,
                        bar_seconds=exchange.bars[0].seconds)
    out = sys.stdout  # the live table, or plain lines when this is not a terminal
    with journal_file(journal) as path:
        desk = open_desk(path, connection, risk=controls.factory(exchange.now, day_of=exchange.bars[0].time,
                                                                 timezone=timezone))
        driver = connection.driver(desk)
        try:
            setup = _arm(desk, driver, setup, values)
            view = live_table.for_stream(desk, out, timezone)
            desk.subscribe(view.update)
            desk.subscribe(show_health(view, timezone))
            try:
                before = desk.market.now()
                while driver.step() and (stop_at is None or desk.market.now() < stop_at):
                    if driver.exchange.last_closed is not None:
                        view.update()  # a watcher's bar count moves without an event
                    if speed:  # pacing for a person watching; the replay itself never waits
                        time.sleep(max(0.0, desk.market.now() - before) / speed)
                    before = desk.market.now()
            finally:
                view.close()
        finally:
            desk.close()
        code = _audit(path, setup.trade_id, timezone, ran_to_end=stop_at is None)
    sys.exit(code)


def _audit(path: Path, trade_id: str, timezone: str, *, ran_to_end: bool) -> int:
    """Print the trade's audit from the journal and the closing line; returns the exit code."""
    from broker.audit import build, format_audit, read_journal

    records = read_journal(path)
    click.echo("")
    audit = build(records, [trade_id])
    click.echo(format_audit(audit, timezone))
    code, closing = outcome(trade_id, records, audit, ran_to_end=ran_to_end)
    click.echo(closing)
    return code


def _arm(desk: Any, driver: Any, setup: Any, values: Mapping[str, Any]) -> Any:
    """Arm the watcher (or take it back from the journal) and print its plan; returns its setup."""
    if desk.recorder.journal.last_seq > 1:  # a journal with a history: continue where it stopped
        driver.skip_to(max(r.wall for r in desk.recorder.journal.records()))
        if not desk.catch_up():
            click.echo("the broker cannot be reached now: reconciling after the reconnect")
    resumed = _resumed(desk, setup)
    if resumed is not None:
        return resumed
    if setup.auto:
        driver.run_bars(max(setup.atr_bars, int(values.get("watch_after") or 0)) - len(desk.market.history()))
    return _armed(desk, setup)


def _resumed(desk: Any, setup: Any) -> Any:
    """The watcher of `setup` taken back from the journal (its plan printed), or None."""
    resumed = desk.watches.get(setup.trade_id)
    if resumed is None:
        return None
    click.echo(f"{setup.trade_id}: resumed from the journal ({resumed.status}"
               + (f": {resumed.detail})" if resumed.detail else ")"))
    click.echo(resumed.setup.describe() + "\n")
    return resumed.setup


def _armed(desk: Any, setup: Any) -> Any:
    """Arm a new watcher and print its plan (a bad plan or trade id: exit 2, nothing sent)."""
    from broker.desk_watch import DeskError
    from supervisor.plan import PlanError
    from supervisor.risk_desk import RiskRefusedError

    try:
        watch = desk.arm(setup)
    except PlanError as exc:
        raise opt.plan_error(exc) from None
    except RiskRefusedError as exc:  # the caller closes the desk on the way out
        click.echo(f"REFUSED: {exc}")
        sys.exit(EXIT_BROKER)
    except DeskError as exc:
        raise click.BadParameter(str(exc), param_hint="--trade-id") from None
    click.echo(watch.setup.describe() + "\n")
    return watch.setup


async def _supervise_on_ib(link: Any, path: Path, symbol: str, values: Mapping[str, Any], timezone: str, *,
                           idle_timeout: float | None, controls: Any) -> Any:
    """`breakout arm --broker ib`: connect, arm (or resume) the watcher and run the desk until the
    trade is over or the session ends. Returns the setup (the audit reads the journal afterwards)."""
    import attrs

    from broker import live_table
    from broker.ib.desk_driver import IBDeskDriver, IBMarket
    from broker.ib.session import DEFAULT_IDLE_TIMEOUT, regular_session, server_time
    from strategies.breakout import RegularHours
    from supervisor.plan import EntryType
    from supervisor.port import Instrument

    setup = build_setup(symbol, values, session_start=0.0, timezone=timezone, bar_seconds=60.0)  # bad input: 2
    broker = await link.open()
    try:
        try:
            await broker.qualify_async(Instrument(symbol))
        except LookupError as exc:
            raise click.BadParameter(f"{exc}; nothing was sent", param_hint="SYMBOL") from None
        # watched from --watch-after minutes after today's open; with --rth off no close ends the run
        hours = setup.hours or RegularHours(timezone=timezone)
        opens, closes = regular_session(await server_time(broker), timezone, hours.open, hours.close)
        if setup.watch_from is not None:
            setup = attrs.evolve(setup, watch_from=opens + setup.watch_from)
        market = IBMarket(broker, symbol)
        # on IB the desk's clock is the wall clock, while a TWS simulator replays a past day's bars:
        # a bar's age cannot be told yet, so no bar is held back as stale there (see the README)
        desk = open_desk(path, link, broker, market, bars=broker, health=_IB_HEALTH,
                         risk=controls.factory(market.now, day_of=opens, timezone=timezone))
        try:
            driver = IBDeskDriver(desk, broker, session_end=closes if setup.hours else None,
                                  idle_timeout=idle_timeout if idle_timeout is not None else DEFAULT_IDLE_TIMEOUT)
            await driver.start([symbol], quotes=setup.entry is EntryType.LIMIT)
            if desk.recorder.journal.last_seq > 1 and not await driver.catch_up():
                click.echo("the broker cannot be reached now: reconciling after the reconnect")
            armed = _resumed(desk, setup)
            if armed is None:
                if setup.auto:
                    await driver.wait_bars(symbol, setup.atr_bars)
                armed = _armed(desk, setup)
            view = live_table.for_stream(desk, sys.stdout, timezone)
            desk.subscribe(view.update)
            desk.subscribe(show_health(view, timezone))
            try:
                await driver.run(on_bar=view.update)
            finally:
                view.close()
            return armed
        finally:
            desk.close()
    finally:
        broker.close()


def _until(text: str, first: float, timezone: str) -> float:
    try:
        clock = dt.time.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time of day HH:MM", param_hint="--until") from None
    day = dt.datetime.fromtimestamp(first, ZoneInfo(timezone)).date()
    return dt.datetime.combine(day, clock, tzinfo=ZoneInfo(timezone)).timestamp()


COMMANDS = [breakout]
