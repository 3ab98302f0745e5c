"""What the operator sees while a breakout runs: one row per watcher and per leg, kept current.

`rows(desk)` is the table's content: a watcher that has not fired is one row (its status and bars
watched); a trade is one row per leg: state, executed / intended quantity, average price (from
executions only), and its price (the stop level for stops, the limit for targets and the entry).

Two ways to show it, chosen by `LegView.for_stream`:

- `LiveTable`, on a terminal: a `rich` Live table redrawn in place after every event (rich moves the
  cursor back over the previous table; no refresh thread: each redraw is explicit, so the output
  follows the run exactly);
- `PlainLines`, when output is a pipe or a file: one line per row that changed, prefixed with the
  exchange time, and nothing else: no escape codes, easy to grep.
"""

from __future__ import annotations

import datetime as dt
from typing import IO, TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

import attrs

from broker.desk import Desk, DeskEvent

if TYPE_CHECKING:
    from rich.table import Table


@attrs.frozen
class Row:
    trade_id: str
    leg: str
    state: str
    quantity: str  # executed/intended
    avg_price: str
    price: str  # stop level or limit
    bars: str = attrs.field(default="", eq=False)  # a watcher's bars watched: shown live, not a change

    @property
    def key(self) -> tuple[str, str]:
        return (self.trade_id, self.leg)


def rows(desk: Desk) -> list[Row]:
    out: list[Row] = []
    trades = {t.trade_id: t for t in desk.recorder.trades()}
    for watch in desk.watches.values():
        trade = trades.pop(watch.trade_id, None)
        if trade is None or trade.leg("entry").state == "armed":
            bars = f"{watch.watcher.bars_watched} bars" if watch.active else ""
            out.append(Row(watch.trade_id, "watcher", watch.status, "-", "-", f"{watch.setup.level:g}", bars))
            continue
        out += _legs(trade)
    for trade in trades.values():  # trades restored from the journal with no watcher (a bot's own)
        out += _legs(trade)
    return out


def _legs(trade: object) -> list[Row]:
    from supervisor.snapshots import TradeSnapshot

    assert isinstance(trade, TradeSnapshot)
    out = []
    for leg in trade.legs:
        price = leg.stop_price if leg.stop_price is not None else leg.limit_price
        out.append(Row(trade.trade_id, leg.name, leg.state, f"{leg.filled_qty}/{leg.intended_qty}",
                       f"{leg.avg_price:g}" if leg.filled_qty else "-", "mkt" if price is None else f"{price:g}"))
    return out


class LegView(Protocol):
    def update(self, event: DeskEvent | None = None) -> None: ...
    def close(self) -> None: ...


class PlainLines:
    """Prints each row whose content changed, once per change."""

    def __init__(self, desk: Desk, stream: IO[str], timezone: str = "America/New_York") -> None:
        self.desk, self.stream, self.zone = desk, stream, ZoneInfo(timezone)
        self._shown: dict[tuple[str, str], Row] = {}

    def update(self, event: DeskEvent | None = None) -> None:
        stamp = dt.datetime.fromtimestamp(self.desk.market.now(), self.zone).strftime("%H:%M:%S")
        for row in rows(self.desk):
            if self._shown.get(row.key) != row:
                self._shown[row.key] = row
                self.stream.write(f"{stamp}  {row.trade_id:<10} {row.leg:<8} {row.state:<24} {row.quantity:>9} "
                                  f"avg {row.avg_price:<8} at {row.price}\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class LiveTable:
    """A rich Live table on a terminal, redrawn in place after every event."""

    def __init__(self, desk: Desk, stream: IO[str], timezone: str = "America/New_York") -> None:
        from rich.console import Console
        from rich.live import Live

        self.desk, self.zone = desk, ZoneInfo(timezone)
        self.console = Console(file=stream, force_terminal=True)
        self._last: list[tuple[Row, str]] | None = None
        self.live = Live(self._render(), console=self.console, auto_refresh=False, transient=False)
        self.live.start()

    def _render(self) -> Table:
        from rich.table import Table

        now = dt.datetime.fromtimestamp(self.desk.market.now(), self.zone).strftime("%H:%M:%S")
        table = Table(title=f"order-supervisor  {now}", title_justify="left")
        for name, justify in (("trade", "left"), ("leg", "left"), ("state", "left"), ("executed/intended", "right"),
                              ("avg price", "right"), ("stop / limit", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in rows(self.desk):
            state = f"{row.state} ({row.bars})" if row.bars else row.state
            table.add_row(row.trade_id, row.leg, state, row.quantity, row.avg_price, row.price)
        return table

    def update(self, event: DeskEvent | None = None) -> None:
        current = [(row, row.bars) for row in rows(self.desk)]
        if current == self._last:
            return
        self._last = current
        self.live.update(self._render(), refresh=True)

    def close(self) -> None:
        self.live.update(self._render(), refresh=True)
        self.live.stop()


def for_stream(desk: Desk, stream: IO[str], timezone: str = "America/New_York") -> LegView:
    """The live table on a terminal, plain lines otherwise."""
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return LiveTable(desk, stream, timezone)
    return PlainLines(desk, stream, timezone)
