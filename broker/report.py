"""How a session reads to a person: one line per supervisor event, and a closing summary.

    10:20:00  breakout  entry  LegFilled          filled_qty=100 avg_price=100.66

Times are shown in the exchange's time zone. An event's figures are its own fields (everything
but trade, leg and time), so a new event type prints without a change here. A market-data health
event (`strategies.health`) concerns a symbol's bar stream, not a trade: its symbol stands where
the trade is, and its leg is `-`:

    10:19:45  SIM  -      BarStreamStalled           silent_for=180 limit=180 last_bar_end=10:17:00
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs

from broker.sim_session import FINAL_LEG_STATES, SessionResult
from strategies.health import (
    BarStreamEvent,
    BarStreamRecovered,
    BarStreamRecoveryFailed,
    BarStreamRecoveryStarted,
    BarStreamStalled,
    StaleBarIgnored,
)
from supervisor.events import LegTransitioned, SupervisorEvent

_COMMON = {"trade_id", "leg", "time"}
HEALTH_EVENTS = (BarStreamStalled, BarStreamRecoveryStarted, BarStreamRecovered, BarStreamRecoveryFailed,
                 StaleBarIgnored)
HealthEvent = BarStreamEvent | StaleBarIgnored


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "/".join(_plain(v) for v in value) or "-"
    if isinstance(value, str) and (not value or " " in value):
        return repr(value)
    return str(value)


def clock_time(t: float, timezone: str) -> str:
    return dt.datetime.fromtimestamp(t, ZoneInfo(timezone)).strftime("%H:%M:%S")


def format_event(event: SupervisorEvent | HealthEvent, timezone: str = "America/New_York") -> str:
    """One readable line: time, trade (a health event: its symbol), leg, event name, key figures."""
    common = _COMMON
    if isinstance(event, HEALTH_EVENTS):
        head = f"{clock_time(event.time, timezone)}  {event.symbol}  {'-':<6} {type(event).__name__:<26}"
        common = _COMMON | {"symbol"}
    else:
        head = f"{clock_time(event.time, timezone)}  {event.trade_id}  {event.leg or '-':<6} {type(event).__name__:<26}"
    if isinstance(event, LegTransitioned):
        return f"{head} {event.source} -> {event.target} ({event.event})"
    figures = " ".join(
        f"{field.name}={_figure(getattr(event, field.name), field.name, timezone)}"
        for field in attrs.fields(type(event))
        if field.name not in common and getattr(event, field.name) is not None
    )
    return f"{head} {figures}".rstrip()


_CLOCK_FIELDS = {"bar_end", "last_bar_end"}  # a health event's bar times: shown as clock times


def _figure(value: object, name: str = "", timezone: str = "America/New_York") -> str:
    if name in _CLOCK_FIELDS and isinstance(value, float):
        return clock_time(value, timezone)
    return _plain(value)


def format_summary(result: SessionResult) -> str:
    trade = result.trade
    lines = [
        f"trade {trade.trade_id} ({trade.side} {trade.symbol}): {trade.state}",
        f"position: supervisor {trade.position}, broker {result.sim_position}; "
        f"entry filled {trade.entry_filled} @ {trade.entry_avg_price:g}, exits filled {trade.exit_filled}",
    ]
    for leg in trade.legs:
        fill = f"{leg.filled_qty}/{leg.intended_qty}" + (f" @ {leg.avg_price:g}" if leg.filled_qty else "")
        lines.append(f"  {leg.name:<10} {leg.state:<18} filled {fill}")
    lines.append(f"realized P&L: {trade.realized_pnl:.2f}")
    lines.append(f"{'OK' if result.ok else 'NOT OK'}: "
                 + (_how(result) if result.ok else _why_not(result))
                 + f" ({len(result.events)} events, {result.elapsed:.2f}s)")
    return "\n".join(lines)


def _how(result: SessionResult) -> str:
    if result.outcome == "expired":
        return "expired, nothing sent"
    if result.outcome == "refused":
        return f"the broker refused the entry ({result.trade.leg('entry').reject_reason}); nothing is held"
    if result.outcome == "aborted":
        return "the entry ended without a share; nothing is held"
    return "closed, flat, every leg final"


def _why_not(result: SessionResult) -> str:
    reasons = []
    if result.trade.state not in ("closed", "aborted"):
        reasons.append(f"trade is {result.trade.state}")
    if result.sim_position or result.trade.position:
        reasons.append(f"position {result.trade.position} (broker {result.sim_position})")
    if not result.legs_final:
        open_legs = [leg.name for leg in result.trade.legs if leg.state not in FINAL_LEG_STATES]
        reasons.append(f"legs not final: {', '.join(open_legs)}")
    return "; ".join(reasons)
