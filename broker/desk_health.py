"""`StreamHealth`: the desk's market-data health, its bar streams' monitors and their requests.

How it works: the desk (broker/desk.py) tells it of each bar of a symbol (`heard`) and, as time
passes on the desk's clock, asks it to `check` the symbols still watched. Each watched symbol has a
`strategies.health.BarStreamMonitor` (sans-IO); what a monitor asks for (`Resubscribe`) is carried
out here, through the market-data port (`subscribe_bars`, which every market adapter takes; asking
again while bars flow is harmless), and what it says (stalled, recovery started, recovered, failed)
goes to `note`, the desk's journal-and-emit. A symbol no watcher watches any more is dropped.
`ignored(...)` notes a bar kept from the watchers for being stale, once per bar, naming them.
`stale_bars(records)` reads back from the journal which bars those were (a restart replays the
journaled bars into the watchers, minus these).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import attrs

from strategies.health import (
    BarStreamEvent,
    BarStreamMonitor,
    HealthPolicy,
    MonitorOutput,
    Resubscribe,
    StaleBarIgnored,
)
from supervisor.market import Bar

HealthEvent = BarStreamEvent | StaleBarIgnored
BAR_SECONDS = 60.0  # the desk's watchers read 1-minute bars (second bars prove the stream alive too)


@runtime_checkable
class BarSubscriber(Protocol):
    """The part of a `MarketDataPort` the desk uses: asking for a symbol's bars again."""

    def subscribe_bars(self, symbol: str, bar_seconds: int) -> None: ...


Note = Callable[..., None]  # note(event, **journaled extras)


class StreamHealth:
    def __init__(self, policy: HealthPolicy, bars: BarSubscriber | None, note: Note) -> None:
        self.policy = policy
        self.bars = bars
        self._note = note
        self.monitors: dict[str, BarStreamMonitor] = {}  # symbol -> its stream's health, while watched
        self.resubscribed: list[Resubscribe] = []  # every request carried out (none without a port)

    def watch(self, symbol: str, now: float) -> None:
        if symbol not in self.monitors:
            self.monitors[symbol] = BarStreamMonitor(symbol, BAR_SECONDS, started=now, policy=self.policy)

    def subscribed(self, now: float) -> None:
        """Every stream starts again at `now` (a restarted process caught up to where its journal
        stopped): the silence counts from here, not from when the monitors were made."""
        for symbol in self.monitors:
            self.monitors[symbol] = BarStreamMonitor(symbol, BAR_SECONDS, started=now, policy=self.policy)

    def heard(self, symbol: str, bar: Bar, now: float) -> None:
        monitor = self.monitors.get(symbol)
        if monitor is not None:
            self._carry(monitor.on_bar(bar, now))

    def check(self, now: float, watched: set[str]) -> None:
        for symbol in list(self.monitors):
            if symbol not in watched:
                del self.monitors[symbol]
            else:
                self._carry(self.monitors[symbol].check(now))

    def ignored(self, stale: list[tuple[str, StaleBarIgnored]], bar: Bar) -> None:
        """`stale`: (trade id, why) of each watcher the bar was kept from."""
        if stale:
            self._note(stale[0][1], bar_time=bar.time, bar_seconds=bar.seconds,
                       trade_ids=[trade_id for trade_id, _ in stale])

    def _carry(self, outputs: list[MonitorOutput]) -> None:
        for output in outputs:
            if isinstance(output, Resubscribe):
                if self.bars is not None:
                    self.bars.subscribe_bars(output.symbol, int(output.bar_seconds))
                    self.resubscribed.append(output)
            else:
                self._note(output)


def health_record(event: HealthEvent, **extra: Any) -> dict[str, Any]:
    """How a health event is journaled: `{"health": health_record(event)}`, a meta record."""
    return {"event": type(event).__name__, **attrs.asdict(event), **extra}


def stale_bars(values: Iterable[Any]) -> set[tuple[str, float]]:
    """(symbol, bar start) of every bar journaled as kept from the watchers, from meta values."""
    found: set[tuple[str, float]] = set()
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("health"), dict):
            note = value["health"]
            if note.get("event") == "StaleBarIgnored":
                found.add((note["symbol"], note["bar_time"]))
    return found
