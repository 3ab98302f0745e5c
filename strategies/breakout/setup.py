"""`BreakoutSetup`: one breakout, as the operator gives it, validated whole before anything is armed.

It holds what the watcher needs (level, rule, filters, `max_bars`), how the entry is priced (limit at
the ask, or market; `entry.py`) and the exits (take-profits given, `auto`, or none: the stop alone
holds every share; stops, the split; what to do with targets an entry's fill crossed). A
bad field raises `PlanError` naming it (`level`, `qty`, `tp`, `sl`, `tp_alloc`, ...): the command
line maps the name to its option. `reference_plan()` checks the exits against the level before
anything is armed; `plan(entry_price)` is the `TradePlan` the trigger arms, priced at that moment
(and refused, naming the field, when the market moved past a target: nothing is sent).

`to_record()` / `from_record()` turn it into the plain dict the journal keeps for a watcher, so a
restarted process rebuilds the same watcher.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import attrs

from strategies.breakout.levels import DEFAULT_ATR_BARS, auto_take_profits, ladder_split
from strategies.breakout.session import RegularHours
from strategies.breakout.watcher import RULES, BreakoutWatcher, Confirm, FastEntry
from supervisor.market import Bar
from supervisor.plan import MAX_LEVELS, EntryType, ExitMode, PlanError, Side, TradePlan, targets_crossed_action
from supervisor.policy import TargetsCrossedAction
from supervisor.port import TimeInForce

DEFAULT_QUOTE_AGE = 5.0


def _finite_positive(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise PlanError(field, value, "must be a positive finite number")


def _tuple_floats(value: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in value)


def _optional_ints(value: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class BreakoutSetup:
    trade_id: str
    symbol: str
    level: float
    quantity: int
    side: Side = Side.LONG
    rule: Confirm = "close"
    entry: EntryType = EntryType.LIMIT
    limit_offset_ticks: int = 0  # limit at the ask plus this many ticks (minus, for a short at the bid)
    quote_age: float = DEFAULT_QUOTE_AGE  # a quote older than this many seconds refuses a limit entry
    take_profits: tuple[float, ...] = attrs.field(default=(), converter=_tuple_floats)
    tp_auto: int = 0  # N: the take-profits are computed at arming (levels.auto_take_profits)
    tp_none: bool = False  # no take-profit ("exits: none"): the entry's shares are held under the stop alone
    atr_bars: int = DEFAULT_ATR_BARS
    stop_losses: tuple[float, ...] = attrs.field(default=(), converter=_tuple_floats)
    tp_alloc: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)
    stop_updates: tuple[float, ...] = attrs.field(default=(), converter=_tuple_floats)
    tif: TimeInForce = TimeInForce.DAY
    outside_rth: bool | None = None  # None: False while the regular-hours filter is on, else True
    account: str = ""
    exit_mode: ExitMode = ExitMode.AUTO
    # the entry filled at or beyond a take-profit: keep, drop or shift (None: the supervisor's policy, drop)
    targets_crossed: TargetsCrossedAction | None = attrs.field(default=None, converter=targets_crossed_action)
    max_bars: int | None = None
    hours: RegularHours | None = attrs.field(factory=RegularHours)
    fast: FastEntry | None = None
    watch_from: float | None = None  # epoch seconds: bars ending at or before are not watched
    tick_size: float = 0.01

    def __attrs_post_init__(self) -> None:
        _finite_positive("level", self.level)
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise PlanError("qty", self.quantity, "must be a positive whole number of shares")
        if self.rule not in RULES:
            raise PlanError("rule", self.rule, f"must be one of {', '.join(RULES)}")
        if not (isinstance(self.limit_offset_ticks, int) and 0 <= self.limit_offset_ticks <= 100):
            raise PlanError("limit_offset", self.limit_offset_ticks, "must be 0 to 100 ticks")
        _finite_positive("quote_age", self.quote_age)
        for i, price in enumerate(self.take_profits, start=1):
            _finite_positive(f"tp[{i}]", price)
        for i, price in enumerate(self.stop_losses, start=1):
            _finite_positive(f"sl[{i}]", price)
        if self.tp_auto and self.take_profits:
            raise PlanError("tp", "auto", "give take-profit prices or auto, not both")
        if self.tp_none:
            self._check_no_targets()
        if not self.take_profits and not self.tp_auto and not self.tp_none:
            raise PlanError("tp", "", "is required: 1 to 3 prices (e.g. 195-198-205), auto with a count, "
                                      "or none (the stop alone)")
        if self.tp_auto and not 1 <= self.tp_auto <= MAX_LEVELS:
            raise PlanError("tp_count", self.tp_auto, f"must be 1 to {MAX_LEVELS}")
        if not self.stop_losses:
            raise PlanError("sl", "", "is required: every executed share is kept under a stop")
        if not 1 <= self.atr_bars <= 500:
            raise PlanError("atr_bars", self.atr_bars, "must be 1 to 500 bars")
        if self.watch_from is not None and not math.isfinite(self.watch_from):
            raise PlanError("watch_after", self.watch_from, "must be a finite time")
        if self.take_profits or self.tp_none:
            self.reference_plan()  # the exits against the level, before anything is armed
        else:
            self._check_stops_against_level()
        self.watcher()  # max_bars and the rule, as the watcher checks them

    # -- derived -------------------------------------------------------------------------------
    def _check_no_targets(self) -> None:
        """`tp none`: the entry and its stop only, and nothing that needs a take-profit."""
        if self.take_profits or self.tp_auto:
            raise PlanError("tp", "none", "give take-profit prices, auto or none, not two of them")
        if not self.stop_losses:
            raise PlanError("sl", "", "is required with tp none: every filled share is kept under a stop, "
                                      "and with no take-profit the stop alone holds the position")
        if len(self.stop_losses) > 1:
            raise PlanError("sl", "-".join(f"{p:g}" for p in self.stop_losses),
                            "takes one stop with tp none (one level)")
        if self.stop_updates:
            raise PlanError("stop_updates", "-".join(f"{p:g}" for p in self.stop_updates),
                            "moves the stop after a take-profit fills: with tp none there is none")
        if self.tp_alloc is not None:
            raise PlanError("tp_alloc", "-".join(map(str, self.tp_alloc)),
                            "splits shares over take-profit levels: with tp none there are none")
        if self.targets_crossed is not None:
            raise PlanError("targets_crossed", self.targets_crossed.value,
                            "answers an entry filled beyond a take-profit: with tp none there is none to cross")

    @property
    def levels(self) -> int:
        """Ladder levels: one per take-profit (given or automatic), or the one stop-only level."""
        return len(self.take_profits) or self.tp_auto or 1

    @property
    def auto(self) -> bool:
        return self.tp_auto > 0

    @property
    def orders_outside_rth(self) -> bool:
        return self.outside_rth if self.outside_rth is not None else self.hours is None

    def allocation(self) -> tuple[int, ...]:
        return ladder_split(self.quantity, self.levels, self.tp_alloc)

    def _check_stops_against_level(self) -> None:
        for i, sl in enumerate(self.stop_losses, start=1):
            if (self.level - sl) * self.side.sign <= 0:
                where = "below" if self.side is Side.LONG else "above"
                raise PlanError(f"sl[{i}]", sl, f"must be {where} the level {self.level:g} for a {self.side.value}")

    def with_auto_levels(self, history: Sequence[Bar]) -> BreakoutSetup:
        """The setup with its automatic take-profits computed from `history` (itself when explicit)."""
        if not self.auto:
            return self
        levels = auto_take_profits(history, self.level, self.side, self.tp_auto, tick=self.tick_size,
                                   atr_bars=self.atr_bars)
        return attrs.evolve(self, take_profits=levels, tp_auto=0)

    def plan(self, entry_price: float) -> TradePlan:
        """The trade to arm at `entry_price` (the entry's limit, or a market entry's reference)."""
        if self.auto:
            raise PlanError("tp", "auto", "the automatic take-profits are computed at arming (with_auto_levels)")
        try:
            return TradePlan(
                trade_id=self.trade_id, symbol=self.symbol, side=self.side, quantity=self.quantity,
                entry_price=entry_price, entry_type=self.entry, take_profits=self.take_profits,
                stop_losses=self.stop_losses, allocation=self.allocation(), stop_updates=self.stop_updates,
                tif=self.tif, outside_rth=self.orders_outside_rth, tick_size=self.tick_size, account=self.account,
                exit_mode=self.exit_mode, targets_crossed=self.targets_crossed,
            )
        except PlanError as exc:
            raise PlanError(_PLAN_FIELDS.get(exc.field.split("[")[0], exc.field) + _index(exc.field), exc.value,
                            exc.reason) from None

    def reference_plan(self) -> TradePlan:
        """The plan priced at the level: checks the exits' sides and the tick grid before arming."""
        return self.plan(self.level)

    def watcher(self) -> BreakoutWatcher:
        """A fresh watcher for this setup (it reads only the trade id and the side from it)."""
        return BreakoutWatcher(self, self.level, self.rule, max_bars=self.max_bars, start=self.watch_from,
                               hours=self.hours, fast=self.fast)

    # -- the journal's form --------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id, "symbol": self.symbol, "level": self.level, "quantity": self.quantity,
            "side": self.side.value, "rule": self.rule, "entry": self.entry.value,
            "limit_offset_ticks": self.limit_offset_ticks, "quote_age": self.quote_age,
            "take_profits": list(self.take_profits), "tp_auto": self.tp_auto, "atr_bars": self.atr_bars,
            "tp_none": self.tp_none, "stop_losses": list(self.stop_losses),
            "tp_alloc": None if self.tp_alloc is None else list(self.tp_alloc),
            "stop_updates": list(self.stop_updates), "tif": self.tif.value, "outside_rth": self.outside_rth,
            "account": self.account, "exit_mode": self.exit_mode.value,
            "targets_crossed": None if self.targets_crossed is None else self.targets_crossed.value,
            "max_bars": self.max_bars,
            "hours": None if self.hours is None else {
                "open": self.hours.open.strftime("%H:%M"), "close": self.hours.close.strftime("%H:%M"),
                "timezone": self.hours.timezone},
            "fast_offset": None if self.fast is None else self.fast.offset,
            "watch_from": self.watch_from, "tick_size": self.tick_size,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> BreakoutSetup:
        hours = data.get("hours")
        return cls(
            trade_id=data["trade_id"], symbol=data["symbol"], level=data["level"], quantity=data["quantity"],
            side=Side(data["side"]), rule=data["rule"], entry=EntryType(data["entry"]),
            limit_offset_ticks=data["limit_offset_ticks"], quote_age=data["quote_age"],
            take_profits=data["take_profits"], tp_auto=data["tp_auto"], atr_bars=data["atr_bars"],
            tp_none=data.get("tp_none", False), targets_crossed=data.get("targets_crossed"),  # later fields
            stop_losses=data["stop_losses"], tp_alloc=data["tp_alloc"], stop_updates=data["stop_updates"],
            tif=TimeInForce(data["tif"]), outside_rth=data["outside_rth"], account=data["account"],
            exit_mode=ExitMode(data["exit_mode"]), max_bars=data["max_bars"],
            hours=None if hours is None else RegularHours(
                dt.time.fromisoformat(hours["open"]), dt.time.fromisoformat(hours["close"]), hours["timezone"]),
            fast=None if data["fast_offset"] is None else FastEntry(data["fast_offset"]),
            watch_from=data["watch_from"], tick_size=data["tick_size"],
        )

    def describe(self) -> str:
        """One line per fact, for the plan the command line prints before arming."""
        sign = "long" if self.side is Side.LONG else "short"
        entry = ("market" if self.entry is EntryType.MARKET
                 else f"limit at the {'ask' if self.side is Side.LONG else 'bid'}"
                 + (f" + {self.limit_offset_ticks} ticks" if self.limit_offset_ticks else "")
                 + f" (quote at most {self.quote_age:g}s old)")
        tps = "auto" if self.auto else "/".join(f"{p:g}" for p in self.take_profits)
        alloc = "/".join(map(str, self.allocation()))
        crossed = f", crossed targets: {self.targets_crossed.value}" if self.targets_crossed is not None else ""
        targets = (f"  take-profit none  (the stop alone holds all {self.quantity} until it fills or the trade is "
                   f"flattened, {self.exit_mode.value} exits)"
                   if self.tp_none else f"  take-profit {tps}  (shares {alloc}, {self.exit_mode.value} exits{crossed})")
        lines = [
            f"breakout {self.trade_id}: {sign} {self.quantity} {self.symbol} on a {self.rule} "
            f"{'above' if self.side is Side.LONG else 'below'} {self.level:g}",
            f"  entry       {entry}",
            targets,
            f"  stop        {'/'.join(f'{p:g}' for p in self.stop_losses)}"
            + (f"  then {'/'.join(f'{p:g}' for p in self.stop_updates)}" if self.stop_updates else
               "  then break-even after TP1" if self.levels > 1 else ""),
            f"  watch       {self.hours.describe() if self.hours else 'every bar (no hours filter)'}"
            + (f", at most {self.max_bars} bars" if self.max_bars else "")
            + (f", fast entry {self.fast.offset:g} beyond the level" if self.fast else ""),
            f"  orders      {self.tif.value}{', outside regular hours' if self.orders_outside_rth else ''}"
            + (f", account {self.account}" if self.account else ""),
        ]
        return "\n".join(lines)


# TradePlan's field names -> the setup's (and so the command line's) names
_PLAN_FIELDS = {"take_profits": "tp", "stop_losses": "sl", "allocation": "tp_alloc", "quantity": "qty",
                "entry_price": "level", "stop_updates": "stop_updates", "trade_id": "trade_id", "symbol": "symbol"}


def _index(field: str) -> str:
    return field[field.index("["):] if "[" in field else ""
