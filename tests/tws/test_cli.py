"""`order-supervisor tws-sim`: the help has an example; bad input ends with exit 2 and a message
naming the option and the value (no traceback, nothing listening); a running gateway serves a real
client and Ctrl-C ends it cleanly with exit 0."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from ib_async import IB
from tws_helpers import CONNECT_TIMEOUT

from broker.cli import main

STOP_TIMEOUT = 20.0  # a failure bound for the subprocess to start or stop, not a measurement


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["tws-sim", *args])
    return result.exit_code, result.output


def test_help_shows_an_example() -> None:
    code, output = invoke("--help")
    assert code == 0
    assert "Example" in output
    assert "order-supervisor tws-sim --port 7497" in output


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "2024-03-14T09:30:00-04:00,100,101,99,100.5,1000\n"
                    "2024-03-14T09:31:00-04:00,100,abc,99,100.5,1000\n")
    return path


@pytest.mark.parametrize(("args", "option", "value"), [
    (["--bars", "no/such/day.csv"], "--bars", "no/such/day.csv"),
    (["--sim-fault", "explode"], "--sim-fault", "explode"),
    (["--sim-fault", "reject:abc"], "--sim-fault", "reject:abc"),
    (["--speed", "-1"], "--speed", "-1"),
    (["--port", "70000"], "--port", "70000"),
    (["--client-id-limit", "0"], "--client-id-limit", "0"),
])
def test_bad_input_exits_2_naming_the_option_and_value(args: list[str], option: str, value: str) -> None:
    code, output = invoke(*args)
    assert code == 2
    assert option in output
    assert value in output
    assert "Traceback" not in output


def test_a_bad_csv_row_exits_2_naming_the_file_and_line(tmp_path: Path) -> None:
    path = _bad_csv(tmp_path)
    code, output = invoke("--bars", str(path), "--port", "0")
    assert code == 2
    assert "--bars" in output
    assert f"{path}:3" in output
    assert "Traceback" not in output


def test_a_port_in_use_exits_2_naming_it(busy_port: int) -> None:
    code, output = invoke("--port", str(busy_port))
    assert code == 2
    assert "--port" in output
    assert str(busy_port) in output
    assert "Traceback" not in output


def test_the_gateway_serves_a_client_and_ctrl_c_ends_it_cleanly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "tws-sim", "--port", "0", "--speed", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "TWS simulator listening on 127.0.0.1:" in banner
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        ib = IB()
        ib.connect("127.0.0.1", port, clientId=1, timeout=CONNECT_TIMEOUT)
        assert ib.managedAccounts() == ["DU1234567"]
        ib.disconnect()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=STOP_TIMEOUT)
        assert process.returncode == 0
        assert "TWS simulator stopped" in out
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()  # by its handle, only if the test failed before stopping it
            process.wait(STOP_TIMEOUT)
