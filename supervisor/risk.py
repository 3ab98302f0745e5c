"""The risk book: the account's limits, its trading state and the day's counters. Pure.

How it works: a `RiskBook` is fed facts, each with the time it happened on the injected clock:
a plan the supervisor accepted (`opened`, at `arm`), every `ExecutionReported` and
`CommissionReported`, the end of a trade (`TradeClosed` / `TradeAborted`), and the operator's
`KillSwitch` / `Resume`. From them it keeps, per trade, the executions (deduplicated and corrected
by `machines.fills.ExecBook`, as the supervisor does) and so the realized P&L (points x multiplier of the plan's
instrument), and writes the day's counters into the `Account` machine's model; then it tells the
machine (`realize`, `roll`, `kill`, `resume`), whose guarded edges decide the trading state.

`check(plan, now)` answers before anything is sent: None, or a `RiskRefusal` naming the limit and
the figures ("max_risk: 100 x |190.00 - 187.00| x 1 = 300.00 > 250.00"). It changes nothing.

The trading day rolls when the exchange clock (`RiskPolicy.timezone`, America/New_York by default)
passes `RiskPolicy.roll_hour`; a fact stamped before the book's current day (a late report)
counts in the current day. Everything is a function of the facts in their order: feeding the same
facts to a new book (`rebuild`, or `replay` over journal records) gives the same book, exactly, so
the counters survive a restart. The limits themselves are a `RiskPolicy` (supervisor.risk_policy).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import attrs
from statemachine.exceptions import TransitionNotAllowed

from machines import Account, AccountModel, ExecBook, ExecKind, Fill
from supervisor import codec
from supervisor.calls import Arm
from supervisor.events import TradeAborted, TradeClosed
from supervisor.guards import EntryGuard, RiskRefusal, money
from supervisor.plan import TradePlan
from supervisor.port import CommissionReported, ExecutionReported
from supervisor.risk_policy import RiskPolicy, RiskPolicyError

__all__ = [
    "KillSwitch",
    "Resume",
    "RiskBook",
    "RiskPolicy",
    "RiskPolicyError",
    "RiskRefusal",
    "RiskSnapshot",
    "realized_pnl",
]


@attrs.frozen
class KillSwitch:
    """The operator halts the account: nothing new is sent, working exits stay."""

    reason: str = "kill switch"


@attrs.frozen
class Resume:
    """The operator lets trading go on (to `reducing` while the day's loss is at its limit)."""


for _cls in (KillSwitch, Resume):
    if not codec.is_registered(_cls):
        codec.register(_cls)


def realized_pnl(*, long: bool, entry_qty: int, entry_avg: float, exit_qty: int, exit_avg: float,
                 multiplier: float) -> float:
    """Currency realized by the exits matched against the entry's average price:
    sign x (exit avg - entry avg) x matched quantity x multiplier. ES short 1 @ 6890.50 covered
    @ 6856.50 with 50 per point: +1,700; the postmortem's long the other way round: -1,700."""
    matched = min(entry_qty, exit_qty)
    if matched == 0:
        return 0.0
    sign = 1 if long else -1
    return round(sign * (exit_avg - entry_avg) * matched * multiplier, 6)


@attrs.define
class _Side:
    """The executions of one side of a trade: quantity and notional of their current revisions."""

    filled_qty: int = 0
    notional: float = 0.0

    @property
    def avg_price(self) -> float:
        return self.notional / self.filled_qty if self.filled_qty else 0.0


@attrs.define
class _TradeLedger:
    """One accepted trade as the risk book sees it: its plan and its executions."""

    plan: TradePlan
    entries: _Side = attrs.field(factory=_Side)
    exits: _Side = attrs.field(factory=_Side)
    execs: ExecBook = attrs.field(factory=ExecBook)
    commissions: dict[str, float] = attrs.field(factory=dict)
    counted_pnl: float = 0.0  # realized P&L already written into the day's counters
    done: bool = False

    @property
    def long(self) -> bool:
        return self.plan.side.sign > 0

    @property
    def position(self) -> int:
        return self.plan.side.sign * (self.entries.filled_qty - self.exits.filled_qty)

    @property
    def unfilled_entry(self) -> int:
        """Units the entry may still add (the whole plan until executions say otherwise)."""
        return max(self.plan.quantity - self.entries.filled_qty, 0)

    def realized(self) -> float:
        return realized_pnl(long=self.long, entry_qty=self.entries.filled_qty, entry_avg=self.entries.avg_price,
                            exit_qty=self.exits.filled_qty, exit_avg=self.exits.avg_price,
                            multiplier=self.plan.multiplier)


@attrs.frozen(kw_only=True)
class RiskSnapshot:
    state: str
    trading_day: str
    trades_opened: int
    open_trades: int
    realized_pnl: float
    commissions: float
    net_pnl: float
    positions: tuple[tuple[str, int], ...]
    halt_reason: str


class RecordLike(Protocol):
    """A journal record as replay reads it (supervisor.journal.Record fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def wall(self) -> float: ...
    @property
    def value(self) -> Any: ...


class RiskBook:
    def __init__(self, policy: RiskPolicy | None = None) -> None:
        self.policy = policy or RiskPolicy()
        self.guard = EntryGuard(self.policy.min_distance_ticks, self.policy.max_risk_per_trade)
        self.model = AccountModel(max_daily_loss=self.policy.max_daily_loss)
        self.account = Account(self.model)
        self._zone = ZoneInfo(self.policy.timezone)
        self._trades: dict[str, _TradeLedger] = {}
        self._open: dict[str, _TradeLedger] = {}  # accepted, not yet closed or aborted
        self._exec_owner: dict[str, _TradeLedger] = {}
        self._early_commissions: dict[str, float] = {}  # reports that beat their execution
        self.ignored_executions = 0  # executions of trades this book never accepted

    # -- facts ----------------------------------------------------------------------------------
    def opened(self, plan: TradePlan, time: float) -> None:
        """The supervisor accepted `plan` (armed it). Idempotent by trade_id, as `arm` is."""
        if plan.trade_id in self._trades:
            return
        self._roll_to(time)
        self._trades[plan.trade_id] = self._open[plan.trade_id] = _TradeLedger(plan)
        self.model.trades_opened += 1
        self.model.open_trades = len(self._open)

    def executed(self, execution: ExecutionReported, time: float | None = None) -> None:
        """Shares changed hands. Duplicates count once; a correction replaces what it corrects."""
        ledger = self._trades.get(execution.order_ref.partition(":")[0])
        if ledger is None:
            self.ignored_executions += 1
            return
        self._roll_to(execution.time or (time if time is not None else 0.0))
        side = ledger.entries if execution.action is ledger.plan.side.entry_action else ledger.exits
        before = ledger.position
        kind, replaced = ledger.execs.apply(Fill(execution.exec_id, execution.qty, execution.price, execution.time),
                                            execution.order_ref)
        if kind in (ExecKind.NEW, ExecKind.CORRECTION):
            side.filled_qty += execution.qty - (replaced.qty if replaced else 0)
            side.notional += execution.qty * execution.price - (replaced.qty * replaced.price if replaced else 0.0)
        self._exec_owner[execution.exec_id] = ledger
        self._count_position(ledger.plan.symbol, ledger.position - before)
        changed = self._count_realized(ledger)
        if execution.exec_id in self._early_commissions:
            self._add_commission(ledger, execution.exec_id, self._early_commissions.pop(execution.exec_id))
            changed = True
        if changed:
            self.account.realize()

    def commission(self, report: CommissionReported, time: float | None = None) -> None:
        self._roll_to(report.time or (time if time is not None else 0.0))
        ledger = self._exec_owner.get(report.exec_id)
        if ledger is None:
            self._early_commissions[report.exec_id] = report.commission
            return
        self._add_commission(ledger, report.exec_id, report.commission)
        self.account.realize()

    def closed(self, trade_id: str, time: float) -> None:
        """The trade ended (closed flat, or aborted without a share): its slot is free again."""
        ledger = self._trades.get(trade_id)
        if ledger is None or ledger.done:
            return
        self._roll_to(time)
        ledger.done = True
        del self._open[trade_id]
        self.model.open_trades = len(self._open)

    def kill(self, time: float, reason: str = "kill switch") -> None:
        self._roll_to(time)
        self.account.kill(reason=reason)

    def resume(self, time: float) -> None:
        """Raises `TransitionNotAllowed` when there is nothing to resume, or while the day's loss
        is at its limit in `reducing`: the account stays as it is."""
        self._roll_to(time)
        self.account.resume()

    def feed(self, value: object, time: float) -> None:
        """One fact as a value: a plan (or `calls.Arm`), a broker event, a supervisor event, or the
        operator's `KillSwitch` / `Resume`. Anything else changes nothing."""
        if isinstance(value, Arm):
            value = value.plan
        if isinstance(value, TradePlan):
            self.opened(value, time)
        elif isinstance(value, ExecutionReported):
            self.executed(value, time)
        elif isinstance(value, CommissionReported):
            self.commission(value, time)
        elif isinstance(value, (TradeClosed, TradeAborted)):
            self.closed(value.trade_id, value.time or time)
        elif isinstance(value, KillSwitch):
            self.kill(time, value.reason)
        elif isinstance(value, Resume):
            # a resume the account refused changed nothing when it was asked: replayed, the same
            with contextlib.suppress(TransitionNotAllowed):
                self.resume(time)

    @classmethod
    def rebuild(cls, policy: RiskPolicy | None, facts: Iterable[tuple[object, float]]) -> RiskBook:
        book = cls(policy)
        for value, time in facts:
            book.feed(value, time)
        return book

    @classmethod
    def replay(cls, policy: RiskPolicy | None, records: Iterable[RecordLike]) -> RiskBook:
        """Rebuild from journal records: the calls (`meta`), broker events and supervisor events."""
        def facts() -> Iterable[tuple[object, float]]:
            for record in records:
                value = record.value
                if record.kind == "meta":
                    if not (isinstance(value, dict) and value.get("type") in ("Arm", "KillSwitch", "Resume")):
                        continue
                    value = codec.decode(value)
                elif record.kind not in ("broker_event", "supervisor_event"):
                    continue
                yield value, record.wall

        return cls.rebuild(policy, facts())

    # -- questions ------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return str(self.account.current_state_value)

    def check(self, plan: TradePlan, now: float) -> RiskRefusal | None:
        """None if `plan` may be armed at `now`, else the first limit it breaks, with figures.
        A plan this book already accepted passes (arming is idempotent by trade_id)."""
        if plan.trade_id in self._trades:
            return None
        refusal = self.check_new_order(is_exit=False, trade_id=plan.trade_id) or self.guard.check(plan)
        if refusal is not None:
            return refusal
        p = self.policy
        open_trades = self.model.open_trades
        if p.max_open_trades is not None and open_trades + 1 > p.max_open_trades:
            return RiskRefusal("max_open_trades", f"{open_trades} open + 1 = {open_trades + 1} > {p.max_open_trades}",
                               plan.trade_id)
        today = self.model.trades_opened if self.trading_day(now) <= self.model.trading_day else 0
        if p.max_trades_per_day is not None and today + 1 > p.max_trades_per_day:
            return RiskRefusal("max_trades_per_day", f"{today} today + 1 = {today + 1} > {p.max_trades_per_day}",
                               plan.trade_id)
        if p.max_position is not None:
            # on the plan's side: what is held (net of every trade, as the broker counts it), what
            # the open entries may still buy or sell, and the plan's whole quantity
            sign = plan.side.sign
            held = sign * self.position(plan.symbol)
            working = sum(t.unfilled_entry for t in self._open.values()
                          if t.plan.symbol == plan.symbol and t.plan.side is plan.side)
            total = held + working + plan.quantity
            if total > p.max_position:
                return RiskRefusal(
                    "max_position",
                    f"{plan.symbol} {plan.side.value}: {held} held + {working} working + {plan.quantity} = "
                    f"{total} > {p.max_position}",
                    plan.trade_id,
                )
        return None

    def check_new_order(self, *, is_exit: bool, trade_id: str = "") -> RiskRefusal | None:
        """What the trading state lets through: active everything, reducing exits, halted nothing."""
        state = self.state
        if state == "halted":
            return RiskRefusal("trading_state", f"the account is halted ({self.model.halt_reason}): "
                                                "nothing new is sent", trade_id)
        if state == "reducing" and not is_exit:
            limit = self.policy.max_daily_loss or 0.0
            return RiskRefusal("trading_state", f"the account is reducing (the day's net loss "
                                                f"{money(self.model.daily_loss)} reached max_daily_loss "
                                                f"{money(limit)}): only exits are sent", trade_id)
        return None

    def position(self, symbol: str) -> int:
        return self.model.positions.get(symbol, 0)

    def trading_day(self, time: float) -> str:
        """The trading day `time` belongs to, named by its calendar date: a day that starts in the
        evening (roll_hour >= 12, CME's 18:00) carries the next date."""
        local = dt.datetime.fromtimestamp(time, self._zone).replace(tzinfo=None)
        day = (local - dt.timedelta(hours=self.policy.roll_hour)).date()
        if self.policy.roll_hour >= 12:
            day += dt.timedelta(days=1)
        return day.isoformat()

    def snapshot(self) -> RiskSnapshot:
        m = self.model
        return RiskSnapshot(
            state=self.state, trading_day=m.trading_day, trades_opened=m.trades_opened, open_trades=m.open_trades,
            realized_pnl=m.realized_pnl, commissions=m.commissions, net_pnl=m.net_pnl,
            positions=tuple(sorted(m.positions.items())), halt_reason=m.halt_reason,
        )

    # -- bookkeeping ----------------------------------------------------------------------------
    def _roll_to(self, time: float) -> None:
        day = self.trading_day(time)
        if day > self.model.trading_day:
            for ledger in self._trades.values():
                ledger.counted_pnl = ledger.realized()  # yesterday's P&L stays yesterday's
            self.account.roll(day=day)

    def _count_position(self, symbol: str, change: int) -> None:
        held = self.model.positions.get(symbol, 0) + change
        if held:
            self.model.positions[symbol] = held
        else:
            self.model.positions.pop(symbol, None)

    def _count_realized(self, ledger: _TradeLedger) -> bool:
        """Write the trade's change of realized P&L into the day's; True if there was one."""
        realized = ledger.realized()
        if realized == ledger.counted_pnl:
            return False
        self.model.realized_pnl = round(self.model.realized_pnl + realized - ledger.counted_pnl, 6)
        ledger.counted_pnl = realized
        return True

    def _add_commission(self, ledger: _TradeLedger, exec_id: str, amount: float) -> None:
        before = ledger.commissions.get(exec_id, 0.0)
        ledger.commissions[exec_id] = amount  # IB may re-send a report: the latest one holds
        self.model.commissions = round(self.model.commissions + amount - before, 6)

