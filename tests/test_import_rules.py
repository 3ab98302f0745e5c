"""The layering rule of DESIGN.md, enforced: the core never imports the I/O world.

- nothing under machines/ or supervisor/ imports ib_async or anything in broker/;
- nothing under machines/ imports asyncio, loguru, sqlite3 or socket;
- in supervisor/, only the I/O modules (the runner, the journal) may, and the decision modules
  never import those I/O modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_LIBS = {"asyncio", "loguru", "sqlite3", "socket"}
ADAPTER_LIBS = {"ib_async", "broker"}
SUPERVISOR_IO_MODULES = {"runner", "journal"}


def imported_roots(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_io_module(path: Path) -> bool:
    return path.stem.split("_")[0] in SUPERVISOR_IO_MODULES


def violations(package: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for name in imported_roots(path):
            top = name.split(".")[0]
            rel = path.relative_to(root)
            if top in ADAPTER_LIBS:
                found.append(f"{rel}: imports {name} (adapters stay behind the port)")
            elif top in IO_LIBS and (package == "machines" or not is_io_module(path)):
                found.append(f"{rel}: imports {name} (I/O outside the runner/journal modules)")
            elif package == "supervisor" and not is_io_module(path) and top == "supervisor":
                parts = name.split(".")
                if len(parts) > 1 and parts[1].split("_")[0] in SUPERVISOR_IO_MODULES:
                    found.append(f"{rel}: decision module imports the I/O module {name}")
    return found


@pytest.mark.parametrize("package", ["machines", "supervisor"])
def test_core_does_not_import_the_io_world(package: str) -> None:
    assert violations(package) == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlite3\nfrom broker.sim import SimBroker\nfrom supervisor.journal import Journal\n")
    assert imported_roots(bad) >= {"sqlite3", "broker.sim", "supervisor.journal"}
    # and the same rule, pointed at a tree holding that file, reports it
    pkg = tmp_path / "machines"
    pkg.mkdir()
    (pkg / "bad.py").write_text(bad.read_text())
    assert len(violations("machines", root=tmp_path)) == 3
