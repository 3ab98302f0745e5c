"""The chart of a journaled trade: the day's bars with the level, the entry, every target and stop (and
each repricing), and every execution, drawn to a PNG with matplotlib (the optional `chart` extra).

Everything comes from the journal: the bars are its `{"bar": ...}` records (the desk journals every
bar of a watched symbol, the history before arming included), the level from the watcher's `armed`
note, the entry from its `fired` note, target and stop prices from the supervisor's
`OrderIntended` and `StopRepriced` events, and the executions from `ExecutionReported` broker events.
`collect` gathers that (pure, tested without matplotlib); `draw` renders it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from supervisor import events as ev
from supervisor.journal import Record
from supervisor.market import Bar
from supervisor.port import ExecutionReported


class ChartUnavailableError(RuntimeError):
    """matplotlib is not installed."""


@attrs.define
class ChartData:
    trade_id: str
    symbol: str
    bars: list[Bar] = attrs.field(factory=list)
    level: float | None = None
    fired: tuple[float, float] | None = None  # time, price
    # leg -> [(time, price)]: a target's limit, a stop's level at each change
    prices: dict[str, list[tuple[float, float]]] = attrs.field(factory=dict)
    executions: list[tuple[float, float, str, int]] = attrs.field(factory=list)  # time, price, BUY/SELL, qty
    ended: dict[str, float] = attrs.field(factory=dict)  # leg -> when it filled, was cancelled or rejected

    def summary(self) -> str:
        stops = [leg for leg in self.prices if leg.startswith(("sl", "estop", "pstop"))]
        targets = [leg for leg in self.prices if leg.startswith("tp")]
        repricings = sum(len(self.prices[leg]) - 1 for leg in stops)
        level = f"level {self.level:g}" if self.level is not None else "no level"
        return (f"{len(self.bars)} bars, {level}, {len(targets)} targets, {len(stops)} stops ({repricings} "
                f"repricings), {len(self.executions)} executions")


def trades_in(records: Iterable[Record]) -> list[str]:
    seen: list[str] = []
    for record in records:
        if record.kind == "supervisor_event" and isinstance(record.value, ev.TradeArmed):
            seen.append(record.value.trade_id)
    return seen


def collect(records: list[Record], trade_id: str) -> ChartData:
    symbol = ""
    for record in records:
        if record.kind == "supervisor_event" and isinstance(record.value, ev.TradeArmed) \
                and record.value.trade_id == trade_id:
            symbol = record.value.symbol
    data = ChartData(trade_id, symbol)
    bars: dict[float, Bar] = {}
    for record in records:
        value = record.value
        if record.kind == "meta" and isinstance(value, dict):
            if "bar" in value and value["bar"]["symbol"] == symbol:
                b = value["bar"]
                bars[b["time"]] = Bar(b["time"], b["open"], b["high"], b["low"], b["close"], volume=b["volume"],
                                      seconds=b["seconds"], symbol=symbol)
            elif "watcher" in value and value["watcher"]["trade_id"] == trade_id:
                note = value["watcher"]
                if note["event"] == "armed":
                    data.level = note["setup"]["level"]
                elif note["event"] == "fired":
                    data.fired = (note["time"], note["price"])
        elif record.kind == "supervisor_event" and value.trade_id == trade_id:
            if isinstance(value, ev.OrderIntended) and value.leg != "entry":
                price = value.stop_price if value.stop_price is not None else value.limit_price
                if price is not None:
                    data.prices.setdefault(value.leg, []).append((value.time, price))
            elif isinstance(value, ev.StopRepriced):
                data.prices.setdefault(value.leg, []).append((value.time, value.new_price))
            elif isinstance(value, (ev.LegFilled, ev.LegCancelled, ev.LegRejected)):
                data.ended[value.leg] = value.time
        elif record.kind == "broker_event" and isinstance(value, ExecutionReported) \
                and value.order_ref.startswith(f"{trade_id}:"):
            data.executions.append((value.time, value.price, value.action.value, value.qty))
    data.bars = [bars[t] for t in sorted(bars)]
    return data


def draw(data: ChartData, path: str | Path, timezone: str = "America/New_York") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ChartUnavailableError(str(exc)) from None
    import datetime as dt
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)

    def when(t: float) -> Any:
        return dt.datetime.fromtimestamp(t, zone)

    fig, ax = plt.subplots(figsize=(14, 7))
    width = (data.bars[0].seconds if data.bars else 60) / 86400 * 0.7
    times = [when(bar.time) for bar in data.bars]
    colours = ["#2a7" if bar.close >= bar.open else "#c44" for bar in data.bars]
    ax.vlines(times, [b.low for b in data.bars], [b.high for b in data.bars], colors=colours, linewidth=0.8)
    ax.bar(times, [abs(b.close - b.open) or 0.001 for b in data.bars], width,
           bottom=[min(b.open, b.close) for b in data.bars], color=colours)
    end = when(data.bars[-1].end) if data.bars else None
    if data.level is not None:
        ax.axhline(data.level, color="#555", linestyle="--", linewidth=1, label=f"level {data.level:g}")
    for leg, points in sorted(data.prices.items()):
        stop = not leg.startswith("tp")
        until = when(data.ended[leg]) if leg in data.ended else end  # a leg's line stops when it ends
        xs = [when(t) for t, _ in points] + ([until] if until is not None else [])
        ys = [p for _, p in points] + ([points[-1][1]] if until is not None else [])
        ax.step(xs, ys, where="post", color="#c22" if stop else "#1a6", linewidth=1.2,
                linestyle=":" if stop else "-", label=f"{leg} {' -> '.join(f'{p:g}' for _, p in points)}")
    if data.fired is not None:
        ax.plot([when(data.fired[0])], [data.fired[1]], marker="*", markersize=14, color="#f90", label="trigger")
    for t, price, side, qty in data.executions:
        ax.plot([when(t)], [price], marker="^" if side == "BUY" else "v", markersize=10,
                color="#06c" if side == "BUY" else "#a0a")
        ax.annotate(f"{side} {qty} @ {price:g}", (when(t), price), textcoords="offset points", xytext=(6, 6),
                    fontsize=8)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))  # type: ignore[no-untyped-call]
    ax.set_title(f"{data.trade_id} ({data.symbol})")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
