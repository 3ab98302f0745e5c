"""`order-supervisor kill`: the kill switch from outside the process that traded.

How it works: the journal's trades are restored (`JournalRecorder.open`: the supervisor replayed
from the journal, which it goes on writing) and its risk book rebuilt (`RiskBook.replay`), behind a
`RiskDesk`. The broker is connected and asked for its truth, and the supervisor reconciles with it
(what happened since the journal's last record: fills, cancels). Then `RiskDesk.kill`: the account
halts (a `KillSwitch` record in the journal: a restart stays halted) and every live trade is
flattened by the supervisor (its entry and every exit cancelled, then one reduce-only market order
for what the executions say is held; nothing that could open a position is sent). The broker is
then pumped, bounded, until none of the journal's orders works and every position of the journal's
symbols is flat. Every step is journaled (the calls and the broker's answers, and `{"kill": ...}`
notes) and printed.

- `--broker sim`: no exchange outlives a process: as `reconcile` does, the exchange is rebuilt the
  way the journaled run left it (the same day, the journal's commands handed to it at their
  recorded times), and the kill goes on from there on the simulated clock, at most `_MAX_STEPS`
  price points.
- `--broker ib`: the IB adapter connects (`--host`, `--port`, `--client-id`, `--live`; by default
  the gateway and client id the journal's session names: IB lets only the client that placed an
  order cancel it, so the kill connects as that client). Its events are pushed into the supervisor
  (`Runner.run`) while the broker's truth (`fetch_truth`) is asked every `_POLL` seconds, until
  nothing works and the symbols are flat or `--timeout` seconds passed (on the wall clock, which
  is the journal's clock on IB). The live guard is `run`'s: a live port or account needs `--live`
  AND ORDER_SUPERVISOR_LIVE=1.

Exit codes: 0 killed (nothing working, flat) or declined at the prompt (nothing sent); 2 a missing
or unreadable journal, or bad input; 3 the broker is out of reach; 4 still working or not flat
after the bound (what still works is printed).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from broker.cli import options as opt

_MAX_STEPS = 240  # price points of the simulated exchange the kill waits at most for its orders
DEFAULT_TIMEOUT = 60.0  # ib: seconds the kill waits at most for its cancels and its flattening orders
_POLL = 0.2  # ib: seconds between two looks at the broker's truth while waiting
_Outcome = tuple[list[Any], dict[str, int], int]  # what still works, what is held, how many commands were sent


class _Told:
    """The broker, printing every command the kill sends."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.sent: list[Any] = []

    def _tell(self, command: Any) -> None:
        self.sent.append(command)
        detail = f" {command.action.value} {command.quantity} {command.order_type.value}" \
            if hasattr(command, "quantity") and hasattr(command, "action") else ""
        click.echo(f"  sent: {type(command).__name__} {command.order_ref}{detail}")

    def execute(self, command: Any) -> None:
        self._tell(command)
        self.broker.execute(command)

    def execute_all(self, commands: list[Any]) -> None:
        for command in commands:
            self._tell(command)
        batch = getattr(self.broker, "execute_all", None)
        if batch is not None:
            batch(commands)
        else:
            for command in commands:
                self.broker.execute(command)

    def poll(self) -> list[Any]:
        return list(self.broker.poll())

    def query(self, executions_since: float | None = None) -> Any:
        return self.broker.query(executions_since)


class _ToldIB(_Told):
    """The IB adapter, told: push delivery and broker truth as a coroutine (`Runner.run`)."""

    def set_event_handler(self, handler: Any) -> None:
        self.broker.set_event_handler(handler)

    async def fetch_truth(self, executions_since: float | None = None) -> Any:
        return await self.broker.fetch_truth(executions_since)


def _held(truth: Any, symbols: set[str]) -> dict[str, int]:
    return {p.symbol: p.quantity for p in truth.positions if p.symbol in symbols and p.quantity}


def _ours(truth: Any, refs: set[str]) -> list[Any]:
    return [o for o in truth.open_orders if o.order_ref in refs]


class _Kill:
    """The journal's supervisor behind a RiskDesk, on a told broker: what both brokers' kills share."""

    def __init__(self, journal_path: str, records: list[Any], told: _Told, clock: Callable[[], float]) -> None:
        from supervisor import events as ev
        from supervisor.journal import JournalError
        from supervisor.journal_recorder import JournalRecorder
        from supervisor.risk import RiskBook
        from supervisor.risk_desk import RiskDesk
        from supervisor.runner import Runner

        try:
            self.recorder = JournalRecorder.open(journal_path, clock)
        except (JournalError, OSError) as exc:
            raise click.BadParameter(f"{journal_path}: {exc}", param_hint="--journal") from None
        self.records = records
        self.clock = clock
        self.desk = RiskDesk(self.recorder, RiskBook.replay(None, records), clock,
                             record=self.recorder.journal.append_call)
        self.events: list[ev.SupervisorEvent] = []
        self.recorder.subscribe(self.events.append)
        self.told = told
        self.runner = Runner(self.desk, told)
        self.traded = {trade.symbol for trade in self.recorder.trades()}

    def refs(self) -> set[str]:
        return {leg.order_ref for trade in self.recorder.trades() for leg in trade.legs}

    def left(self, truth: Any) -> tuple[list[Any], dict[str, int]]:
        """What still works of the journal's orders, and what is held of its symbols."""
        return _ours(truth, self.refs()), _held(truth, self.traded)

    def ask(self, truth: Any, yes: bool) -> bool:
        """Say what the journal and the broker hold; unless `yes`, ask (False: declined, nothing sent)."""
        from supervisor.risk_desk import RiskDesk

        trades = self.recorder.trades()
        live = [t.trade_id for t in trades if RiskDesk.is_live(t)]
        working, held = self.left(truth)
        click.echo(f"journal: {len(trades)} trades, {len(live)} live ({', '.join(live) or 'none'}); "
                   f"broker: {len(working)} of their orders working, positions {held or 'flat'}")
        if not yes and not click.confirm("kill: halt the account and flatten every trade?", default=False):
            return False
        self.note("started", live=live)
        for watcher in _watching(self.records):  # a console restarted on this journal does not re-arm them
            self.recorder.journal.append("meta", {"watcher": {**watcher, "event": "cancelled", "time": self.clock(),
                                                              "detail": "kill switch: nothing sent"}})
            click.echo(f"  watcher {watcher['trade_id']} cancelled")
        return True

    def flatten(self, truth: Any) -> None:
        """Reconcile with the broker's truth, then the kill switch: halt, flatten every live trade."""
        self.runner.execute(self.desk.reconcile(truth))
        self.runner.execute(self.desk.kill())
        self.note("flattening")

    def note(self, step: str, **more: Any) -> None:
        self.recorder.journal.append("meta", {"kill": {"step": step, "time": self.clock(), **more}})

    def finish(self, working: list[Any], held: dict[str, int], timezone: str) -> None:
        from broker.report import format_event
        from supervisor import events as ev

        for event in self.events:
            if isinstance(event, (ev.FlattenRequested, ev.LegCancelled, ev.LegFilled, ev.TradeClosed)):
                click.echo("  " + format_event(event, timezone))
        self.note("done", working=len(working), positions=held)


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal of the trades to kill (it is written on)")
@click.option("--broker", "broker_name", type=click.Choice(["sim", "ib"]), default="sim", show_default=True)
@click.option("--bars", type=click.Path(dir_okay=False), help="sim: the bars [default: the journal's session]")
@click.option("--host", default=None, help="ib: the TWS / IB Gateway host  [default: the journal's, else 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="ib: the API port (live 7496 / 4001 need --live)  [default: the journal's, else 7497]")
@click.option("--client-id", type=click.IntRange(0, 2**31 - 1), default=None,
              help="ib: the API client id; only the client that placed an order can cancel it  "
                   "[default: the journal's, else 1]")
@click.option("--live", is_flag=True, default=None,
              help="ib: allow a live port or account; also needs the environment variable ORDER_SUPERVISOR_LIVE=1")
@click.option("--timeout", type=opt.Number(above=0), default=None,
              help=f"ib: seconds to wait at most for nothing to work and every position to be flat  "
                   f"[default: {DEFAULT_TIMEOUT:.0f}]")
@click.option("--yes", is_flag=True, help="do not ask before sending")
@click.option("--timezone", default="America/New_York", show_default=True)
def kill(*, journal_path: str, broker_name: str, bars: str | None, host: str | None, port: int | None,
         client_id: int | None, live: bool | None, timeout: float | None, yes: bool, timezone: str) -> None:
    """The kill switch: cancel every working entry, flatten every position with reduce-only orders,
    leave nothing working, and halt the journal's account.

    \b
    Examples:
      order-supervisor kill --journal day.sqlite --yes
      order-supervisor kill --broker ib --port 7497 --journal day.sqlite --yes

    Exit codes: 0 nothing works and every position is flat (or declined: nothing sent); 2 a missing
    or unreadable journal, or bad input; 3 the broker is out of reach; 4 not flat or still working
    after the wait.
    """
    opt.one_broker(broker_name, {"--host": host, "--port": port, "--client-id": client_id, "--live": live,
                                 "--timeout": timeout}, {"--bars": bars})
    records = _records(journal_path)
    if broker_name == "ib":
        link = _ib_link(records, host, port, client_id, live)
        click.echo(f"connecting to IB at {link.where()}")
        outcome = asyncio.run(_kill_on_ib(journal_path, records, link, yes=yes, timezone=timezone,
                                          timeout=timeout if timeout is not None else DEFAULT_TIMEOUT))
    else:
        outcome = _kill_on_sim(journal_path, records, bars, yes=yes, timezone=timezone)
    if outcome is None:
        click.echo("nothing sent")
        sys.exit(opt.EXIT_OK)
    working, held, sent = outcome
    if working or held:
        for order in working:
            click.echo(f"  still working: {order.order_ref} {order.action.value} {order.quantity} "
                       f"{order.order_type.value} ({order.status or 'working'})")
        click.echo(f"NOT DONE: {len(working)} orders still working, positions {held or 'flat'}")
        sys.exit(opt.EXIT_INVARIANT)
    click.echo(f"KILLED: the account is halted; {sent} commands sent, nothing working, flat")
    sys.exit(opt.EXIT_OK)


def _kill_on_sim(journal_path: str, records: list[Any], bars: str | None, *, yes: bool,
                 timezone: str) -> _Outcome | None:
    exchange = _sim_exchange(records, bars)
    last = max((r.wall for r in records), default=exchange.now())

    def clock() -> float:
        return float(max(last, exchange.now()))

    kill = _Kill(journal_path, records, _Told(exchange), clock)
    try:
        truth = exchange.query()
        if not kill.ask(truth, yes):
            return None
        kill.flatten(truth)
        for _ in range(_MAX_STEPS):
            exchange.step()
            kill.runner.pump()
            working, held = kill.left(exchange.query())
            if not working and not held:
                break
        working, held = kill.left(exchange.query())
        kill.finish(working, held, timezone)
    finally:
        kill.recorder.close()
    return working, held, len(kill.told.sent)


async def _kill_on_ib(journal_path: str, records: list[Any], link: Any, *, yes: bool, timezone: str,
                      timeout: float) -> _Outcome | None:
    from broker.cli.brokers import BrokerUnavailable

    broker = await link.open()
    try:
        try:
            truth = await broker.fetch_truth()
        except (TimeoutError, ConnectionError) as exc:
            raise BrokerUnavailable(f"IB at {link.where()}: {exc or type(exc).__name__}; nothing was sent") from None
        kill = _Kill(journal_path, records, _ToldIB(broker), time.time)
        try:
            if not kill.ask(truth, yes):
                return None
            stop = asyncio.Event()
            pushing = asyncio.ensure_future(kill.runner.run(stop, 0.05))
            await asyncio.sleep(0)  # the runner takes over delivery (what IB said since connecting goes first)
            try:
                kill.flatten(truth)
                working, held = await _wait_on_ib(kill, broker, timeout)
            finally:
                stop.set()
                await pushing
            kill.finish(working, held, timezone)
        finally:
            kill.recorder.close()
    finally:
        broker.close()
    return working, held, len(kill.told.sent)


async def _wait_on_ib(kill: _Kill, broker: Any, timeout: float,
                      monotonic: Callable[[], float] = time.monotonic) -> tuple[list[Any], dict[str, int]]:
    """Ask IB's truth until none of the journal's orders works and its symbols are flat, or until
    `timeout` seconds passed: then what was seen last (an unanswered ask counts as not done)."""
    deadline = monotonic() + timeout
    left: tuple[list[Any], dict[str, int]] | None = None
    while True:
        try:
            left = kill.left(await broker.fetch_truth())
        except (TimeoutError, ConnectionError) as exc:
            click.echo(f"  IB did not answer ({exc or type(exc).__name__}); asking again")
        if left is not None and not left[0] and not left[1]:
            return left
        if monotonic() >= deadline:
            if left is None:
                raise click.ClickException("IB never answered while the kill waited: whether anything still "
                                           "works is unknown; check the account") from None
            return left
        await asyncio.sleep(_POLL)


def _records(journal_path: str) -> list[Any]:
    from broker.audit import JournalMissingError, read_journal
    from supervisor.journal import JournalError

    try:
        return list(read_journal(journal_path))
    except JournalMissingError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{journal_path}: not a readable journal ({exc})", param_hint="--journal") from None


def _session(records: list[Any]) -> dict[str, Any]:
    return next((r.value["session"] for r in records if r.kind == "meta"
                 and isinstance(r.value, dict) and "session" in r.value), {})


def _ib_link(records: list[Any], host: str | None, port: int | None, client_id: int | None,
             live: bool | None) -> Any:
    """`--broker ib`: the options given, else the gateway and client id of the journal's session."""
    from broker.cli.brokers import BrokerChoice, connect

    session = _session(records)
    known = session if session.get("broker") == "ib" else {}
    choice = BrokerChoice("ib", symbols=tuple(session.get("symbols") or ("SIM",)),
                          host=host or known.get("host") or "127.0.0.1", port=port or known.get("port") or 7497,
                          client_id=client_id if client_id is not None else known.get("client_id", 1),
                          live=bool(live))
    if known and choice.client_id != known.get("client_id"):
        click.echo(f"warning: the journal's orders were placed by client id {known.get('client_id')}; "
                   f"as client id {choice.client_id} IB will not let this kill cancel them")
    return connect(choice, wired=("sim", "ib"))


def _sim_exchange(records: list[Any], bars: str | None) -> Any:
    """The simulated exchange as the journaled run left it."""
    from broker.cli.brokers import BrokerChoice, connect
    from broker.cli.reconcile import _rebuild_sim

    session = _session(records)
    if bars is None and session.get("bars") not in (None, "bundled"):
        bars = session["bars"]
    symbols = tuple(session.get("symbols") or ("SIM",))
    connection = connect(BrokerChoice("sim", bars, None, (), symbols))
    if connection.fresh:
        _rebuild_sim(records, connection)
    return connection.exchange


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


COMMANDS = [kill]
