"""A breakout's setup from the command line: the operator's tokens (`level=190 qty=100 tp=195-198`)
and the options mean the same; each value is converted by its option's type (a bad one names the
option), and `build_setup` validates the whole into a `BreakoutSetup` (PlanError -> exit 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from broker.cli import options as opt

_SPEC: dict[str, tuple[click.ParamType, str]] = {  # type: ignore[type-arg]
    "level": (opt.POSITIVE_PRICE, "--level"), "qty": (opt.QUANTITY, "--qty"),
    "side": (click.Choice(["long", "short"]), "--side"),
    "tp": (opt.PriceList(allow_auto=True, allow_none=True), "--tp"),
    "tp_count": (opt.Count(1, 3), "--tp-count"), "tp_alloc": (opt.Parts(), "--tp-alloc"),
    "sl": (opt.PriceList(), "--sl"), "stop_updates": (opt.PriceList(), "--stop-updates"),
    "rule": (click.Choice(["close", "touch", "break-confirm"]), "--rule"),
    "entry": (click.Choice(["limit", "market"]), "--entry"), "limit_offset": (opt.Count(0, 100), "--limit-offset"),
    "quote_age": (opt.POSITIVE_SECONDS, "--quote-age"),
    "tif": (click.Choice(["DAY", "GTC"], case_sensitive=False), "--tif"),
    "outside_rth": (click.BOOL, "--outside-rth"), "rth": (click.STRING, "--rth"),
    "max_bars": (opt.Count(1), "--max-bars"), "watch_after": (opt.NON_NEGATIVE, "--watch-after"),
    "fast": (click.BOOL, "--fast"), "fast_offset": (opt.NON_NEGATIVE, "--fast-offset"),
    "atr_bars": (opt.Count(1, 500), "--atr-bars"),
    "exit_mode": (click.Choice(["auto", "detached", "attached"]), "--exit-mode"),
    "account": (click.STRING, "--account"), "trade_id": (click.STRING, "--trade-id"),
    "targets_crossed": (click.Choice(["keep", "drop", "shift"], case_sensitive=False), "--targets-crossed"),
}


def merge_values(tokens: tuple[str, ...], given: Mapping[str, Any], symbol: str | None = None
                 ) -> tuple[str, dict[str, Any]]:
    """Tokens and options into one dict of converted values; a key given both ways is an error."""
    values = {k: v for k, v in given.items() if v is not None}
    if tokens:
        symbol, raw = opt.breakout_tokens(tokens)
        for key, text in raw.items():
            if key in values:
                option = _SPEC[key][1]
                raise click.BadParameter(f"given as {key}={text} and as {option}", param_hint=option)
            values[key] = _converted(key, text)
    if symbol is None:
        raise click.UsageError("give a SYMBOL, e.g. breakout arm AAPL --level 190 --qty 100 --tp 195 --sl 187")
    return symbol, values


def _converted(key: str, text: str) -> Any:
    kind, option = _SPEC[key]
    try:
        return kind.convert(text, None, None)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint=option) from None


def build_setup(symbol: str, values: Mapping[str, Any], *, session_start: float, taken: set[str] | None = None,
                timezone: str = "America/New_York", bar_seconds: float = 60.0) -> Any:
    """A validated `BreakoutSetup` from converted values (PlanError -> exit 2 naming the option).
    `bar_seconds`: the width of the bars the broker's data gives (fast entry needs second bars)."""
    from strategies.breakout import BreakoutSetup, FastEntry, RegularHours
    from supervisor.plan import EntryType, ExitMode, PlanError, Side
    from supervisor.port import TimeInForce

    for required in ("level", "qty"):
        if required not in values:
            raise click.BadParameter(f"is required ({required}=... or {_SPEC[required][1]} ...)",
                                     param_hint=_SPEC[required][1])
    if values.get("fast") and bar_seconds >= 60:
        raise click.BadParameter(f"fast entry needs second bars; the data has {bar_seconds:g}-second bars "
                                 f"(give --bars with 1- or 5-second bars)", param_hint="--fast")
    tp = values.get("tp")
    auto, none = tp == "auto", tp == "none"
    if values.get("tp_count") is not None and not auto:
        raise click.BadParameter("goes with --tp auto", param_hint="--tp-count")
    level = values["level"]
    trade_id = values.get("trade_id") or f"{symbol.lower()}-{level:g}"
    if "trade_id" not in values and taken:
        base, n = trade_id, 2
        while trade_id in taken:
            trade_id, n = f"{base}-{n}", n + 1
    rth = values.get("rth")
    try:
        hours = None if rth is not None and rth.lower() == "off" else (
            RegularHours.parse(rth, timezone) if rth else RegularHours(timezone=timezone))
        watch_after = values.get("watch_after")
        return BreakoutSetup(
            trade_id=trade_id, symbol=symbol, level=level, quantity=values["qty"],
            side=Side(values.get("side", "long")), rule=values.get("rule", "close"),
            entry=EntryType(values.get("entry", "limit")), limit_offset_ticks=values.get("limit_offset", 0),
            quote_age=values.get("quote_age", 5.0),
            take_profits=() if auto or none or tp is None else tp, tp_none=none,
            tp_auto=(values.get("tp_count") or 2) if auto else 0, atr_bars=values.get("atr_bars", 14),
            stop_losses=values.get("sl") or (), tp_alloc=values.get("tp_alloc"),
            stop_updates=values.get("stop_updates") or (), tif=TimeInForce(str(values.get("tif", "DAY")).upper()),
            outside_rth=values.get("outside_rth"), account=values.get("account") or "",
            exit_mode=ExitMode(values.get("exit_mode", "auto")), max_bars=values.get("max_bars"), hours=hours,
            targets_crossed=(values.get("targets_crossed") or "").lower() or None,
            fast=FastEntry(values.get("fast_offset", 0.0)) if values.get("fast") else None,
            watch_from=None if watch_after is None else session_start + watch_after * 60,
        )
    except PlanError as exc:
        raise opt.plan_error(exc) from None
