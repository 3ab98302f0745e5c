"""`order-supervisor latency`: per step of the order path, the percentiles over a journal's trades."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--journal", "journal_path", required=True, type=click.Path(dir_okay=False),
              help="the journal to read (read only)")
@click.option("--json", "as_json", is_flag=True,
              help='print {"trades", "unit", "steps": [{"step", "from", "to", "n", "p50_us", "p90_us", '
                   '"p99_us", "max_us"}], "whole": {...}, "stamps": [...]} instead of the table')
def latency(*, journal_path: str, as_json: bool) -> None:
    """How fast each trade's orders went out: per step, the p50/p90/p99/max over every trade of
    the journal, in microseconds, and for the whole path.

    \b
    Steps: trigger -> intent       the bar or quote that fired, to the supervisor's intent
           intent -> sent          to the entry handed to the socket (the adapter's stamp)
           sent -> ack             to the broker's acknowledgement
           ack -> first_execution  to the entry's first execution
           first_execution -> exits_out   to the last exit order on the wire
    The stamps are read as recorded: give the supervisor and the broker adapter one clock.

    \b
    Examples:
      order-supervisor latency --journal day.sqlite
      order-supervisor latency --journal day.sqlite --json

    Exit codes: 0 ok (also for a journal with no trade); 2 a missing file or one that is not a
    readable journal.
    """
    from broker.bench.latency import JournalMissingError, load, render
    from supervisor.journal import JournalError

    try:
        result = load(journal_path)
    except JournalMissingError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    except (JournalError, OSError, ValueError) as exc:
        raise click.BadParameter(f"{journal_path}: not a readable journal ({exc})", param_hint="--journal") from None
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else render(result, journal_path))


COMMANDS = [latency]
