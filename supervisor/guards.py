"""The guards from the ES postmortem (seeds/003): always on, pure, and each refusal names its rule
and the figures that broke it.

How it works: the rules are plain functions over prices and quantities, so the plan's own
validation (`TradePlan` raises `PlanError` at construction), the risk book (`supervisor.risk`)
and, later, the supervisor's exit path all apply the same arithmetic:

- `bracket_problem`: orientation (long: stop < entry < target; short: target < entry < stop) and
  the minimum distance in ticks of every stop and target from the entry (default 4: one ES point);
- `trade_risk`: what a plan loses if its protective stop fills at its price,
  quantity x |entry - stop| x multiplier, and `EntryGuard` refusing it above `max_loss_per_trade`;
- `check_exit`: an exit may only reduce the position it closes: never in the position's own
  direction, never past flat (the ES "flatten" that bought one contract too many and opened a
  fresh, unprotected long).

A refusal is a `RiskRefusal` value (`rule`, `detail`); nothing here sends, raises or keeps state.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from supervisor.port import Action

if TYPE_CHECKING:
    from supervisor.plan import TradePlan

DEFAULT_MIN_DISTANCE_TICKS = 4


@attrs.frozen
class RiskRefusal:
    """Why a plan or an order is not sent. `rule` names the limit or guard (`max_risk`,
    `min_distance`, `exit_would_open`, ...); `detail` shows the figures that broke it."""

    rule: str
    detail: str
    trade_id: str = ""

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@attrs.frozen
class BracketProblem:
    """One price of a bracket that breaks a rule: `field` as `TradePlan` names it."""

    field: str
    price: float
    rule: str  # "orientation" or "min_distance"
    reason: str


def ticks_between(a: float, b: float, tick: float) -> Decimal:
    """|a - b| in ticks, exactly (decimal arithmetic: 0.3 - 0.1 is two ticks of 0.1, not 1.999...)."""
    return abs(Decimal(str(a)) - Decimal(str(b))) / Decimal(str(tick))


def price_decimals(tick: float) -> int:
    """Decimals that show every price on a `tick` grid, at least two (0.25 -> 2, 0.0001 -> 4)."""
    exponent = Decimal(str(tick)).normalize().as_tuple().exponent
    return max(2, -exponent if isinstance(exponent, int) else 2)


def money(amount: float) -> str:
    return f"{amount:,.2f}"


def bracket_problem(
    *,
    long: bool,
    entry: float,
    stops: Sequence[float],
    targets: Sequence[float],
    tick: float,
    min_ticks: int,
) -> BracketProblem | None:
    """The first target or stop on the wrong side of the entry, or closer to it than `min_ticks`
    ticks; None when the bracket is sound. Targets are checked before stops, each in order."""
    places = price_decimals(tick)
    side = "long" if long else "short"
    priced = [(f"take_profits[{i}]", p, True) for i, p in enumerate(targets, start=1)]
    priced += [(f"stop_losses[{i}]", p, False) for i, p in enumerate(stops, start=1)]
    for field, price, is_target in priced:
        above = is_target == long  # a long's targets and a short's stops sit above the entry
        if (price > entry) != above or price == entry:
            where = "above" if above else "below"
            return BracketProblem(field, price, "orientation",
                                  f"must be {where} the entry {entry:.{places}f} for a {side}")
        ticks = ticks_between(price, entry, tick)
        if ticks < min_ticks:
            return BracketProblem(
                field, price, "min_distance",
                f"|{price:.{places}f} - {entry:.{places}f}| / {tick:g} = {ticks.normalize():f} ticks "
                f"< {min_ticks} ticks",
            )
    return None


@attrs.frozen
class TradeRisk:
    """What a plan loses if its protective stop fills at its price, and the arithmetic shown."""

    quantity: int
    entry: float
    stop: float
    multiplier: float
    places: int

    @property
    def amount(self) -> float:
        points = abs(Decimal(str(self.entry)) - Decimal(str(self.stop)))
        return float(self.quantity * points * Decimal(str(self.multiplier)))

    def formula(self) -> str:
        p = self.places
        return (f"{self.quantity} x |{self.entry:.{p}f} - {self.stop:.{p}f}| x {self.multiplier:g} "
                f"= {money(self.amount)}")


def trade_risk(plan: TradePlan) -> TradeRisk:
    """Quantity x |entry - protective stop| x multiplier. Before the ladder exists every executed
    share sits under the protective stop (the farthest one), so this is the loss the plan accepts.
    A market entry's slippage is not in it: the entry price is its reference."""
    return TradeRisk(plan.quantity, plan.entry_price, plan.protective_stop, plan.multiplier,
                     price_decimals(plan.tick))


@attrs.frozen
class EntryGuard:
    """Every plan passes it: orientation and minimum distance (again, with this guard's own
    minimum, whatever the plan was built with), and the maximum loss per trade when set."""

    min_distance_ticks: int = DEFAULT_MIN_DISTANCE_TICKS
    max_loss_per_trade: float | None = None

    def check(self, plan: TradePlan) -> RiskRefusal | None:
        problem = bracket_problem(
            long=plan.side.sign > 0, entry=plan.entry_price, stops=plan.stop_losses,
            targets=plan.take_profits, tick=plan.tick, min_ticks=self.min_distance_ticks,
        )
        if problem is not None:
            return RiskRefusal(problem.rule, f"{problem.field}: {problem.reason}", plan.trade_id)
        if self.max_loss_per_trade is not None:
            risk = trade_risk(plan)
            if risk.amount > self.max_loss_per_trade:
                return RiskRefusal("max_risk", f"{risk.formula()} > {money(self.max_loss_per_trade)}",
                                   plan.trade_id)
        return None


def check_exit(position: int, action: Action, quantity: int, *, working: int = 0,
               trade_id: str = "") -> RiskRefusal | None:
    """May an exit of `quantity` (`action`) be sent against a signed `position` (long > 0, short
    < 0) while `working` units of exits in the same direction already work? Only if it reduces:
    a BUY against a short, a SELL against a long, and all of them together no more than the
    position. The exit side comes from the position, never from the signal that asked for it."""
    if quantity <= 0:
        return RiskRefusal("exit_quantity", f"{action.value} {quantity}: must be positive", trade_id)
    if position == 0:
        return RiskRefusal("exit_would_open",
                           f"{action.value} {quantity} against a flat position would open {_signed(action, quantity)}",
                           trade_id)
    closing = Action.SELL if position > 0 else Action.BUY
    if action is not closing:
        return RiskRefusal("exit_direction",
                           f"{action.value} {quantity} against a position of {position:+d} adds to it; "
                           f"only {closing.value} reduces it", trade_id)
    after = abs(position) - working - quantity
    if after < 0:
        held = f" (with {working} working)" if working else ""
        return RiskRefusal(
            "exit_would_open",
            f"{action.value} {quantity}{held} against a position of {position:+d} would leave "
            f"{_signed(action, -after)}",
            trade_id,
        )
    return None


def _signed(action: Action, quantity: int) -> str:
    return f"{quantity if action is Action.BUY else -quantity:+d}"
