"""`order-supervisor console`: the interactive prompt hosting several watchers on one connection."""

from __future__ import annotations

import sys
from typing import Any

import click

from broker.cli import options as opt
from broker.cli.controls import control_options, controls_from


@click.command()
@click.option("--broker", "broker_name", type=click.Choice(["sim", "ib"]), default="sim", show_default=True)
@click.option("--bars", type=click.Path(dir_okay=False), help="sim: bars CSV [default: the bundled day]")
@click.option("--quotes", type=click.Path(dir_okay=False), help="sim: quotes CSV (timestamp,bid,ask)")
@click.option("--journal", type=click.Path(dir_okay=False),
              help="journal file: kept, and the watchers it holds resume on the next start")
@click.option("--sim-fault", "sim_faults", multiple=True, metavar="NAME", help="sim: inject a fault (repeatable)")
@click.option("--timezone", default="America/New_York", show_default=True)
@control_options
def console(*, broker_name: str, bars: str | None, quotes: str | None, journal: str | None,
            sim_faults: tuple[str, ...], timezone: str, **control: Any) -> None:
    """An interactive prompt: several breakout watchers on one connection.

    \b
    Verbs: breakout SYMBOL level=.. qty=.. tp=.. sl=.. | breakout cancel SYMBOL|ALL | breakouts
           orders | positions | trades | flatten SYMBOL | kill | step [N] | run [HH:MM] | time | quit
    On the simulated exchange the clock moves only with step and run. Risk limits (--max-*,
    --risk FILE.toml), --entry-ttl and --flatten-at apply to every breakout; kill halts the account.

    \b
    Example:
      order-supervisor console --journal day.sqlite
      os> breakout AAPL level=100.49 qty=100 tp=101.2-101.7-102.4 sl=99.95 entry=market watch_after=30
      os> run 12:30
      os> trades

    Exit codes: 0 after quit; 2 bad options; 3 the broker is out of reach.
    """
    from broker.cli.breakout import journal_file, open_desk, show_health
    from broker.cli.brokers import BrokerChoice, connect
    from broker.console import Console, history

    controls = controls_from(control)
    connection = connect(BrokerChoice(broker_name, bars, quotes, sim_faults, ("SIM",)))
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    with journal_file(journal) as path:
        exchange = connection.exchange
        desk = open_desk(path, connection, risk=controls.factory(exchange.now, day_of=exchange.bars[0].time,
                                                                 timezone=timezone))
        driver = connection.driver(desk)
        try:
            records = list(desk.recorder.journal.records())
            if len(records) > 1:  # a journal with a history: the replay continues where it stopped
                driver.skip_to(max(r.wall for r in records))
                if not desk.catch_up():
                    click.echo("the broker cannot be reached now: reconciling after the reconnect")
            prompt = Console(desk, driver, session_start=connection.exchange.bars[0].time, stdin=sys.stdin,
                             stdout=sys.stdout, timezone=timezone, interactive=interactive,
                             bar_seconds=connection.exchange.bars[0].seconds)
            desk.subscribe(show_health(None, timezone))  # a stalled bar stream, a stale bar: event lines
            with history(interactive):
                prompt.cmdloop()
        finally:
            desk.close()
    sys.exit(opt.EXIT_OK)


COMMANDS = [console]
