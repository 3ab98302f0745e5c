"""The operator's console: several breakout watchers on one connection, driven by typed verbs.

How it works: a `cmd.Cmd` prompt over one `Desk` (one broker connection, one journal). Each verb is a
`do_<verb>` method; what the desk and the supervisor report is printed as it happens (watcher
events, fills, cancels, refusals, every mismatch), one line each. On a terminal, readline gives
history (kept in `~/.order-supervisor-history`) and completion of verbs and symbols; a script can
pipe the same verbs in.

The simulated exchange does not move by itself: `step [N]` replays N bars (default 1), `run [HH:MM]`
replays until that time (default: the end of the day), `time` shows where the replay is. A live
broker's clock needs no verb.

`flatten SYMBOL` closes the symbol's trades through the supervisor's own flatten: the entry and
every exit are cancelled, then what the executions say is held goes out in one reduce-only market
order (an order the supervisor did not own would leave its exits sized to shares that are gone,
which is how an exit opens the other side). `kill` is the kill switch: every watcher stops and
every trade is flattened; nothing is left working and nothing new opens.
"""

from __future__ import annotations

import cmd
import contextlib
import datetime as dt
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import click

from broker.desk import Desk, DeskEvent
from broker.desk_watch import DeskError, WatcherEvent
from supervisor import events as ev
from supervisor.plan import PlanError
from supervisor.risk_desk import RiskRefusedError

HISTORY = Path.home() / ".order-supervisor-history"
# supervisor events worth a line at the prompt (the rest are in the journal)
SHOWN = (ev.LegFilled, ev.LegPartiallyFilled, ev.LegCancelled, ev.LegRejected, ev.ExitsPlaced, ev.StopRepriced,
         ev.TradeClosed, ev.TradeAborted, ev.EmergencyStopPlaced, ev.OrderIntended, ev.QuantityMismatch,
         ev.StatusFillMismatch, ev.InvariantViolated, ev.ExitBlocked, ev.CoverageGap, ev.OrphanExitDetected,
         ev.PositionMismatch, ev.SubmissionStalled, ev.LateFill, ev.StopRepriceFailed, ev.InvalidTransition)
VERBS = ("breakout", "breakouts", "orders", "positions", "trades", "flatten", "kill", "step", "run", "time", "help",
         "quit")


class Console(cmd.Cmd):
    intro = "order-supervisor console: type help for the verbs, quit to leave."
    prompt = "os> "

    def __init__(self, desk: Desk, driver: Any, *, session_start: float, stdin: IO[str], stdout: IO[str],
                 timezone: str = "America/New_York", interactive: bool = False, bar_seconds: float = 60.0) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.use_rawinput = interactive
        self.desk, self.driver = desk, driver
        self.session_start, self.zone = session_start, ZoneInfo(timezone)
        self.timezone = timezone
        self.interactive = interactive
        self.bar_seconds = bar_seconds
        desk.subscribe(self._show)

    # -- output ----------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")

    def clock(self, t: float | None = None) -> str:
        return dt.datetime.fromtimestamp(self.desk.market.now() if t is None else t, self.zone).strftime("%H:%M:%S")

    def _show(self, event: DeskEvent) -> None:
        if isinstance(event, WatcherEvent):
            self.say(f"{self.clock(event.time)}  {event.trade_id}  watcher {event.kind}"
                     + (f": {event.detail}" if event.detail else ""))
        elif isinstance(event, SHOWN):
            from broker.report import format_event

            self.say(format_event(event, self.timezone))

    def _guard(self, action: Callable[[], None]) -> None:
        """Run a verb; bad input prints its reason and the console goes on (nothing was sent)."""
        try:
            action()
        except click.ClickException as exc:
            self.say(f"error: {exc.format_message()}")
        except (PlanError, DeskError, RiskRefusedError) as exc:
            self.say(f"error: {exc}")
        except ConnectionError as exc:
            self.say(f"error: the broker is out of reach now ({exc}); nothing sent")

    def preloop(self) -> None:
        for event in self.desk.resumed:  # re-armed before this prompt existed
            self._show(event)

    def emptyline(self) -> bool:
        return False

    def default(self, line: str) -> None:
        self.say(f"error: unknown verb {line.split(maxsplit=1)[0]!r} (verbs: {', '.join(VERBS)})")

    # -- watchers ------------------------------------------------------------------------------------
    def do_breakout(self, arg: str) -> None:
        """breakout SYMBOL level=190 qty=100 tp=195-198-205 sl=187 [tp_alloc=60-30-10] [entry=market] ...
        breakout SYMBOL LEVEL QTY tp-2 sl=...      (auto take-profits)
        breakout SYMBOL ... tp=none sl=...         (no take-profit: the stop alone holds every share)
        breakout SYMBOL ... targets_crossed=keep   (an entry filled past a target: keep, drop or shift)
        breakout cancel SYMBOL...|ALL              (stop watchers; cancel an entry still working)"""
        self._guard(lambda: self._breakout(shlex.split(arg)))

    def _breakout(self, tokens: list[str]) -> None:
        from broker.cli.setup import build_setup, merge_values

        if tokens and tokens[0].lower() == "cancel":
            if len(tokens) < 2:
                raise click.UsageError("breakout cancel SYMBOL...|ALL")
            for line in self.desk.cancel(tokens[1:]):
                self.say(line)
            return
        symbol, values = merge_values(tuple(tokens), {})
        taken = set(self.desk.watches) | {t.trade_id for t in self.desk.recorder.trades()}
        setup = build_setup(symbol, values, session_start=self.session_start, taken=taken, timezone=self.timezone,
                            bar_seconds=self.bar_seconds)
        watch = self.desk.arm(setup)
        self.say(watch.setup.describe())

    def do_breakouts(self, arg: str) -> None:
        """breakouts: every watcher, its status and bars watched."""
        if not self.desk.watches:
            self.say("no watchers")
        for watch in self.desk.watches.values():
            self.say(f"{watch.trade_id:<14} {watch.symbol:<6} {watch.setup.rule:<13} level {watch.setup.level:<8g} "
                     f"{watch.status:<10} bars {watch.watcher.bars_watched:<4} {watch.detail}")

    # -- broker truth ---------------------------------------------------------------------------------
    def do_orders(self, arg: str) -> None:
        """orders: the broker's working orders, each with the trade and leg that owns it."""
        self._guard(self._orders)

    def _orders(self) -> None:
        truth = self.desk.broker.query()
        ours = {ref for trade in self.desk.recorder.trades() for ref in (leg.order_ref for leg in trade.legs)}
        if not truth.open_orders:
            self.say("no working orders")
        for order in truth.open_orders:
            price = order.stop_price if order.stop_price is not None else order.limit_price
            owner = "ours" if order.order_ref in ours else "FOREIGN"
            self.say(f"{order.order_id!s:>7} {order.order_ref:<22} {order.symbol:<6} {order.action.value:<4} "
                     f"{order.order_type.value:<4} {order.filled}/{order.quantity} at {price if price else 'mkt'} "
                     f"{order.status} ({owner})")

    def do_positions(self, arg: str) -> None:
        """positions: the broker's positions beside what the executions say each trade holds."""
        self._guard(self._positions)

    def _positions(self) -> None:
        truth = self.desk.broker.query()
        held: dict[str, int] = {}
        for trade in self.desk.recorder.trades():
            held[trade.symbol] = held.get(trade.symbol, 0) + (trade.position if trade.side == "long"
                                                              else -trade.position)
        symbols = sorted({p.symbol for p in truth.positions} | set(held))
        if not symbols:
            self.say("no positions")
        for symbol in symbols:
            broker = sum(p.quantity for p in truth.positions if p.symbol == symbol)
            ours = held.get(symbol, 0)
            flag = "" if broker == ours else "  MISMATCH"
            self.say(f"{symbol:<6} broker {broker:>6}  executions {ours:>6}{flag}")

    def do_trades(self, arg: str) -> None:
        """trades: the audit of every trade so far (executions only; mismatches listed)."""
        from broker.audit import build, format_audit

        self.desk.recorder.flush()
        records = list(self.desk.recorder.journal.records())
        self.say(format_audit(build(records), self.timezone))

    def do_flatten(self, arg: str) -> None:
        """flatten SYMBOL: cancel the symbol's entries and exits, then sell what is held at the market
        (reduce-only: sized from the executions, never more)."""
        self._guard(lambda: self._flatten(arg.split()))

    def _flatten(self, args: list[str]) -> None:
        if len(args) != 1:
            raise click.UsageError("flatten SYMBOL")
        symbol = args[0].upper()
        trades = [t for t in self.desk.recorder.trades() if t.symbol.upper() == symbol]
        if not trades:
            self.say(f"flatten {symbol}: no trade on {symbol}: nothing sent")
            return
        for trade in trades:
            self._flatten_trade(trade.trade_id, f"operator: flatten {symbol}", f"flatten {symbol}")

    def _flatten_trade(self, trade_id: str, reason: str, verb: str) -> None:
        trade = self.desk.recorder.trade(trade_id)
        if trade.state in ("closed", "aborted") and not trade.working_orders:
            self.say(f"{verb}: {trade_id} is {trade.state}: nothing sent")
            return
        self.desk.runner.execute(self.desk.recorder.flatten(trade_id, reason))
        after = self.desk.recorder.trade(trade_id)
        held = f"{after.position} shares held go out at the market once the cancels land" if after.position > 0 \
            else "nothing held"
        self.say(f"{verb}: {trade_id}: entry and exits cancelled; {held}")

    def do_kill(self, arg: str) -> None:
        """kill: the kill switch. Every watcher stops, every trade is flattened (reduce-only)."""
        self._guard(self._kill)

    def _kill(self) -> None:
        if self.desk.risk is not None:  # the account halts first: nothing new goes from here on
            self.desk.risk.halt("operator: kill switch")
            self.say(f"kill: the account is {self.desk.risk.state}: no new entry is sent")
        with contextlib.suppress(DeskError):  # no watcher left to stop: the trades still go
            for line in self.desk.cancel(["ALL"]):
                self.say(f"kill: {line}")
        for trade in self.desk.recorder.trades():
            self._flatten_trade(trade.trade_id, "operator: kill switch", "kill")

    # -- the simulated clock ----------------------------------------------------------------------------
    def do_step(self, arg: str) -> None:
        """step [N]: (sim) replay N bars, default 1."""
        self._guard(lambda: self._step(arg))

    def _step(self, arg: str) -> None:
        count = int(arg) if arg.strip().isdigit() else None
        if arg.strip() and (count is None or count < 1):
            raise click.UsageError(f"step N: N must be a whole number >= 1, got {arg.strip()!r}")
        self.driver.run_bars(count or 1)
        self.say(f"at {self.clock()}" + (" (end of the day)" if self.driver.finished else ""))

    def do_run(self, arg: str) -> None:
        """run [HH:MM]: (sim) replay until that exchange time, default the end of the day."""
        self._guard(lambda: self._run(arg.strip()))

    def _run(self, arg: str) -> None:
        if not arg:
            self.driver.run()
        else:
            try:
                clock = dt.time.fromisoformat(arg)
            except ValueError:
                raise click.UsageError(f"run HH:MM: {arg!r} is not a time of day") from None
            day = dt.datetime.fromtimestamp(self.session_start, self.zone).date()
            self.driver.run_until(dt.datetime.combine(day, clock, tzinfo=self.zone).timestamp())
        self.say(f"at {self.clock()}" + (" (end of the day)" if self.driver.finished else ""))

    def do_time(self, arg: str) -> None:
        """time: where the exchange's clock is."""
        self.say(self.clock())

    # -- leaving ---------------------------------------------------------------------------------------
    def do_quit(self, arg: str) -> bool:
        """quit: leave. Asks first when orders are working or watchers are watching (they stay in the
        journal: the next console on the same --journal resumes them)."""
        working = self.desk.working_orders()
        watching = [w.trade_id for w in self.desk.watches.values() if w.active]
        if working or watching:
            self.stdout.write(f"{len(working)} working orders, {len(watching)} watchers watching: leave anyway? [y/N] ")
            self.stdout.flush()
            line = self.stdin.readline()
            if not line:  # end of input: nobody is left to answer; everything stays in the journal
                self.say("\nend of input: leaving; the journal keeps the watchers and the orders' history")
                return True
            if line.strip().lower() not in ("y", "yes"):
                self.say("staying")
                return False
        return True

    def do_EOF(self, arg: str) -> bool:  # noqa: N802 (cmd's name for end of input)
        self.say("")
        return self.do_quit(arg)

    # -- completion ----------------------------------------------------------------------------------
    def complete_breakout(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        words = ["cancel", "ALL", *{w.symbol for w in self.desk.watches.values()},
                 "level=", "qty=", "tp=", "sl=", "tp_alloc=", "entry=", "rule=", "max_bars=", "trade_id=",
                 "targets_crossed="]
        return [w for w in words if w.startswith(text)]

    def complete_flatten(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return [s for s in {t.symbol for t in self.desk.recorder.trades()} if s.startswith(text.upper())]


@contextlib.contextmanager
def history(enabled: bool) -> Any:
    """Readline history across sessions, on a terminal only."""
    if not enabled:
        yield
        return
    try:
        import readline
    except ImportError:  # not on every platform
        yield
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY)
