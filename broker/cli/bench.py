"""`order-supervisor bench`: every figure of issue 10, measured in this process beside its reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from broker.bench import NAMES as _FIGURES


@click.command()
@click.option("--quick", is_flag=True, help="few iterations: the whole run in well under a minute (CI)")
@click.option("--json", "as_json", is_flag=True,
              help='print {"figures": [{"name", "median_us", "p99_us", "reference_median_us", "ratio", '
                   '"budget", "met", ...}], ...} instead of the table')
@click.option("--only", "only", multiple=True, metavar="FIGURE",
              help=f"measure only this figure (repeatable): {', '.join(_FIGURES)}")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False), default=None,
              help="keep the journal of the order-path iterations here (a new file), for "
                   "`order-supervisor latency --journal PATH`")
def bench(*, quick: bool, as_json: bool, only: tuple[str, ...], journal_path: str | None) -> None:
    """Measure how fast orders are placed and what the supervisor costs, each figure next to its
    reference (bare ib_async on the same connection, the bare state-machine library), after a
    warm-up, over many iterations: median, p99, the ratio, the budget and whether it was met.

    signal_to_wire and fill_to_protected run a real ib_async client against the TWS simulator over
    loopback (127.0.0.1, a free port, stopped when done). A figure that misses its budget is shown
    as MISSING with its reason; that is a finding, not a failure of the command.

    \b
    Examples:
      order-supervisor bench --quick
      order-supervisor bench --json > figures.json
      order-supervisor bench --only signal_to_wire --only fill_to_protected
      order-supervisor bench --quick --journal wire.sqlite && order-supervisor latency --journal wire.sqlite

    Exit codes: 0 the figures were measured (met or not); 2 bad input; 1 a measured path did not do
    what it measures (an order never written, a trade left unprotected).
    """
    unknown = [name for name in only if name not in _FIGURES]
    if unknown:
        raise click.BadParameter(f"{', '.join(map(repr, unknown))}: not a figure (one of {', '.join(_FIGURES)})",
                                 param_hint="--only")
    journal = Path(journal_path) if journal_path is not None else None
    if journal is not None and journal.exists():
        raise click.BadParameter(f"{journal} exists: give a new file", param_hint="--journal")
    if journal is not None and not journal.parent.is_dir():
        raise click.BadParameter(f"{journal.parent} is not a directory", param_hint="--journal")
    from broker.bench.suite import run
    from broker.bench.wire import BenchError

    def progress(line: str) -> None:
        click.echo(line, err=True)

    try:
        result = run(quick=quick, only=only, progress=progress, journal=journal)
    except (BenchError, RuntimeError) as exc:
        click.echo(f"bench failed: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({
            "figures": [f.to_json() for f in result.figures],
            "statemachine_transition": {"median_us": round(result.transition_median_us, 1),
                                        "p99_us": round(result.transition_p99_us, 1)},
            "quick": result.quick, "machine": result.machine, "seconds": round(result.seconds, 1),
            "notes": list(result.notes),
        }, indent=2))
        return
    from broker.bench.figures import render

    click.echo(render(result.figures, result.notes))


COMMANDS = [bench]
