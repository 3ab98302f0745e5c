# How faults are named and chosen: each fault is a frozen `Fault` parsed from the spelling the CLI
# takes (`--sim-fault NAME`, repeatable): `name`, `name@N`, `reject:CODE[@N]`, `disconnect:WHEN`.
# `@N` picks the Nth occurrence the fault counts (orders, attached children, executions or cancels,
# see FAULT_HELP); without it a fault hits either every occurrence or only the first, as listed
# there. `Faults` is the set a `SimBroker` runs with and answers "does this fault hit occurrence
# N?". What each fault does lives where it acts (reporting.py for what is reported, broker.py
# for what the exchange does); this module only knows names, arguments and counting.
from __future__ import annotations

import datetime as dt
import enum
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
        "reported first, then the ExecutionReported (at the limit price, else the last price)",
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
    after_seconds: float | None = None  # disconnect: seconds after the first bar's start
    at_time: float | None = None  # disconnect: an absolute epoch time

    def hits(self, n: int) -> bool:
        """Does this fault hit the `n`th (1-based) occurrence of what it counts?"""
        if self.nth is not None:
            return n == self.nth
        return self.name in _EVERY_BY_DEFAULT or n == 1

    def __str__(self) -> str:
        text = self.name.value
        if self.name is FaultName.REJECT:
            text += f":{self.code}"
        elif self.name is FaultName.DISCONNECT:
            if self.at_time is not None:
                text += ":" + dt.datetime.fromtimestamp(self.at_time, dt.UTC).isoformat()
            else:
                text += f":{self.after_seconds:g}"
        return text + (f"@{self.nth}" if self.nth is not None else "")


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
    if argument:
        raise ValueError(f"fault {text!r}: {name.value} takes no argument")
    return Fault(name, nth=nth)


def _parse_disconnect(text: str, argument: str) -> Fault:
    try:
        seconds = float(argument)
    except ValueError:
        pass
    else:
        if seconds < 0:
            raise ValueError(f"fault {text!r}: the disconnect time must be >= 0 seconds")
        return Fault(FaultName.DISCONNECT, after_seconds=seconds)
    try:
        stamp = dt.datetime.fromisoformat(argument)
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise ValueError(
            f"fault {text!r}: spell it disconnect:<seconds after the first bar> or "
            "disconnect:<ISO-8601 time with offset>, e.g. disconnect:600 or disconnect:2024-03-14T10:30:00-04:00"
        )
    return Fault(FaultName.DISCONNECT, at_time=stamp.timestamp())


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
        starts = [
            fault.at_time if fault.at_time is not None else first_bar_time + (fault.after_seconds or 0.0)
            for fault in self.items
            if fault.name is FaultName.DISCONNECT
        ]
        return [(start, start + length) for start in sorted(starts)]

    def __str__(self) -> str:
        return " ".join(str(fault) for fault in self.items) or "none"
