"""`order-supervisor run`: the breakout ladder on a broker, end to end, with a summary.

`--broker sim` (default) replays a day on the embedded simulated exchange (`sim_session.run_breakout`);
`--broker ib` runs the same plan, watcher, supervisor, runner and journal on TWS or IB Gateway
(`broker.ib.session.run_breakout_ib`): 1-minute bars from the adapter's market data, until the
trade is over, the session closes or the market data stops (`--idle-timeout`). Options that belong
to the other broker are refused by name (exit 2), so nothing is silently ignored.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from broker.cli.controls import any_given, control_options, controls_from
from broker.cli.options import EXIT_BROKER, NON_NEGATIVE, Number, ib_options, one_broker

# finite only (`inf` and `nan` are refused here); the plan names a value out of range (level=-1.0)
FINITE = Number()

if TYPE_CHECKING:
    from broker.cli.brokers import IBLink
    from broker.cli.controls import Controls
    from broker.sim import Fault
    from broker.sim_session import SessionResult, SupervisorFactory
    from strategies.breakout import Confirm
    from supervisor.journal_recorder import JournalRecorder
    from supervisor.plan import TradePlan
    from supervisor.policy import Policy
    from supervisor.risk_desk import RiskDesk
    from supervisor.runner import EventCallback, SupervisorLike

# what each TradePlan field is called on the command line (PlanError names the field)
_OPTION_OF_FIELD = {
    "take_profits": "--tp", "stop_losses": "--sl", "allocation": "--alloc", "quantity": "--qty",
    "entry_price": "--entry-price", "level": "--level", "symbol": "--symbol", "trade_id": "--trade-id",
    "max_bars": "--max-bars",
}


def _numbers(values: Sequence[str], option: str, kind: type[float] | type[int]) -> tuple[float, ...]:
    """Repeatable options that also take comma lists: `--tp 101.2 --tp 101.7` or `--tp 101.2,101.7`."""
    out: list[float] = []
    for value in values:
        for part in value.split(","):
            try:
                number = kind(part.strip())
            except ValueError:
                raise click.BadParameter(f"{part.strip()!r} is not a number", param_hint=option) from None
            if not math.isfinite(number):
                raise click.BadParameter(f"{part.strip()!r} is not a finite number", param_hint=option)
            out.append(number)
    return tuple(out)


def _fault_help() -> str:
    from broker.sim import FAULT_HELP

    arguments = {"reject": ":CODE", "disconnect": ":WHEN", "stall": ":WHEN:SECONDS"}
    names = ", ".join(f"{name.value}{arguments.get(name.value, '')}" for name in FAULT_HELP)
    return (f"inject a fault into the simulated exchange (repeatable; NAME[@N] hits the Nth occurrence): "
            f"{names}")


def _parse_faults(values: Sequence[str]) -> list[Fault]:
    from broker.sim import parse_fault

    faults: list[Fault] = []
    for value in values:
        try:
            faults.append(parse_fault(value))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--sim-fault") from None
    return faults


@click.command()
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="bars to replay (timestamp,open,high,low,close,volume)  [default: the bundled breakout day]")
@click.option("--symbol", default="SIM", show_default=True)
@click.option("--trade-id", default="breakout", show_default=True)
@click.option("--side", type=click.Choice(["long", "short"]), default="long", show_default=True)
@click.option("--level", type=FINITE, default=100.49, show_default=True,
              help="breakout level: a bar closing at or beyond it triggers the entry")
@click.option("--qty", type=int, default=100, show_default=True, help="shares to enter")
@click.option("--entry", "entry_type", type=click.Choice(["market", "limit"]), default="limit", show_default=True)
@click.option("--entry-price", type=FINITE, default=100.70, show_default=True,
              help="the entry's limit (for a market entry, the reference price the plan is checked against)")
@click.option("--tp", "tps", multiple=True, default=("101.2,101.7,102.4",), show_default=True,
              help="take-profit prices, repeatable or comma-separated; `none`: no take-profit, the entry and "
                   "its stop only (every filled share stays under the stop; add --flatten-at to close by a time)")
@click.option("--alloc", "allocs", multiple=True, default=(),
              help="shares per take-profit level, e.g. 40,30,30  [default: 40/30/30 of --qty for three levels, "
                   "70/30 for two]")
@click.option("--sl", "sls", multiple=True, default=("99.95",), show_default=True,
              help="stop price (one, or one per level), repeatable or comma-separated")
@click.option("--exit-mode", type=click.Choice(["auto", "detached", "attached"]), default="auto", show_default=True,
              help="attached: bracket children the broker may size to the parent (QuantityMismatch watches)")
@click.option("--confirm", type=click.Choice(["close", "touch"]), default="close", show_default=True)
@click.option("--watch-after", type=NON_NEGATIVE, default=30.0, show_default=True,
              help="minutes after the first bar before the breakout is watched (the opening range)")
@click.option("--max-bars", type=int, default=None, help="expire the watcher after this many bars without a breakout")
@click.option("--sim-fault", "sim_faults", multiple=True, metavar="NAME", help=_fault_help())
@click.option("--mismatch-policy", type=click.Choice(["warn", "replace"]), default="warn", show_default=True,
              help="when the broker sizes an exit differently from the plan")
@click.option("--orphan-policy", type=click.Choice(["warn", "cancel"]), default="warn", show_default=True,
              help="when an exit works with no position left")
@click.option("--targets-crossed", type=click.Choice(["keep", "drop", "shift"]), default="drop", show_default=True,
              help="the entry filled at or beyond a take-profit: drop the crossed levels into the next, shift the "
                   "targets by the slippage, or keep them")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False), default=None,
              help="append every input and output of the supervisor to this new SQLite journal")
@click.option("--quiet", is_flag=True, help="print only the summary")
@click.option("--broker", "broker_name", type=click.Choice(["sim", "ib"]), default="sim", show_default=True,
              help="sim: the embedded simulated exchange; ib: TWS or IB Gateway (paper unless --live)")
@ib_options
@control_options
def run(*, csv_path: str | None, symbol: str, trade_id: str, side: str, level: float, qty: int, entry_type: str,
        entry_price: float, tps: Sequence[str], allocs: Sequence[str], sls: Sequence[str], exit_mode: str,
        confirm: str, watch_after: float, max_bars: int | None, sim_faults: Sequence[str], mismatch_policy: str,
        orphan_policy: str, targets_crossed: str, journal_path: str | None, quiet: bool, broker_name: str,
        host: str | None, port: int | None, client_id: int | None, live: bool | None, idle_timeout: float | None,
        **control: Any) -> None:
    """Arm a breakout ladder on a broker and supervise it through the day: the embedded simulated
    exchange (default), or TWS / IB Gateway with --broker ib.

    Exits 0 when the trade ends closed, flat at the broker and in the books, every leg final (or
    the watcher expired with nothing sent); 3 when the broker refused the entry or cannot be
    reached, or the risk policy refused the plan or its entry (the rule and the figures are
    printed, nothing sent); 4 when a promise broke (a position or a working leg left at the end);
    2 bad input.

    Risk limits (--max-*, --risk FILE.toml), --entry-ttl and --flatten-at HH:MM (exchange time)
    put the RiskDesk in front of the supervisor.

    \b
    Examples:
      order-supervisor run --tp 101.2,101.7 --sl 99.95 --sim-fault duplicate-executions
      order-supervisor run --broker ib --port 7497 --client-id 7 --symbol AAPL --level 190 \\
          --entry-price 190.2 --tp 191,192,193 --sl 189
    """
    from broker.report import format_event, format_summary
    from broker.sim_session import DOCUMENTED_SPLIT, run_breakout
    from strategies.breakout import BreakoutWatcher
    from supervisor.plan import EntryType, ExitMode, PlanError, Side, TradePlan, split_quantity
    from supervisor.policy import Policy
    from supervisor.risk_desk import RiskRefusedError

    controls = controls_from(control) if any_given(control) else None
    # `--tp none`: a stop-only plan (TradePlan(take_profits=())): one level, its stop alone
    take_profits = () if [tp.strip().lower() for tp in tps] == ["none"] else _numbers(tps, "--tp", float)
    allocation = tuple(int(q) for q in _numbers(allocs, "--alloc", int)) or None
    if allocation is None and len(take_profits) == 3 and qty >= 3:
        allocation = split_quantity(qty, DOCUMENTED_SPLIT)  # otherwise the plan's default weights
    ib_given = {"--host": host, "--port": port, "--client-id": client_id, "--live": live,
                "--idle-timeout": idle_timeout}
    one_broker(broker_name, ib_given, {"--csv": csv_path, "--sim-fault": sim_faults or None})
    faults = _parse_faults(sim_faults)
    try:
        plan = TradePlan(
            trade_id=trade_id, symbol=symbol, side=Side(side), quantity=qty, entry_price=entry_price,
            entry_type=EntryType(entry_type), take_profits=take_profits, stop_losses=_numbers(sls, "--sl", float),
            allocation=allocation, exit_mode=ExitMode(exit_mode),
        )
        BreakoutWatcher(plan, level, "close" if confirm == "close" else "touch", max_bars=max_bars)
    except PlanError as exc:
        field = exc.field.split("[")[0]
        raise click.BadParameter(str(exc), param_hint=_OPTION_OF_FIELD.get(field, field)) from None
    policy = Policy(quantity_mismatch=mismatch_policy, orphan_exits=orphan_policy, targets_crossed=targets_crossed)
    if journal_path is not None and Path(journal_path).exists():
        # a journal holds one process's history: replaying it into a fresh simulated day would mix two
        raise click.BadParameter(f"{journal_path} exists; give a new file", param_hint="--journal")
    recorders: list[JournalRecorder] = []
    desks: list[RiskDesk] = []
    factory = _factory(journal_path, controls, recorders, desks)

    timezone = "America/New_York"
    rule: Confirm = "close" if confirm == "close" else "touch"
    on_event = None if quiet else lambda event: click.echo(format_event(event, timezone))
    try:
        if broker_name == "ib":
            from broker.cli.brokers import ib_link

            link = ib_link(symbol, host, port, client_id, live)
            result = asyncio.run(_run_on_ib(
                link, plan, level, policy=policy, confirm=rule, watch_after=watch_after * 60, max_bars=max_bars,
                on_event=on_event, make_supervisor=factory, idle_timeout=idle_timeout))
        else:
            result = run_breakout(
                plan, level, csv=csv_path, faults=faults, policy=policy, confirm=rule,
                watch_after=watch_after * 60, max_bars=max_bars, on_event=on_event, make_supervisor=factory,
                on_health=_health(recorders, None if quiet else timezone),
            )
    except RiskRefusedError as exc:
        click.echo(f"REFUSED: {exc}")
        sys.exit(EXIT_BROKER)
    finally:
        for recorder in recorders:
            recorder.close()
    click.echo(("" if quiet else "\n") + format_summary(result))
    refusals = [refusal for desk in desks for refusal in desk.refusals]
    for refusal in refusals:
        click.echo(f"REFUSED: {refusal.trade_id}: refused by the risk policy: {refusal}; nothing was sent")
    if refusals and result.ok:
        sys.exit(EXIT_BROKER)
    # exit codes: 0 closed flat, or expired with nothing sent; 3 the broker refused the entry;
    # 4 a promise broke (a position or a working leg left at the end)
    sys.exit(4 if not result.ok else 3 if result.outcome == "refused" else 0)


def _health(recorders: list[JournalRecorder], timezone: str | None) -> Callable[[Any], None]:
    """The bar stream's health events: printed (unless --quiet: `timezone` None) and journaled as
    meta records (`--journal`), as the breakout desk journals them."""
    from broker.desk_health import health_record
    from broker.report import format_event

    def on_health(event: Any) -> None:
        if timezone is not None:
            click.echo(format_event(event, timezone))
        for recorder in recorders:
            recorder.journal.append("meta", {"health": health_record(event)})

    return on_health


def _factory(journal_path: str | None, controls: Controls | None, recorders: list[JournalRecorder],
             desks: list[RiskDesk]) -> SupervisorFactory | None:
    """How the session builds its supervisor: journaled (`--journal`), behind a RiskDesk (any
    control given), both, or neither (None: the session's plain supervisor)."""
    from supervisor.core import Supervisor
    from supervisor.journal_recorder import JournalRecorder

    if journal_path is None and controls is None:
        return None

    def supervised(clock: Callable[[], float], policy: Policy) -> SupervisorLike:
        inner: JournalRecorder | Supervisor = Supervisor(clock, policy)
        if journal_path is not None:
            inner = JournalRecorder.open(journal_path, clock, policy)
            recorders.append(inner)
        if controls is None:
            return inner
        record = inner.journal.append_call if isinstance(inner, JournalRecorder) else None
        desks.append(controls.desk(inner, clock, day_of=clock(), timezone=controls.policy.timezone, record=record))
        return desks[-1]

    return supervised


async def _run_on_ib(link: IBLink, plan: TradePlan, level: float, *, policy: Policy, confirm: Confirm,
                     watch_after: float, max_bars: int | None, on_event: EventCallback | None,
                     make_supervisor: SupervisorFactory | None, idle_timeout: float | None) -> SessionResult:
    from broker.cli.brokers import BrokerUnavailable
    from broker.ib.session import DEFAULT_IDLE_TIMEOUT, run_breakout_ib
    from broker.sim_session import _plain_supervisor

    broker = await link.open()
    try:
        try:
            await broker.qualify_async(plan.instrument)
        except LookupError as exc:  # IB knows no such contract: nothing was sent
            raise click.BadParameter(f"{exc}; nothing was sent", param_hint="--symbol") from None
        return await run_breakout_ib(
            plan, level, broker, make_supervisor or _plain_supervisor, policy=policy, confirm=confirm,
            watch_after=watch_after, max_bars=max_bars, on_event=on_event,
            idle_timeout=idle_timeout if idle_timeout is not None else DEFAULT_IDLE_TIMEOUT)
    except (TimeoutError, ConnectionError) as exc:
        raise BrokerUnavailable(f"IB at {link.where()}: {exc or type(exc).__name__}") from None
    finally:
        broker.close()


COMMANDS = [run]
