"""`order-supervisor diagram`: the machines' diagrams, generated from their declarations."""

from __future__ import annotations

import click


@click.command()
@click.argument("machine", required=False)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "md"]), default="mermaid", show_default=True)
def diagram(machine: str | None, fmt: str) -> None:
    """Print MACHINE's diagram (every machine when omitted), generated from its declaration.

    \b
    Example:
      order-supervisor diagram --format md > docs/machines.md
    """
    from supervisor.diagrams import render

    try:
        click.echo(render(machine, fmt))
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="MACHINE") from exc


COMMANDS = [diagram]
