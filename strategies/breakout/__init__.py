"""Breakout strategies: decide WHEN to trigger, and at what price. Pure: bars and quotes in, signals out.

- `watcher`: `BreakoutWatcher`, single-fire, rules close / touch / break-confirm, fast entry on
  second bars, `max_bars`, the regular-hours filter; signals `Trigger`, `Expired`, `Failed`;
- `session`: `RegularHours` (the filter) and `MinuteBars` (second bars -> 1-minute bars);
- `setup`: `BreakoutSetup`, the operator's whole breakout, validated, and its journal form;
- `levels`: automatic take-profits (ATR multiples anchored at the level) and the ladder split;
- `entry`: the entry's price at the trigger (limit at the ask, or market) or the refusal.

Nothing here sees a broker or a clock: the caller feeds bars, reads signals, and calls the
supervisor (`strategies -> supervisor`).
"""

from strategies.breakout.entry import EntryPrice, EntryRefused, price_entry
from strategies.breakout.levels import auto_take_profits, average_true_range, ladder_split
from strategies.breakout.session import MinuteBars, RegularHours
from strategies.breakout.setup import BreakoutSetup
from strategies.breakout.watcher import (
    RULES,
    BreakoutWatcher,
    Confirm,
    Expired,
    Failed,
    FastEntry,
    Signal,
    Trigger,
    WatcherState,
)

__all__ = [
    "RULES",
    "BreakoutSetup",
    "BreakoutWatcher",
    "Confirm",
    "EntryPrice",
    "EntryRefused",
    "Expired",
    "Failed",
    "FastEntry",
    "MinuteBars",
    "RegularHours",
    "Signal",
    "Trigger",
    "WatcherState",
    "auto_take_profits",
    "average_true_range",
    "ladder_split",
    "price_entry",
]
