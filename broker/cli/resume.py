"""`order-supervisor resume`: the operator's explicit way back after the kill switch.

How it works: the journal's risk book is rebuilt (`RiskBook.replay`, under the limits given here:
`--max-daily-loss` and `--risk FILE.toml`, as the next `run` or `breakout arm` would take them) and
its trading state read. Only a `halted` or `reducing` account is resumed; anything else is refused
(exit 2, nothing journaled). The account machine decides where `resume` goes (machines/account.py):
a halted account goes back to `active`, or to `reducing` while the day's net loss is still at the
daily limit; a reducing account goes back to `active` only once the loss is within the limit (a new
trading day or a higher limit), and is refused otherwise, naming the loss and the limit. An
accepted resume is journaled as a `Resume` record, so every risk book rebuilt from the journal
afterwards (the next command on it) is in that state. Nothing is sent to any broker.

The record is stamped with the journal's clock: the simulated exchange's (the last record's time)
for a `--broker sim` journal, the wall clock otherwise, so the trading day it falls in is the one
the journal trades.

Exit codes: 0 resumed (or declined at the prompt: nothing journaled); 2 a missing or unreadable
journal, bad limits, or an account that is not halted or reducing, or may not resume yet.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from broker.cli import options as opt


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal whose account resumes (a Resume record is appended)")
@click.option("--max-daily-loss", type=opt.POSITIVE_PRICE, default=None,
              help="the daily loss limit the next run trades under (judges a reducing account)")
@click.option("--risk", "risk_file", type=click.Path(dir_okay=False), default=None,
              help="limits from a TOML file, as run and breakout arm take it")
@click.option("--yes", is_flag=True, help="do not ask before resuming")
def resume(*, journal_path: str, max_daily_loss: float | None, risk_file: str | None, yes: bool) -> None:
    """Let trading go on after the kill switch: the journal's account goes from halted (or
    reducing) back to active. Nothing is sent to a broker.

    \b
    Example:
      order-supervisor resume --journal day.sqlite --yes

    Exit codes: 0 resumed (or declined: nothing journaled); 2 bad input, or an account that is not
    halted or reducing, or may not resume yet.
    """
    from statemachine.exceptions import TransitionNotAllowed

    from broker.cli.controls import controls_from
    from broker.cli.kill import _records
    from supervisor.guards import money
    from supervisor.journal import Journal, JournalError
    from supervisor.risk import Resume, RiskBook

    policy = controls_from({"max_daily_loss": max_daily_loss, "risk_file": risk_file}).policy
    records = _records(journal_path)
    book = RiskBook.replay(policy, records)
    before = book.state
    snapshot = book.snapshot()
    if before not in ("halted", "reducing"):
        judged = "" if policy.max_daily_loss is not None else (
            "; judged without a daily loss limit: give --max-daily-loss or --risk as the next run takes them")
        raise click.BadParameter(f"{journal_path}: the account is {before}, not halted or reducing: nothing to "
                                 f"resume (nothing was journaled){judged}", param_hint="--journal")
    now = _clock(records)
    try:
        book.resume(now)
    except TransitionNotAllowed:
        limit = money(policy.max_daily_loss or 0.0)
        raise click.BadParameter(
            f"{journal_path}: the account is reducing: the day's net loss {money(book.model.daily_loss)} is at "
            f"max_daily_loss {limit}; it resumes only within the limit (a new trading day, or a higher "
            "--max-daily-loss); nothing was journaled", param_hint="--journal") from None
    why = f" ({snapshot.halt_reason})" if before == "halted" and snapshot.halt_reason else ""
    click.echo(f"journal: the account is {before}{why}; day {snapshot.trading_day}, net P&L "
               f"{money(snapshot.net_pnl)}, {snapshot.open_trades} open trades")
    if not yes and not click.confirm(f"resume: the account goes {before} -> {book.state}?", default=False):
        click.echo("nothing journaled")
        sys.exit(opt.EXIT_OK)
    try:
        with Journal.open(journal_path, clock_wall=lambda: now) as journal:
            journal.append_call(Resume())
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{journal_path}: {exc}", param_hint="--journal") from None
    after = RiskBook.replay(policy, _records(journal_path)).state
    click.echo(f"RESUMED: the account is {after} (was {before})")
    sys.exit(opt.EXIT_OK)


def _clock(records: list[Any]) -> float:
    """The journal's clock now: the simulated exchange's last time, else the wall clock."""
    from broker.cli.kill import _session

    last = max((r.wall for r in records), default=0.0)
    if _session(records).get("broker") == "sim":
        return float(last)
    return max(float(last), time.time())


COMMANDS = [resume]
