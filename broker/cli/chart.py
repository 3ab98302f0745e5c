"""`order-supervisor chart`: a journaled trade drawn on its day's bars, as a PNG (optional extra)."""

from __future__ import annotations

import click

INSTALL = 'pip install "order-supervisor[chart]"'


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal of the run (its bars are journaled with it)")
@click.option("--trade", "trade_id", help="the trade to draw [default: the journal's only trade]")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="the PNG to write")
@click.option("--timezone", default="America/New_York", show_default=True)
def chart(*, journal_path: str, trade_id: str | None, output: str, timezone: str) -> None:
    """Draw a trade: the day's bars, the level, the entry, every target and stop (and their
    repricing), and every execution.

    Needs matplotlib, the optional extra: pip install "order-supervisor[chart]".

    \b
    Example:
      order-supervisor chart --journal day.sqlite --trade sim-100.49 -o day.png

    Exit codes: 0 written; 2 bad input (a missing journal, an unknown trade, no matplotlib).
    """
    from broker.audit import JournalMissingError, read_journal
    from broker.chart import ChartUnavailableError, collect, draw, trades_in
    from supervisor.journal import JournalError

    try:
        import matplotlib  # noqa: F401  (checked first: nothing is read when it is missing)
    except ImportError:
        raise click.UsageError(f"chart needs matplotlib, an optional extra: {INSTALL}") from None
    try:
        records = read_journal(journal_path)
    except JournalMissingError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    except (JournalError, OSError) as exc:
        raise click.BadParameter(f"{journal_path}: not a readable journal ({exc})", param_hint="--journal") from None
    known = trades_in(records)
    if trade_id is None:
        if len(known) != 1:
            raise click.BadParameter(f"the journal holds {len(known)} trades ({', '.join(known) or 'none'}): "
                                     f"name one", param_hint="--trade")
        trade_id = known[0]
    elif trade_id not in known:
        raise click.BadParameter(f"{trade_id!r} is not in {journal_path} (trades: {', '.join(known) or 'none'})",
                                 param_hint="--trade")
    data = collect(records, trade_id)
    if not data.bars:
        raise click.BadParameter(f"{journal_path} holds no bars of {data.symbol}", param_hint="--journal")
    try:
        draw(data, output, timezone)
    except ChartUnavailableError as exc:
        raise click.UsageError(f"chart needs matplotlib ({exc}): {INSTALL}") from None
    except OSError as exc:
        raise click.BadParameter(f"{output}: {exc}", param_hint="--output") from None
    click.echo(f"{output}: {trade_id}: {data.summary()}")


COMMANDS = [chart]
