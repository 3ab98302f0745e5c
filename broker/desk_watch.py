"""What the desk of watchers keeps per watcher (`Watch`), what it says of them (`WatcherEvent`),
what it reads the market through (`MarketSource`), and what it refuses (`DeskError`)."""

from __future__ import annotations

from typing import Protocol

import attrs

from strategies.breakout import BreakoutSetup, BreakoutWatcher, Signal
from strategies.health import FreshBars
from supervisor.market import Bar, Quote

ENDED = frozenset({"fired", "expired", "failed", "refused", "cancelled", "missed"})


@attrs.frozen(kw_only=True)
class WatcherEvent:
    """What happened to a watcher (the desk's own events, beside the supervisor's)."""

    trade_id: str
    symbol: str
    kind: str  # armed, resumed, fired, expired, failed, refused, cancelled, missed
    time: float
    detail: str = ""
    leg: str = ""


class MarketSource(Protocol):
    """The market data the desk reads when arming and firing (`SimExchange` has these)."""

    def now(self) -> float: ...
    def history(self) -> list[Bar]: ...
    def latest_quote(self, symbol: str) -> Quote | None: ...


@attrs.define(eq=False)
class Watch:
    setup: BreakoutSetup
    watcher: BreakoutWatcher
    status: str = "watching"  # or one of ENDED
    prearmed: bool = False  # a market entry: the trade is armed in the supervisor already
    detail: str = ""
    armed_seq: int = 0
    fresh: FreshBars[Signal] | None = attrs.field(default=None, eq=False)  # set by the desk

    @property
    def trade_id(self) -> str:
        return self.setup.trade_id

    @property
    def symbol(self) -> str:
        return self.setup.symbol

    @property
    def active(self) -> bool:
        return self.status == "watching"


class DeskError(ValueError):
    """A request the desk refuses (a trade id already used, nothing to cancel); nothing was sent."""
