"""Diagrams of the declared machines, generated from the classes alone (no instance, no I/O).

`render(name, "mermaid")` is a Mermaid `stateDiagram-v2`; `render(name, "md")` is a Markdown
section with that diagram in a fenced block and the full transition table. Every transition is
drawn, internal self-transitions included (the library's own formatter leaves them out, and they
are half of what a leg does: duplicates, late fills, re-acknowledgements). Event names are the
method names callers use. `machines_markdown()` is the content of `docs/machines.md`.
"""

from __future__ import annotations

from typing import Any

from machines import MACHINES

REGENERATE = "order-supervisor diagram --format md > docs/machines.md"
FORMATS = ("mermaid", "md")
HEADER = f"# The machines\n\nGenerated from the machine declarations by `{REGENERATE}`: do not edit by hand."


def _rows(machine: type[Any]) -> list[tuple[str, str, str, str, bool]]:
    """(source, event, guard, target, internal) for every declared transition, in declaration order."""
    rows = []
    for state in machine.states:
        for event in machine.events:
            for t in state.transitions:
                if event.id in str(t.event).split():
                    guard = " and ".join(str(c) for c in t.cond)
                    rows.append((state.id, event.id, guard, t.target.id, bool(t.internal)))
    return rows


def _mermaid(machine: type[Any]) -> str:
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {s.id}" for s in machine.states if s.initial]
    for source, event, guard, target, _ in _rows(machine):
        label = f"{event} [{guard}]" if guard else event
        lines.append(f"    {source} --> {target} : {label}")
    lines += [f"    {s.id} --> [*]" for s in machine.states if s.final]
    return "\n".join(lines)


def _markdown(name: str, machine: type[Any]) -> str:
    states = ", ".join(f"`{s.id}`" + (" (initial)" if s.initial else "") + (" (final)" if s.final else "")
                       for s in machine.states)
    lines = [
        f"## {name}",
        "",
        f"States: {states}.",
        "",
        "```mermaid",
        _mermaid(machine),
        "```",
        "",
        "Guarded alternatives of one event are tried in the order listed; the first that holds wins.",
        "An event with no row in a state raises `TransitionNotAllowed` there.",
        "",
        "| state | event | guard | target |",
        "| --- | --- | --- | --- |",
    ]
    for source, event, guard, target, internal in _rows(machine):
        shown = f"`{target}` (internal)" if internal else f"`{target}`"
        lines.append(f"| `{source}` | `{event}` | {f'`{guard}`' if guard else ''} | {shown} |")
    return "\n".join(lines)


def _machine(name: str) -> type[Any]:
    try:
        return MACHINES[name]
    except KeyError:
        raise KeyError(f"unknown machine {name!r}; valid names: {', '.join(sorted(MACHINES))}") from None


def render(machine: str | None, fmt: str) -> str:
    """One machine by name (from `machines.MACHINES`), or every machine when `machine` is None.

    No trailing newline (the caller prints it). `render(None, "md")` is the whole document.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    names = list(MACHINES) if machine is None else [machine]
    if fmt == "mermaid":
        return "\n\n".join(_mermaid(_machine(name)) for name in names)
    sections = [_markdown(name, _machine(name)) for name in names]
    if machine is None:
        sections.insert(0, HEADER)
    return "\n\n".join(sections)


def machines_markdown() -> str:
    """The full content of `docs/machines.md`: exactly what `REGENERATE` writes."""
    return render(None, "md") + "\n"
