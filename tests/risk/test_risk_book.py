"""The risk book: limits refused with their figures, the day's counters and their roll, P&L in
currency, the account's trading state, and a book rebuilt exactly from the same facts."""

from __future__ import annotations

import datetime as dt

import pytest
from es import ENTRY_PRICE, ENTRY_TIME, EXIT_PRICE, EXIT_TIME, LOSS, NEW_YORK, es_plan
from factories import plan
from statemachine.exceptions import TransitionNotAllowed

from supervisor.events import TradeAborted, TradeClosed
from supervisor.plan import Side, TradePlan
from supervisor.port import Action, CommissionReported, ExecutionReported
from supervisor.risk import KillSwitch, Resume, RiskBook, RiskPolicy, RiskRefusal, realized_pnl

MORNING = dt.datetime(2025, 12, 12, 10, 0, tzinfo=NEW_YORK).timestamp()
HOUR = 3600.0


def fill(trade_id: str, action: Action, qty: int, price: float, time: float, *, exec_id: str) -> ExecutionReported:
    """An execution of `trade_id`'s entry (ids starting with x) or of one of its exits."""
    return ExecutionReported(f"{trade_id}:{'entry' if exec_id.startswith('x') else 'exit'}", None, exec_id, action,
                             qty, price, time)


def stock(trade_id: str, quantity: int = 100, side: Side = Side.LONG, symbol: str = "ABC") -> TradePlan:
    if side is Side.LONG:
        return plan(trade_id=trade_id, quantity=quantity, symbol=symbol)
    return plan(trade_id=trade_id, quantity=quantity, symbol=symbol, side=side, tps=(9.0,), stop=11.0)


# -- refusals, with their figures -----------------------------------------------------------------
def test_max_risk_names_the_figures() -> None:
    book = RiskBook(RiskPolicy(max_risk_per_trade=250.0))
    p = plan(trade_id="aapl", quantity=100, entry_price=190.0, stop=187.0, tps=(195.0,))
    assert str(book.check(p, MORNING)) == "max_risk: 100 x |190.00 - 187.00| x 1 = 300.00 > 250.00"
    assert book.check(plan(trade_id="ok", quantity=80, entry_price=190.0, stop=187.0, tps=(195.0,)), MORNING) is None


def test_the_always_on_guard_runs_even_without_limits() -> None:
    close = plan(trade_id="close", stop=9.99, min_stop_ticks=1)
    refusal = RiskBook().check(close, MORNING)
    assert refusal == RiskRefusal("min_distance", "stop_losses[1]: |9.99 - 10.00| / 0.01 = 1 ticks < 4 ticks", "close")


def test_max_open_trades_counts_until_a_trade_closes_or_aborts() -> None:
    book = RiskBook(RiskPolicy(max_open_trades=2))
    book.opened(stock("a"), MORNING)
    book.opened(stock("b"), MORNING)
    assert str(book.check(stock("c"), MORNING)) == "max_open_trades: 2 open + 1 = 3 > 2"
    book.feed(TradeAborted(trade_id="a", reason="expired", time=MORNING + 60), MORNING + 60)
    assert book.check(stock("c"), MORNING + 60) is None
    book.closed("b", MORNING + 120)
    assert book.model.open_trades == 0


def test_max_trades_per_day_rolls_at_the_exchanges_midnight() -> None:
    book = RiskBook(RiskPolicy(max_trades_per_day=2))
    for name in ("a", "b"):
        book.opened(stock(name), MORNING)
        book.closed(name, MORNING)
    assert str(book.check(stock("c"), MORNING)) == "max_trades_per_day: 2 today + 1 = 3 > 2"
    midnight = dt.datetime(2025, 12, 13, 0, 0, tzinfo=NEW_YORK).timestamp()
    assert book.check(stock("c"), midnight - 1) is not None
    assert book.check(stock("c"), midnight) is None  # a new day: nothing opened yet
    assert book.model.trades_opened == 2  # check changed nothing
    book.opened(stock("c"), midnight)
    assert (book.model.trading_day, book.model.trades_opened) == ("2025-12-13", 1)


def test_max_position_counts_what_is_held_and_what_the_open_entries_may_add() -> None:
    book = RiskBook(RiskPolicy(max_position=300))
    book.opened(stock("a", 200), MORNING)
    assert str(book.check(stock("b", 150), MORNING)) == "max_position: ABC long: 0 held + 200 working + 150 = 350 > 300"
    assert book.check(stock("b", 100), MORNING) is None
    assert book.check(stock("x", 250, symbol="XYZ"), MORNING) is None
    # 200 bought, 120 sold: 80 held, nothing more can fill
    book.executed(fill("a", Action.BUY, 200, 10.0, MORNING, exec_id="x1"))
    book.executed(fill("a", Action.SELL, 120, 11.0, MORNING + 60, exec_id="s1"))
    assert book.position("ABC") == 80
    assert book.check(stock("b", 220), MORNING + 60) is None
    assert str(book.check(stock("b", 221), MORNING + 60)) == (
        "max_position: ABC long: 80 held + 0 working + 221 = 301 > 300")
    # a short ends where the net position ends: the 80 held long are room for it
    assert book.check(stock("s", 380, Side.SHORT), MORNING + 60) is None
    assert str(book.check(stock("s", 381, Side.SHORT), MORNING + 60)) == (
        "max_position: ABC short: -80 held + 0 working + 381 = 301 > 300")
    # a trade that ended holding shares (a fill that beat its cancel) still counts
    book.closed("a", MORNING + 120)
    assert str(book.check(stock("b", 221), MORNING + 120)).startswith("max_position: ABC long: 80 held")


def test_a_plan_already_accepted_passes_again() -> None:
    book = RiskBook(RiskPolicy(max_open_trades=1))
    book.opened(stock("a"), MORNING)
    assert book.check(stock("a"), MORNING) is None  # arming is idempotent by trade_id
    book.opened(stock("a"), MORNING)
    assert (book.model.trades_opened, book.model.open_trades) == (1, 1)


# -- P&L in currency, the daily loss and the trading state ----------------------------------------
def test_the_seed_loss_is_34_points_times_50() -> None:
    assert realized_pnl(long=True, entry_qty=1, entry_avg=ENTRY_PRICE, exit_qty=1, exit_avg=EXIT_PRICE,
                        multiplier=50.0) == LOSS
    book = RiskBook(RiskPolicy(timezone="America/Chicago", roll_hour=17))
    book.opened(es_plan(stop=6880.50), ENTRY_TIME)
    book.executed(fill("es", Action.BUY, 1, ENTRY_PRICE, ENTRY_TIME, exec_id="x1"))
    book.executed(fill("es", Action.SELL, 1, EXIT_PRICE, EXIT_TIME, exec_id="s1"))
    assert book.model.realized_pnl == -1700.0
    assert book.snapshot().positions == ()
    assert book.model.trading_day == "2025-12-12"


def test_the_daily_loss_moves_the_account_to_reducing_and_only_exits_go() -> None:
    book = RiskBook(RiskPolicy(max_daily_loss=1500.0))
    book.opened(es_plan(stop=6880.50), ENTRY_TIME)
    book.executed(fill("es", Action.BUY, 1, ENTRY_PRICE, ENTRY_TIME, exec_id="x1"))
    assert book.state == "active"
    book.executed(fill("es", Action.SELL, 1, EXIT_PRICE, EXIT_TIME, exec_id="s1"))
    assert book.state == "reducing"
    refusal = book.check(es_plan("next", stop=6880.50), EXIT_TIME)
    assert str(refusal) == ("trading_state: the account is reducing (the day's net loss 1,700.00 reached "
                            "max_daily_loss 1,500.00): only exits are sent")
    assert book.check_new_order(is_exit=True) is None
    with pytest.raises(TransitionNotAllowed):
        book.resume(EXIT_TIME + 60)  # the same day: the limit holds
    tomorrow = EXIT_TIME + 24 * HOUR
    assert book.check(es_plan("next", stop=6880.50), tomorrow) is not None  # a new day resumes nothing
    book.resume(tomorrow)
    assert book.state == "active"
    assert book.check(es_plan("next", stop=6880.50), tomorrow) is None


def test_commissions_count_toward_the_daily_loss_even_when_they_come_first() -> None:
    book = RiskBook(RiskPolicy(max_daily_loss=100.0))
    book.opened(stock("a"), MORNING)
    book.commission(CommissionReported("x1", 0.5, time=MORNING))  # before its execution
    book.executed(fill("a", Action.BUY, 100, 10.0, MORNING, exec_id="x1"))
    book.executed(fill("a", Action.SELL, 100, 9.0, MORNING + 60, exec_id="s1"))
    assert (book.model.realized_pnl, book.model.commissions, book.state) == (-100.0, 0.5, "reducing")
    book.commission(CommissionReported("s1", 0.5, time=MORNING + 60))
    book.commission(CommissionReported("s1", 0.5, time=MORNING + 60))  # re-sent: counted once
    assert book.snapshot().net_pnl == -101.0


def test_duplicates_count_once_and_a_correction_replaces_its_execution() -> None:
    book = RiskBook()
    book.opened(stock("a"), MORNING)
    entry = fill("a", Action.BUY, 100, 10.0, MORNING, exec_id="x1")
    book.executed(entry)
    book.executed(entry)
    book.executed(fill("a", Action.SELL, 100, 10.5, MORNING + 60, exec_id="s1"))
    assert book.model.realized_pnl == 50.0
    book.executed(fill("a", Action.SELL, 100, 10.4, MORNING + 90, exec_id="s1.01"))  # IB corrects the price
    assert book.model.realized_pnl == 40.0
    assert book.position("ABC") == 0


def test_a_trade_across_the_roll_realizes_in_the_day_its_exits_fill() -> None:
    book = RiskBook(RiskPolicy(timezone="America/Chicago", roll_hour=17))
    evening = dt.datetime(2025, 12, 11, 16, 0, tzinfo=NEW_YORK).timestamp()  # 15:00 Chicago
    book.opened(es_plan("overnight", quantity=2, stop=6880.50), evening)
    book.executed(fill("overnight", Action.BUY, 2, 6890.50, evening, exec_id="x1"))
    book.executed(fill("overnight", Action.SELL, 1, 6900.50, evening + 60, exec_id="s1"))  # +500 on the 11th
    assert (book.model.trading_day, book.model.realized_pnl) == ("2025-12-11", 500.0)
    after_roll = dt.datetime(2025, 12, 11, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6))).timestamp()
    book.executed(fill("overnight", Action.SELL, 1, 6880.50, after_roll, exec_id="s2"))  # -500 on the 12th
    assert (book.model.trading_day, book.model.realized_pnl, book.model.trades_opened) == ("2025-12-12", -500.0, 0)
    assert book.model.open_trades == 1  # what is open stays open across the roll


@pytest.mark.parametrize(
    ("local", "roll_hour", "day"),
    [
        ("2025-03-09T01:59:00", 0, "2025-03-09"),  # the night the clocks go forward
        ("2025-03-09T03:00:00", 0, "2025-03-09"),
        ("2025-03-08T23:59:59", 0, "2025-03-08"),
        ("2025-11-02T01:30:00", 2, "2025-11-01"),  # the repeated hour of the fall back is before 2:00
        ("2025-12-11T17:59:59", 18, "2025-12-11"),  # CME: the session that opens at 18:00 ...
        ("2025-12-11T18:00:00", 18, "2025-12-12"),  # ... is the next day's
    ],
)
def test_the_trading_day_is_read_on_the_exchange_clock(local: str, roll_hour: int, day: str) -> None:
    book = RiskBook(RiskPolicy(roll_hour=roll_hour))
    stamp = dt.datetime.fromisoformat(local).replace(tzinfo=NEW_YORK).timestamp()
    assert book.trading_day(stamp) == day


def test_the_kill_switch_halts_everything_new_and_resume_respects_the_loss() -> None:
    book = RiskBook(RiskPolicy(max_daily_loss=50.0))
    book.feed(KillSwitch("runaway fills"), MORNING)
    assert str(book.check(stock("a"), MORNING)) == (
        "trading_state: the account is halted (runaway fills): nothing new is sent")
    assert book.check_new_order(is_exit=True) is not None  # halted: not even a new exit
    book.feed(Resume(), MORNING + 60)
    assert book.state == "active"
    book.opened(stock("a"), MORNING)
    book.executed(fill("a", Action.BUY, 100, 10.0, MORNING, exec_id="x1"))
    book.executed(fill("a", Action.SELL, 100, 9.5, MORNING, exec_id="s1"))
    book.kill(MORNING + 120, "operator")
    book.resume(MORNING + 180)
    assert book.state == "reducing"  # the day's loss is still at its limit
    book.feed(Resume(), MORNING + 240)  # refused, as a replayed journal may hold it: nothing changes
    assert book.state == "reducing"
    with pytest.raises(TransitionNotAllowed):
        book.resume(MORNING + 240)  # asked directly, the refusal is loud


def test_executions_of_unknown_trades_are_counted_apart() -> None:
    book = RiskBook()
    book.executed(fill("elsewhere", Action.BUY, 5, 10.0, MORNING, exec_id="x9"))
    assert book.ignored_executions == 1
    assert book.snapshot().positions == ()


# -- survives a restart: the same facts make the same book ----------------------------------------
def day_of_facts() -> list[tuple[object, float]]:
    return [
        (stock("a"), MORNING),
        (fill("a", Action.BUY, 60, 10.0, MORNING + 1, exec_id="x1"), MORNING + 1),
        (CommissionReported("x1", 0.3, time=MORNING + 1), MORNING + 1),
        (fill("a", Action.BUY, 40, 10.02, MORNING + 2, exec_id="x2"), MORNING + 2),
        (es_plan("es", side=Side.SHORT, quantity=2, stop=6900.50), MORNING + 3),
        (fill("es", Action.SELL, 2, 6890.50, MORNING + 4, exec_id="x3"), MORNING + 4),
        (fill("a", Action.SELL, 100, 9.0, MORNING + 5, exec_id="s1"), MORNING + 5),
        (TradeClosed(trade_id="a", entry_filled=100, exit_filled=100, realized_pnl=-101.2, time=MORNING + 5),
         MORNING + 5),
        (KillSwitch("lunch"), MORNING + 6),
        (fill("es", Action.BUY, 1, 6880.50, MORNING + 24 * HOUR, exec_id="s2"), MORNING + 24 * HOUR),
        (Resume(), MORNING + 24 * HOUR + 1),
        (fill("es", Action.BUY, 1, 6880.50, MORNING + 24 * HOUR, exec_id="s2"), MORNING + 24 * HOUR + 2),  # re-sent
    ]


def test_feeding_the_same_facts_again_rebuilds_the_book_exactly() -> None:
    policy = RiskPolicy(max_daily_loss=1000.0, max_open_trades=3)
    live = RiskBook(policy)
    seen = []
    for value, time in day_of_facts():
        live.feed(value, time)
        seen.append(live.snapshot())
    rebuilt = RiskBook.rebuild(policy, day_of_facts())
    assert rebuilt.snapshot() == live.snapshot()
    # the first day: bought 100 at 10.008 on average, sold at 9.00
    assert (seen[7].realized_pnl, seen[7].commissions, seen[7].open_trades) == (-100.8, 0.3, 1)
    assert seen[8].state == "halted"
    # the next day: 1 of the 2 ES shorts covered 10 points better, once although reported twice
    final = live.snapshot()
    assert (final.state, final.trading_day, final.realized_pnl, final.commissions) == ("active", "2025-12-13", 500.0, 0)
    assert (final.trades_opened, final.open_trades, final.positions) == (0, 1, (("ES", -1),))
