"""`order-supervisor trades`: the audit of a journal, as a table or as versioned JSON."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal to audit (read only)")
@click.option("--json", "as_json", is_flag=True, help="print the versioned JSON (schema 1) instead of the table")
@click.option("--trade", "trade_ids", multiple=True, help="only this trade id (repeatable)")
@click.option("--timezone", default="America/New_York", show_default=True)
def trades(*, journal_path: str, as_json: bool, trade_ids: tuple[str, ...], timezone: str) -> None:
    """Audit every trade of a journal: per leg the intended, broker and executed quantity, the
    average price from executions only, commission, state and every mismatch.

    A leg is never shown filled when no share executed: a broker status claim is printed beside
    the executions ("status Filled (30), 0 executed").

    \b
    Examples:
      order-supervisor trades --journal day.sqlite
      order-supervisor trades --journal day.sqlite --json --trade aapl-190

    Exit codes: 0 ok; 2 a missing or unreadable journal, or an unknown --trade.
    """
    from broker.audit import JournalMissingError, build, format_audit, read_journal, to_json
    from supervisor.journal import JournalError

    try:
        records = read_journal(journal_path)
    except JournalMissingError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    except (JournalError, OSError, ValueError) as exc:
        raise click.BadParameter(f"{journal_path}: not a readable journal ({exc})", param_hint="--journal") from None
    audit = build(records, list(trade_ids) or None)
    known = {t.trade_id for t in audit.trades} | {w.trade_id for w in audit.watchers}
    missing = [t for t in trade_ids if t not in known]
    if missing:
        raise click.BadParameter(f"{', '.join(missing)} not in {journal_path}", param_hint="--trade")
    click.echo(json.dumps(to_json(audit), indent=2) if as_json else format_audit(audit, timezone))


COMMANDS = [trades]
