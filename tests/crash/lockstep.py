"""The parent side of the crash test: the simulated exchange in this process, the supervisor in a
child (`crash_child.py`) that this process kills with SIGKILL and starts again on the same journal.

The exchange outlives the supervisor, as a real broker does. Lockstep keeps every run
reproducible: the parent steps the sim one price point, sends "step" (with the bar that closed,
if any), serves the child's port calls (`broker.pipe_host.PipeHost`) and waits for its "done".
A `KillPoint` names a message (by what it carries, or by its index in the whole run); right
after the parent has served it (an `execute` has reached the exchange, a `poll` has been
answered) the child is killed, the events it had not polled are dropped (lost with its
connection), the market moves on `dead_steps` price points with nobody listening, and a new
child starts on the journal, reconciles, and the run goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from broker.pipe import LineChannel, Message
from broker.pipe_host import PipeHost
from broker.sim import SimBroker, SimConfig, load_bars
from broker.sim_session import DEFAULT_LEVEL, DEFAULT_WATCH_AFTER, bundled_day, default_plan
from supervisor import codec
from supervisor.plan import TradePlan

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]
# the ladder closes at 12:20 (TP3) on the bundled day: 200 bars (to 12:50) leave room for a
# path a crash delayed, and keep each run short
BARS = 200
READ_TIMEOUT = 30.0  # a guard, never a pacing: the lockstep has no sleeps
MAX_DRAIN_STEPS = 50


class ChildKilledError(Exception):
    """Raised out of `serve()` once the child was killed at a kill point."""


Match = Callable[[int, Message, Message | None], bool]  # (index in the whole run, message, answer)


@attrs.frozen
class KillPoint:
    name: str
    matcher: Callable[[], Match]  # a fresh matcher per run (they count occurrences)
    dead_steps: int = 0  # price points the market moves while no supervisor is running


def on_execute(command_type: str, ref_suffix: str, nth: int = 1) -> Callable[[], Match]:
    """Right after the exchange took this command (its journal record is not committed yet)."""
    return lambda: _on_execute(command_type, ref_suffix, nth)


def _on_execute(command_type: str, ref_suffix: str, nth: int) -> Match:
    seen = [0]

    def match(index: int, message: Message, reply: Message | None) -> bool:
        command = message.get("command") or {}
        if (message["op"] == "execute" and command.get("type") == command_type
                and str(command.get("order_ref", "")).endswith(ref_suffix)):
            seen[0] += 1
            return seen[0] == nth
        return False
    return match


def on_delivered(event_type: str, ref_suffix: str = "", nth: int = 1) -> Callable[[], Match]:
    """Right after a poll answer carried this event (the child holds it, maybe half processed)."""
    return lambda: _on_delivered(event_type, ref_suffix, nth)


def _on_delivered(event_type: str, ref_suffix: str, nth: int) -> Match:
    seen = [0]

    def match(index: int, message: Message, reply: Message | None) -> bool:
        if message["op"] != "poll" or reply is None:
            return False
        for event in reply.get("events", []):
            if event.get("type") == event_type and str(event.get("order_ref", "")).endswith(ref_suffix):
                seen[0] += 1
                if seen[0] == nth:
                    return True
        return False
    return match


def on_done_after(hhmm: str) -> Callable[[], Match]:
    """At the first "done" (a step journaled and flushed) at or after this New York time."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    hour, minute = (int(x) for x in hhmm.split(":"))
    when = dt.datetime(2024, 3, 14, hour, minute, tzinfo=ZoneInfo("America/New_York")).timestamp()

    def match(index: int, message: Message, reply: Message | None) -> bool:
        return message["op"] == "done" and float(message.get("now_seen", 0.0)) >= when
    return lambda: match


def at_index(target: int) -> Callable[[], Match]:
    """After the message of this index in the whole run (all children, all kinds)."""
    def match(index: int, message: Message, reply: Message | None) -> bool:
        return index == target
    return lambda: match


@attrs.define
class Run:
    """One lockstep run of the ladder; `kills` are used once each, in order."""

    journal: Path
    kills: list[KillPoint] = attrs.field(factory=list)
    plan: TradePlan = attrs.field(factory=default_plan)
    config: SimConfig | None = None
    trace: list[tuple[int, Message, Message | None]] = attrs.field(factory=list)
    record_trace: bool = False
    sim: SimBroker = attrs.field(init=False)
    spawns: int = 0
    killed: list[str] = attrs.field(factory=list)
    restarts: list[Message] = attrs.field(factory=list)  # the first "done" of every restarted child
    lost_events: int = 0
    final: Message | None = None
    _index: int = 0
    _dead_steps: int = 0
    _matchers: list[Match] = attrs.field(factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _host: PipeHost | None = None
    _stderr: Any = None

    def __attrs_post_init__(self) -> None:
        self._matchers = [point.matcher() for point in self.kills]
        self.sim = SimBroker(load_bars(bundled_day())[:BARS], config=self.config, symbol=self.plan.symbol)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> Message:
        try:
            self._exchange(None)  # the first child: arm, pump
            while self.sim.step():
                bar = self.sim.last_closed
                self._exchange({"op": "step", "bar": None if bar is None else attrs.asdict(bar)})
            self._exchange({"op": "end_of_data"})
            quiet = 0
            for _ in range(MAX_DRAIN_STEPS):
                self.sim.step()  # at the end of data: lets every pending latency and expiry come due
                quiet = quiet + 1 if self._exchange({"op": "step", "bar": None})["handled"] == 0 else 0
                if quiet >= 2:
                    break
            final = self._exchange({"op": "finish"})
            assert final["op"] == "bye", final
            self.final = final
            assert self._proc is not None
            assert self._proc.wait(timeout=READ_TIMEOUT) == 0
            return final
        finally:
            self._reap()

    def _exchange(self, message: Message | None) -> Message:
        """Send `message` to the live child (None: just start one) and serve it until it answers;
        a kill on the way restarts the child, whose start-up answer stands for the message."""
        while True:
            try:
                if self._host is None:
                    return self._spawn()
                assert message is not None
                self._host.send(message)
                return self._serve()
            except ChildKilledError:
                self._after_kill()

    def _spawn(self) -> Message:
        self.spawns += 1
        self._stderr = open(self.journal.with_suffix(f".stderr{self.spawns}"), "wb")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(self.journal)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, cwd=ROOT, bufsize=0,
        )
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        channel = LineChannel(self._proc.stdout.fileno(), self._proc.stdin.fileno(), timeout=READ_TIMEOUT)
        self._host = PipeHost(self.sim, self.sim.now, channel, observe=self._observe)
        start_time = self.sim.bars[0].time
        self._host.send({"op": "start", "plan": codec.encode(self.plan), "level": DEFAULT_LEVEL,
                         "watch_start": start_time + DEFAULT_WATCH_AFTER})
        answer = self._serve()
        if self.spawns > 1:
            self.restarts.append(answer)
        return answer

    def _serve(self) -> Message:
        assert self._host is not None
        try:
            answer = self._host.serve()
        except (ConnectionError, TimeoutError) as exc:
            raise AssertionError(f"the child failed: {exc}\n{self.child_stderr()}") from exc
        if answer["op"] not in ("done", "bye"):
            raise AssertionError(f"unexpected message from the child: {answer}")
        return answer

    def _observe(self, _: int, message: Message) -> None:
        assert self._host is not None
        index = self._index
        self._index += 1
        reply = self._host.last_reply if message["op"] in ("poll", "query") else None
        if message["op"] == "done":
            message = {**message, "now_seen": self.sim.now()}
        if self.record_trace:
            self.trace.append((index, message, reply))
        if self.kills and self._matchers[0](index, message, reply):
            point = self.kills.pop(0)
            self._matchers.pop(0)
            self._kill()
            self.killed.append(point.name)
            self._dead_steps = point.dead_steps
            raise ChildKilledError(point.name)

    def _after_kill(self) -> None:
        self.lost_events += len(self.sim.poll())  # lost with the connection
        for _ in range(self._dead_steps):
            self.sim.step()  # the market moves on: fills happen with nobody listening
            self.lost_events += len(self.sim.poll())

    # -- processes -----------------------------------------------------------------------------
    def _kill(self) -> None:
        proc = self._proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=READ_TIMEOUT) == -signal.SIGKILL
        self._close_pipes()

    def _close_pipes(self) -> None:
        proc = self._proc
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self._host = None

    def _reap(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=READ_TIMEOUT)
        self._close_pipes()

    def child_stderr(self) -> str:
        paths = sorted(self.journal.parent.glob(self.journal.stem + ".stderr*"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in paths)
