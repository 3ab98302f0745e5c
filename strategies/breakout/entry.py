"""How a triggered breakout prices its entry. Pure: a quote and a clock reading in, a price or a refusal out.

- limit (default): at the ask for a long, the bid for a short, moved `limit_offset_ticks` ticks
  further (a marketable limit that caps slippage). Refused, with the reason, when there is no quote
  or the newest is older than `quote_age` seconds: a stale ask is not a price to pay.
- market: no limit. The plan still needs a reference price to check its exits against: the ask
  (bid) when a fresh quote exists, else the price that triggered.

Refused entries send nothing; the caller records the refusal (`EntryRefused`) and ends the setup.
"""

from __future__ import annotations

import attrs

from strategies.breakout.levels import round_to_tick
from strategies.breakout.setup import BreakoutSetup
from supervisor.market import Quote
from supervisor.plan import EntryType, Side


@attrs.frozen
class EntryPrice:
    price: float
    basis: str  # how it was found, for the operator: "ask 100.62 (0.0s old)", "trigger close 100.61"


@attrs.frozen
class EntryRefused:
    """The breakout fired but no entry was sent: `reason` says why (no quote, a stale quote, the
    price already past a target...)."""

    trade_id: str
    time: float
    reason: str


def price_entry(setup: BreakoutSetup, quote: Quote | None, now: float, trigger_price: float) -> EntryPrice | str:
    """The entry's limit (or a market entry's reference), or the reason there is none."""
    long = setup.side is Side.LONG
    fresh = quote is not None and 0 <= quote.age(now) <= setup.quote_age
    if setup.entry is EntryType.MARKET:
        if quote is not None and fresh:
            side_price = quote.ask if long else quote.bid
            return EntryPrice(side_price, f"{'ask' if long else 'bid'} {side_price:g} (reference)")
        return EntryPrice(round_to_tick(trigger_price, setup.tick_size), f"trigger price {trigger_price:g} (reference)")
    name = "ask" if long else "bid"
    if quote is None:
        return f"no quote for {setup.symbol}: a limit at the {name} needs one (or use --entry market)"
    age = quote.age(now)
    if not fresh:
        return (f"the newest {setup.symbol} quote is {age:.1f}s old, older than --quote-age {setup.quote_age:g}s"
                if age >= 0 else f"the newest {setup.symbol} quote is stamped {-age:.1f}s in the future")
    base = quote.ask if long else quote.bid
    offset = setup.limit_offset_ticks * setup.tick_size * setup.side.sign
    price = round_to_tick(base + offset, setup.tick_size)
    if price <= 0:
        return f"the {name} {base:g} minus {setup.limit_offset_ticks} ticks is not a positive price"
    extra = f" + {setup.limit_offset_ticks} ticks" if setup.limit_offset_ticks else ""
    return EntryPrice(price, f"{name} {base:g}{extra} ({age:.1f}s old)")
