"""Diagrams come from the declarations (DESIGN.md): the committed docs/machines.md must be exactly
what the generator prints today, and the CLI prints each machine's diagram by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import main
from machines import MACHINES
from supervisor.diagrams import REGENERATE, machines_markdown, render

DOCS = Path(__file__).resolve().parents[1] / "docs" / "machines.md"
NAMES = "Account, Cover, EntryLeg, Ladder, Leg, Milestones, OcaPair, StopLeg, Trade"  # the nine machines, sorted


def test_docs_machines_md_is_up_to_date() -> None:
    committed = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert committed == machines_markdown(), f"docs/machines.md is stale: regenerate it with `{REGENERATE}`"


def test_generated_markdown_is_deterministic_and_names_its_command() -> None:
    text = machines_markdown()
    assert text == machines_markdown()
    assert REGENERATE in text.splitlines()[2]
    assert [line for line in text.splitlines() if line.startswith("## ")] == [f"## {n}" for n in MACHINES]
    assert list(MACHINES) == [
        "Leg", "EntryLeg", "StopLeg", "OcaPair", "Trade", "Ladder", "Cover", "Milestones", "Account"]


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_cli_prints_a_mermaid_diagram_per_machine(name: str) -> None:
    result = CliRunner().invoke(main, ["diagram", name])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stateDiagram-v2\n")
    for state in MACHINES[name].states:
        assert f" {state.id} --> " in result.output or f"--> {state.id} " in result.output


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_diagram_draws_every_declared_transition(name: str) -> None:
    machine = MACHINES[name]
    edges = render(name, "mermaid").splitlines()
    for state in machine.states:
        for t in state.transitions:
            guard = " and ".join(str(c) for c in t.cond)
            label = f"{t.event} [{guard}]" if guard else t.event
            assert f"    {state.id} --> {t.target.id} : {label}" in edges


def test_cli_markdown_for_one_machine() -> None:
    result = CliRunner().invoke(main, ["diagram", "OcaPair", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## OcaPair\n")
    assert "```mermaid\nstateDiagram-v2\n" in result.output
    assert "| `exposed` | `leg_changed` | `ended_empty` | `cancelled` |" in result.output
    assert "| `armed` | `leg_changed` | `lost_for_sure and can_repair` | `armed` (internal) |" in result.output


def test_cli_rejects_an_unknown_machine_with_the_valid_names() -> None:
    result = CliRunner().invoke(main, ["diagram", "Nope"])
    assert result.exit_code != 0
    assert "unknown machine 'Nope'" in result.output
    assert NAMES in result.output


def test_render_unknown_machine_is_a_key_error_listing_the_names() -> None:
    with pytest.raises(KeyError, match=f"valid names: {NAMES}"):
        render("Nope", "mermaid")


def test_cli_markdown_for_every_machine_is_the_docs_page() -> None:
    result = CliRunner().invoke(main, ["diagram", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert result.output == machines_markdown()
