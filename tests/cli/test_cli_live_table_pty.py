"""The live leg table: redrawn in place on a terminal (a pseudo-terminal here), plain lines when piped.

Both spawn `python -m broker.cli breakout arm` on the bundled day (about a second), read until it
ends, and stop the child by its handle if it has not (nothing is left running)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from cli_helpers import QUICK

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "50"}
COMMAND = [sys.executable, "-m", "broker.cli", "breakout", "arm", *QUICK]
CURSOR_UP, ERASE_LINE = "\x1b[1A", "\x1b[2K"


def run_in_pty() -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(COMMAND, stdin=slave, stdout=slave, stderr=slave, env=ENV, cwd=ROOT)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 60)  # a guard against a hung child, not a timing
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", errors="replace")


def test_on_a_terminal_the_table_is_redrawn_in_place() -> None:
    code, out = run_in_pty()
    assert code == 0, out
    table = out.split("order-supervisor  ", 1)[1]
    assert CURSOR_UP in table  # rich moves back over the previous table ...
    assert ERASE_LINE in table  # ... and clears it before drawing the next
    frames = out.count("order-supervisor  ")
    assert frames >= 20  # one redraw per change: watching, fired, the entry filling, each exit
    last_frame = out.rsplit("order-supervisor  ", 1)[1]
    for leg in ("tp1", "tp2", "tp3"):
        assert any(leg in line and "filled" in line for line in last_frame.splitlines())
    assert "OK: closed, flat, realized P&L 105.30" in out


def test_when_piped_the_output_is_plain_lines() -> None:
    proc = subprocess.run(COMMAND, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\x1b[" not in proc.stdout
    lines = proc.stdout.splitlines()
    assert "10:47:30  sim-100.49 tp1      filled                       40/40 avg 101.2    at 101.2" in lines
    assert lines[-1] == "OK: closed, flat, realized P&L 105.30"
