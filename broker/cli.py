"""`order-supervisor`: the command line. It wires a broker adapter to the supervisor (I/O lives
here and in the adapters, never in `supervisor/` decision modules or `machines/`)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="order-supervisor")
def main() -> None:
    """Supervise Interactive Brokers orders with explicit finite-state machines."""


@main.command()
@click.argument("machine", required=False)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "md"]), default="mermaid", show_default=True)
def diagram(machine: str | None, fmt: str) -> None:
    """Print MACHINE's diagram (every machine when omitted), generated from its declaration."""
    from supervisor.diagrams import render

    try:
        click.echo(render(machine, fmt))
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="MACHINE") from exc


if __name__ == "__main__":
    main()
