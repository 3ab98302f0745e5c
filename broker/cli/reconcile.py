"""`order-supervisor reconcile`: one look at the broker's truth against a journal's trades.

How it works: the journal's trades are rebuilt (`Supervisor.restore`, report-only policies: warn on
orphans and gaps), the broker is asked once (`BrokerPort.query()`: open orders, positions,
executions), and `Supervisor.reconcile` says what disagrees: orphan exits (working with nothing
held), coverage gaps, foreign orders, legs the broker no longer has, executions the journal missed,
positions that differ. Nothing is sent, and the journal is not written, unless `--cancel-orphans` is
given and confirmed (or `--yes`): then the reconciliation is journaled and only the orphans'
cancels are sent; every other command the supervisor would send is listed, not sent.

On `--broker sim` no exchange outlives a process, so the exchange is rebuilt the way the journaled
run left it: the same day (the journal's session record names the bars file, or the bundled day)
replayed with the journal's commands handed to it at their recorded times, up to the journal's last
record. `--broker ib` is wired with the IB adapter.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from broker.cli import options as opt


def _rebuild_sim(records: list[Any], connection: Any) -> None:
    """Replay the journal's commands into the simulated exchange at their recorded times."""
    exchange = connection.exchange
    commands = [r for r in records if r.kind == "command"]
    end = max((r.wall for r in records), default=exchange.now())
    i = 0
    while exchange.now() < end and exchange.step():
        while i < len(commands) and commands[i].wall <= exchange.now():
            exchange.execute(commands[i].value)
            i += 1
        exchange.poll()  # the broker's side only: its answers were journaled the first time
    for record in commands[i:]:
        exchange.execute(record.value)
    exchange.poll()


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal whose trades are checked")
@click.option("--broker", "broker_name", type=click.Choice(["sim", "ib"]), default="sim", show_default=True)
@click.option("--bars", type=click.Path(dir_okay=False), help="sim: the bars [default: the journal's session]")
@click.option("--cancel-orphans", is_flag=True, help="cancel the orphan exits found (asks first)")
@click.option("--yes", is_flag=True, help="do not ask before cancelling orphans")
@click.option("--timezone", default="America/New_York", show_default=True)
def reconcile(*, journal_path: str, broker_name: str, bars: str | None, cancel_orphans: bool, yes: bool,
              timezone: str) -> None:
    """Compare the broker's truth with a journal's trades, once: orphans, coverage gaps, foreign orders.

    \b
    Examples:
      order-supervisor reconcile --journal day.sqlite
      order-supervisor reconcile --journal day.sqlite --cancel-orphans --yes

    Exit codes: 0 the broker agrees; 2 bad input; 3 the broker is out of reach; 4 something
    disagrees (orphans, gaps, foreign orders, position mismatches), reported above.
    """
    from broker.audit import JournalMissingError, read_journal
    from broker.cli.brokers import BrokerChoice, connect
    from broker.report import format_event
    from supervisor import events as ev
    from supervisor.core import Supervisor
    from supervisor.journal import JournalError
    from supervisor.policy import CoverageAction, OrphanAction, Policy

    try:
        records = read_journal(journal_path)
    except JournalMissingError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{journal_path}: not a readable journal ({exc})", param_hint="--journal") from None
    session: dict[str, Any] = next((r.value["session"] for r in records if r.kind == "meta"
                                    and isinstance(r.value, dict) and "session" in r.value), {})
    if bars is None and session.get("bars") not in (None, "bundled"):
        bars = session["bars"]
    symbols = tuple(session.get("symbols") or ("SIM",))
    connection = connect(BrokerChoice(broker_name, bars, None, tuple(session.get("faults") or ()), symbols))
    if connection.fresh:
        _rebuild_sim(records, connection)
    truth = connection.exchange.query()
    last = max((r.wall for r in records), default=0.0)
    report = Policy(orphan_exits=OrphanAction.WARN, coverage_gaps=CoverageAction.WARN)
    supervisor = Supervisor.restore(records, lambda: last, report)
    supervisor.drain_events()
    would_send = supervisor.reconcile(truth)
    found = supervisor.drain_events()
    problems = (ev.OrphanExitDetected, ev.CoverageGap, ev.ForeignOrderSeen, ev.PositionMismatch)
    shown = [e for e in found if isinstance(e, (*problems, ev.LegCancelled, ev.OrderAdopted, ev.LegFilled))]
    click.echo(f"broker: {len(truth.open_orders)} open orders, {len(truth.positions)} positions, "
               f"{len(truth.executions)} executions; journal: {len(supervisor.trades())} trades")
    for event in shown:
        click.echo("  " + format_event(event, timezone))
    done = next((e for e in found if isinstance(e, ev.ReconciliationCompleted)), None)
    if done is not None:
        click.echo("  " + format_event(done, timezone).split("ReconciliationCompleted", 1)[1].strip())
    for command in would_send:
        click.echo(f"  not sent (report only): {type(command).__name__} {command.order_ref}")
    orphans = [e for e in found if isinstance(e, ev.OrphanExitDetected)]
    if cancel_orphans and orphans:
        refs = ", ".join(o.order_ref for o in orphans)
        if not yes and not click.confirm(f"cancel {len(orphans)} orphan exits ({refs})?", default=False):
            click.echo("nothing sent")
            sys.exit(opt.EXIT_INVARIANT)
        _cancel(journal_path, connection, truth, {o.order_ref for o in orphans}, last)
    elif cancel_orphans:
        click.echo("no orphan exits: nothing to cancel")
    troubled = [e for e in found if isinstance(e, problems)]
    click.echo("OK: the broker agrees with the journal" if not troubled else
               f"FOUND: {', '.join(sorted({type(e).__name__ for e in troubled}))}")
    sys.exit(opt.EXIT_OK if not troubled else opt.EXIT_INVARIANT)


def _cancel(journal_path: str, connection: Any, truth: Any, refs: set[str], last: float) -> None:
    """Journal the reconciliation and send only the orphans' cancels; report how they ended."""
    from supervisor import events as ev
    from supervisor.journal_recorder import JournalRecorder
    from supervisor.policy import CoverageAction, OrphanAction, Policy
    from supervisor.port import CancelOrder

    exchange = connection.exchange
    policy = Policy(orphan_exits=OrphanAction.CANCEL, coverage_gaps=CoverageAction.WARN)
    recorder = JournalRecorder.open(journal_path, lambda: max(last, exchange.now()), policy)
    try:
        ended: list[ev.SupervisorEvent] = []
        recorder.subscribe(ended.append)
        for command in recorder.reconcile(truth):
            if isinstance(command, CancelOrder) and command.order_ref in refs:
                exchange.execute(command)
                click.echo(f"  sent: cancel {command.order_ref}")
        for _ in range(8):  # the exchange answers within a few price points
            for event in exchange.poll():
                recorder.handle(event)  # what it asks for in turn is not sent: one-shot
            exchange.step()
        for event in ended:
            if isinstance(event, ev.LegCancelled) and event.order_ref in refs:
                click.echo(f"  cancelled: {event.order_ref}")
    finally:
        recorder.close()


COMMANDS = [reconcile]
