"""`order-supervisor kill`: the kill switch from outside the process that traded.

How it works: the journal's trades are restored (`JournalRecorder.open`: the supervisor replayed
from the journal, which it goes on writing) and its risk book rebuilt (`RiskBook.replay`), behind a
`RiskDesk`. The broker is connected and asked for its truth, and the supervisor reconciles with it
(what happened since the journal's last record: fills, cancels). Then `RiskDesk.kill`: the account
halts (a `KillSwitch` record in the journal: a restart stays halted) and every live trade is
flattened by the supervisor (its entry and every exit cancelled, then one reduce-only market order
for what the executions say is held; nothing that could open a position is sent). The broker is
then pumped, a bounded number of steps, until nothing works and every position of the journal's
symbols is flat. Every step is journaled (the calls and the broker's answers, and `{"kill": ...}`
notes) and printed.

On `--broker sim` no exchange outlives a process: as `reconcile` does, the exchange is rebuilt the
way the journaled run left it (the same day, the journal's commands handed to it at their recorded
times), and the kill goes on from there on the simulated clock. `--broker ib` is not wired yet
(exit 3, nothing sent).

Exit codes: 0 killed (nothing working, flat) or declined at the prompt (nothing sent); 2 a missing
or unreadable journal; 3 the broker is out of reach; 4 still working or not flat after the bound.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from broker.cli import options as opt

_MAX_STEPS = 240  # price points of the simulated exchange the kill waits at most for its orders


class _Told:
    """The broker, printing every command the kill sends."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.sent: list[Any] = []

    def execute(self, command: Any) -> None:
        self.sent.append(command)
        detail = f" {command.action.value} {command.quantity} {command.order_type.value}" \
            if hasattr(command, "quantity") and hasattr(command, "action") else ""
        click.echo(f"  sent: {type(command).__name__} {command.order_ref}{detail}")
        self.broker.execute(command)

    def poll(self) -> list[Any]:
        return list(self.broker.poll())

    def query(self, executions_since: float | None = None) -> Any:
        return self.broker.query(executions_since)


def _held(truth: Any, symbols: set[str]) -> dict[str, int]:
    return {p.symbol: p.quantity for p in truth.positions if p.symbol in symbols and p.quantity}


def _ours(truth: Any, refs: set[str]) -> list[Any]:
    return [o for o in truth.open_orders if o.order_ref in refs]


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal of the trades to kill (it is written on)")
@click.option("--broker", "broker_name", type=click.Choice(["sim", "ib"]), default="sim", show_default=True)
@click.option("--bars", type=click.Path(dir_okay=False), help="sim: the bars [default: the journal's session]")
@click.option("--yes", is_flag=True, help="do not ask before sending")
@click.option("--timezone", default="America/New_York", show_default=True)
def kill(*, journal_path: str, broker_name: str, bars: str | None, yes: bool, timezone: str) -> None:
    """The kill switch: cancel every working entry, flatten every position with reduce-only orders,
    leave nothing working, and halt the journal's account.

    \b
    Example:
      order-supervisor kill --journal day.sqlite --yes

    Exit codes: 0 nothing works and every position is flat (or declined: nothing sent); 2 a missing
    or unreadable journal; 3 the broker is out of reach; 4 not flat or still working after the wait.
    """
    from broker.report import format_event
    from supervisor import events as ev
    from supervisor.journal import JournalError
    from supervisor.journal_recorder import JournalRecorder
    from supervisor.risk import RiskBook
    from supervisor.risk_desk import RiskDesk
    from supervisor.runner import Runner

    records, exchange = _prepare(journal_path, broker_name, bars)
    last = max((r.wall for r in records), default=exchange.now())

    def clock() -> float:
        return max(last, exchange.now())

    try:
        recorder = JournalRecorder.open(journal_path, clock)
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{journal_path}: {exc}", param_hint="--journal") from None
    try:
        desk = RiskDesk(recorder, RiskBook.replay(None, records), clock, record=recorder.journal.append_call)
        events: list[ev.SupervisorEvent] = []
        recorder.subscribe(events.append)
        told = _Told(exchange)
        runner = Runner(desk, told)
        refs = {leg.order_ref for trade in recorder.trades() for leg in trade.legs}
        traded = {trade.symbol for trade in recorder.trades()}
        truth = exchange.query()
        live = [t.trade_id for t in recorder.trades() if RiskDesk.is_live(t)]
        click.echo(f"journal: {len(recorder.trades())} trades, {len(live)} live ({', '.join(live) or 'none'}); "
                   f"broker: {len(_ours(truth, refs))} of their orders working, "
                   f"positions {_held(truth, traded) or 'flat'}")
        if not yes and not click.confirm("kill: halt the account and flatten every trade?", default=False):
            click.echo("nothing sent")
            sys.exit(opt.EXIT_OK)
        recorder.journal.append("meta", {"kill": {"step": "started", "time": clock(), "live": live}})
        for watcher in _watching(records):  # a console restarted on this journal does not re-arm them
            recorder.journal.append("meta", {"watcher": {**watcher, "event": "cancelled", "time": clock(),
                                                         "detail": "kill switch: nothing sent"}})
            click.echo(f"  watcher {watcher['trade_id']} cancelled")
        runner.reconcile()
        runner.execute(desk.kill())
        recorder.journal.append("meta", {"kill": {"step": "flattening", "time": clock()}})
        working, held = _wait(exchange, runner, recorder, traded)
        for event in events:
            if isinstance(event, (ev.FlattenRequested, ev.LegCancelled, ev.LegFilled, ev.TradeClosed)):
                click.echo("  " + format_event(event, timezone))
        recorder.journal.append("meta", {"kill": {"step": "done", "time": clock(), "working": len(working),
                                                  "positions": held}})
    finally:
        recorder.close()
    if working or held:
        click.echo(f"NOT DONE: {len(working)} orders still working, positions {held or 'flat'}")
        sys.exit(opt.EXIT_INVARIANT)
    click.echo(f"KILLED: the account is halted; {len(told.sent)} commands sent, nothing working, flat")
    sys.exit(opt.EXIT_OK)


def _prepare(journal_path: str, broker_name: str, bars: str | None) -> tuple[list[Any], Any]:
    """The journal's records and the broker as the journaled run left it (exit 2 / 3 otherwise)."""
    from broker.audit import JournalMissingError, read_journal
    from broker.cli.brokers import BrokerChoice, BrokerUnavailable, connect
    from broker.cli.reconcile import _rebuild_sim
    from supervisor.journal import JournalError

    try:
        records = read_journal(journal_path)
    except JournalMissingError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{journal_path}: not a readable journal ({exc})", param_hint="--journal") from None
    if broker_name == "ib":
        raise BrokerUnavailable("kill --broker ib is not wired yet; nothing was sent (see the README)")
    session: dict[str, Any] = next((r.value["session"] for r in records if r.kind == "meta"
                                    and isinstance(r.value, dict) and "session" in r.value), {})
    if bars is None and session.get("bars") not in (None, "bundled"):
        bars = session["bars"]
    symbols = tuple(session.get("symbols") or ("SIM",))
    connection = connect(BrokerChoice(broker_name, bars, None, (), symbols))
    if connection.fresh:
        _rebuild_sim(records, connection)
    return records, connection.exchange


def _watching(records: list[Any]) -> list[dict[str, Any]]:
    """The journal's watchers that had not ended: their trade id and symbol."""
    watching: dict[str, dict[str, Any]] = {}
    for record in records:
        note = record.value.get("watcher") if record.kind == "meta" and isinstance(record.value, dict) else None
        if note is None:
            continue
        if note["event"] == "armed":
            watching[note["trade_id"]] = {"trade_id": note["trade_id"], "symbol": note["symbol"]}
        else:
            watching.pop(note["trade_id"], None)
    return list(watching.values())


def _wait(exchange: Any, runner: Any, recorder: Any, traded: set[str]) -> tuple[list[Any], dict[str, int]]:
    """Step the broker until none of the journal's orders works and its symbols are flat (bounded)."""
    for _ in range(_MAX_STEPS):
        exchange.step()
        runner.pump()
        truth = exchange.query()
        refs = {leg.order_ref for trade in recorder.trades() for leg in trade.legs}
        if not _ours(truth, refs) and not _held(truth, traded):
            break
    truth = exchange.query()
    refs = {leg.order_ref for trade in recorder.trades() for leg in trade.legs}
    return _ours(truth, refs), _held(truth, traded)


COMMANDS = [kill]
