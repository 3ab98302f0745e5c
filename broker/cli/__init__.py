"""`order-supervisor`: the command line. It wires a broker adapter to the supervisor (I/O lives
here and in the adapters, never in `supervisor/` decision modules or `machines/`).

One module per command (or group of commands); each registers itself on `main` below, so a new
command is a new module and one line here. Imports inside commands are lazy: `--help` stays quick.
"""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="order-supervisor")
def main() -> None:
    """Supervise Interactive Brokers orders with explicit finite-state machines.

    \b
    Example:
      order-supervisor breakout arm SIM --level 100.49 --qty 100 --tp 101.2-101.7 --sl 99.95 --watch-after 30

    Exit codes: 0 ok (or expired, nothing sent); 2 bad input; 3 the broker refused or is out of
    reach; 4 an invariant broke during the run.
    """


def _register() -> None:
    from broker.cli import (
        bench,
        breakout,
        chart,
        console,
        diagram,
        kill,
        latency,
        reconcile,
        resume,
        run,
        trades,
        tws_sim,
    )

    for module in (bench, breakout, chart, console, diagram, kill, latency, reconcile, resume, run, trades, tws_sim):
        for command in module.COMMANDS:
            main.add_command(command)


_register()

__all__ = ["main"]
