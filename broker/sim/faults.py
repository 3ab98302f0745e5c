# How faults are named and chosen: each fault is a frozen `Fault` parsed from the spelling the CLI
# takes (`--sim-fault NAME`, repeatable): `name`, `name@N`, `reject:CODE[@N]`, `disconnect:WHEN`,
# `stall:WHEN:SECONDS`.
# `@N` picks the Nth occurrence the fault counts (orders, attached children, executions or cancels,
# see FAULT_HELP); without it a fault hits either every occurrence or only the first, as listed
# there. `Faults` is the set a `SimBroker` runs with and answers "does this fault hit occurrence
# N?". What each fault does lives where it acts (reporting.py for what is reported, broker.py
# for what the exchange does and which bars it hands out); this module only knows names,
# arguments, counting and time windows.
from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable

import attrs


class FaultName(enum.Enum):
    DUPLICATE_EXECUTIONS = "duplicate-executions"
    REORDER = "reorder"
    STATUS_WITHOUT_FILL = "status-without-fill"
    PARENT_SIZED_CHILDREN = "parent-sized-children"
    LATE_FILL = "late-fill"
    DROP_ACK = "drop-ack"
    REJECT = "reject"
    DISCONNECT = "disconnect"
    CORRECTION = "correction"
    STALL = "stall"


# name -> (what N counts, default when no @N is given, what happens)
FAULT_HELP: dict[FaultName, tuple[str, str, str]] = {
    FaultName.DUPLICATE_EXECUTIONS: ("executions", "every", "each ExecutionReported is delivered twice"),
    FaultName.REORDER: (
        "orders",
        "every",
        "the order's OrderAccepted (and its status) is held back until just after its first "
        "ExecutionReported (or until the order ends unfilled)",
    ),
    FaultName.STATUS_WITHOUT_FILL: (
        "orders",
        "every",
        "right after the acknowledgement a StatusObserved('Filled', filled=qty, remaining=0) arrives "
        "with no execution behind it; the order keeps working",
    ),
    FaultName.PARENT_SIZED_CHILDREN: (
        "attached children",
        "every",
        "the child is accepted and worked with its parent's quantity",
    ),
    FaultName.LATE_FILL: (
        "cancels of a working order",
        "first",
        "the exchange fills the rest just before the cancel takes effect: OrderCancelled is "
        "reported first, then the ExecutionReported (at the limit price, else the last price); "
        "a stop the price has not reached is held by the broker, not at the exchange, so it "
        "cannot fill this way",
    ),
    FaultName.DROP_ACK: ("orders", "first", "the OrderAccepted and its status are never delivered"),
    FaultName.REJECT: ("orders", "first", "reject:CODE: the order is rejected with IB error CODE"),
    FaultName.DISCONNECT: (
        "-",
        "-",
        "disconnect:WHEN (seconds after the first bar's start, or an ISO-8601 time with offset): "
        "ConnectionLost at WHEN, ConnectionRestored after SimConfig.outage_seconds; every "
        "exchange event due in between is lost (query() still shows the truth)",
    ),
    FaultName.CORRECTION: (
        "executions",
        "first",
        "the execution is re-reported SimConfig.correction_delay later under its next revision "
        "(IB's `...01.01` -> `...01.02`), the same quantity and a price SimConfig.correction_ticks ticks away",
    ),
    FaultName.STALL: (
        "-",
        "-",
        "stall:WHEN:SECONDS (WHEN as for disconnect): the bar stream stalls; no bar that closes from WHEN "
        "for SECONDS is handed to data subscribers (last_closed, next_bar, advance_to). Those bars are "
        "lost, as a real-time bar stream's are, while the exchange keeps matching their prices",
    ),
}

_EVERY_BY_DEFAULT = {
    FaultName.DUPLICATE_EXECUTIONS,
    FaultName.REORDER,
    FaultName.STATUS_WITHOUT_FILL,
    FaultName.PARENT_SIZED_CHILDREN,
}


@attrs.frozen
class Fault:
    """One injected fault. `nth` None: the default of FAULT_HELP (every occurrence, or the first)."""

    name: FaultName
    nth: int | None = None
    code: int | None = None  # reject
    after_seconds: float | None = None  # disconnect, stall: seconds after the first bar's start
    at_time: float | None = None  # disconnect, stall: an absolute epoch time
    seconds: float | None = None  # stall: how long no bar is handed out

    def hits(self, n: int) -> bool:
        """Does this fault hit the `n`th (1-based) occurrence of what it counts?"""
        if self.nth is not None:
            return n == self.nth
        return self.name in _EVERY_BY_DEFAULT or n == 1

    def __str__(self) -> str:
        text = self.name.value
        if self.name is FaultName.REJECT:
            text += f":{self.code}"
        elif self.name in (FaultName.DISCONNECT, FaultName.STALL):
            if self.at_time is not None:
                text += ":" + dt.datetime.fromtimestamp(self.at_time, dt.UTC).isoformat()
            else:
                text += f":{self.after_seconds:g}"
            if self.name is FaultName.STALL:
                text += f":{self.seconds:g}"
        return text + (f"@{self.nth}" if self.nth is not None else "")

    def start(self, first_bar_time: float) -> float:
        """When a timed fault (disconnect, stall) begins."""
        return self.at_time if self.at_time is not None else first_bar_time + (self.after_seconds or 0.0)


def _known() -> str:
    return ", ".join(name.value for name in FaultName)


def parse_fault(text: str) -> Fault:
    """Parse one `--sim-fault` value. Raises ValueError naming the problem and the known faults."""
    spec = text.strip()
    name_part, _, argument = spec.partition(":")
    nth: int | None = None
    if "@" in (argument or name_part):
        if argument:
            argument, _, nth_text = argument.rpartition("@")
        else:
            name_part, _, nth_text = name_part.rpartition("@")
        if not nth_text.isdigit() or int(nth_text) < 1:
            raise ValueError(f"fault {text!r}: @N must be a positive integer, got {nth_text!r}")
        nth = int(nth_text)
    try:
        name = FaultName(name_part.strip().lower())
    except ValueError:
        raise ValueError(f"unknown fault {text!r}; known faults: {_known()}") from None
    if name is FaultName.REJECT:
        if not argument.strip().isdigit():
            raise ValueError(f"fault {text!r}: spell it reject:<IB error code>[@N], e.g. reject:201@2")
        return Fault(name, nth=nth, code=int(argument))
    if name is FaultName.DISCONNECT:
        if nth is not None:
            raise ValueError(f"fault {text!r}: disconnect takes no @N")
        return _parse_disconnect(text, argument.strip())
    if name is FaultName.STALL:
        if nth is not None:
            raise ValueError(f"fault {text!r}: stall takes no @N")
        return _parse_stall(text, argument.strip())
    if argument:
        raise ValueError(f"fault {text!r}: {name.value} takes no argument")
    return Fault(name, nth=nth)


def _parse_when(argument: str) -> tuple[float | None, float | None] | None:
    """(after_seconds, at_time) from `600` or an ISO-8601 time with offset; None if neither."""
    try:
        seconds = float(argument)
    except ValueError:
        pass
    else:
        return (seconds, None) if math.isfinite(seconds) else None
    try:
        stamp = dt.datetime.fromisoformat(argument)
    except ValueError:
        return None
    return None if stamp.tzinfo is None else (None, stamp.timestamp())


def _parse_disconnect(text: str, argument: str) -> Fault:
    when = _parse_when(argument)
    if when is None:
        raise ValueError(
            f"fault {text!r}: spell it disconnect:<seconds after the first bar> or "
            "disconnect:<ISO-8601 time with offset>, e.g. disconnect:600 or disconnect:2024-03-14T10:30:00-04:00"
        )
    if when[0] is not None and when[0] < 0:
        raise ValueError(f"fault {text!r}: the disconnect time must be >= 0 seconds")
    return Fault(FaultName.DISCONNECT, after_seconds=when[0], at_time=when[1])


def _parse_stall(text: str, argument: str) -> Fault:
    # the time may be ISO-8601 with colons in it: the length is after the last one
    when_text, _, seconds_text = argument.rpartition(":")
    when = _parse_when(when_text.strip()) if when_text else None
    try:
        seconds = float(seconds_text)
    except ValueError:
        seconds = math.nan
    if when is None or not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"fault {text!r}: spell it stall:<seconds after the first bar>:<seconds without bars> or "
            "stall:<ISO-8601 time with offset>:<seconds>, e.g. stall:600:300 or stall:2024-03-14T10:30:00-04:00:300"
        )
    if when[0] is not None and when[0] < 0:
        raise ValueError(f"fault {text!r}: the stall time must be >= 0 seconds")
    return Fault(FaultName.STALL, after_seconds=when[0], at_time=when[1], seconds=seconds)


@attrs.frozen
class Faults:
    """The faults a simulated exchange runs with (empty: a well-behaved broker)."""

    items: tuple[Fault, ...] = ()

    @classmethod
    def of(cls, specs: Iterable[Fault | str] = ()) -> Faults:
        return cls(tuple(spec if isinstance(spec, Fault) else parse_fault(spec) for spec in specs))

    def hits(self, name: FaultName, n: int) -> bool:
        return any(fault.name is name and fault.hits(n) for fault in self.items)

    def reject_code(self, n: int) -> int | None:
        for fault in self.items:
            if fault.name is FaultName.REJECT and fault.hits(n):
                return fault.code
        return None

    def outages(self, first_bar_time: float, length: float) -> list[tuple[float, float]]:
        """The [lost, restored) windows of every disconnect fault, in time order."""
        starts = [fault.start(first_bar_time) for fault in self.items if fault.name is FaultName.DISCONNECT]
        return [(start, start + length) for start in sorted(starts)]

    def stalls(self, first_bar_time: float) -> list[tuple[float, float]]:
        """The [from, until) windows in which no bar is handed out, in time order."""
        return sorted((fault.start(first_bar_time), fault.start(first_bar_time) + (fault.seconds or 0.0))
                      for fault in self.items if fault.name is FaultName.STALL)

    def __str__(self) -> str:
        return " ".join(str(fault) for fault in self.items) or "none"
