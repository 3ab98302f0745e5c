"""The guarded rows of the `Account` table, fired on a real account whose counters were set the way
the risk book sets them. Each case names the guard that must decide, checked to be the first one
that holds before the event fires; a last test checks every guarded row has a case. `resume` from
`reducing` has no fallback: while the day's loss is at its limit, it raises and nothing moves.
"""

from __future__ import annotations

import pytest
from statemachine.exceptions import TransitionNotAllowed

from machines import Account, AccountModel
from tables import NOT_ALLOWED
from tables.account import ACCOUNT
from tables.drive import ACCOUNT_SETUPS, DAILY_LIMIT, account_guard, drive_account

Case = tuple[str, str, str | None, str]  # (setup, event, guard that must decide, expected state)

CASES: list[Case] = [
    ("active, lost 600",             "realize", "loss_limit_reached", "reducing"),
    ("active, lost 480 + 20 fees",   "realize", "loss_limit_reached", "reducing"),  # net of commissions
    ("active, lost 300",             "realize", None,                 "active"),
    ("reducing",                     "resume",  None,                 NOT_ALLOWED),
    ("reducing, next day",           "resume",  "within_loss_limit",  "active"),
    ("halted from reducing",         "resume",  "loss_limit_reached", "reducing"),
    ("halted, lost 600",             "resume",  "loss_limit_reached", "reducing"),
    ("halted",                       "resume",  None,                 "active"),
]


@pytest.mark.parametrize(("setup", "event", "guard", "expected"), CASES)
def test_account_guarded_row(setup: str, event: str, guard: str | None, expected: str) -> None:
    account = drive_account(setup)
    assert account_guard(account, ACCOUNT, event) == guard
    if expected == NOT_ALLOWED:
        with pytest.raises(TransitionNotAllowed):
            account.send(event)
        assert account.current_state_value == ACCOUNT_SETUPS[setup][0]
    else:
        account.send(event)
        assert account.current_state_value == expected


def test_every_guarded_account_row_has_a_case() -> None:
    guarded_pairs = {(s, e) for s, e, g, _ in ACCOUNT if g is not None}
    guarded = {row for row in ACCOUNT if (row[0], row[1]) in guarded_pairs}
    covered = {(ACCOUNT_SETUPS[setup][0], event, guard, expected) for setup, event, guard, expected in CASES}
    # `reducing --resume-->` has no fallback row: its refusal is the NOT_ALLOWED case above
    assert guarded - covered == set()


def test_no_daily_limit_never_reduces() -> None:
    model = AccountModel(max_daily_loss=None, realized_pnl=-1e9)
    account = Account(model)
    account.realize()
    assert account.current_state_value == "active"


def test_the_roll_resets_the_day_counters_but_not_the_state() -> None:
    account = drive_account("reducing")
    model = account.model
    model.trades_opened, model.open_trades, model.positions = 3, 1, {"ES": -1}
    account.roll(day="2025-12-15")
    assert account.current_state_value == "reducing"
    assert (model.trading_day, model.trades_opened, model.realized_pnl, model.commissions) == ("2025-12-15", 0, 0, 0)
    # what is open stays open across the roll
    assert (model.open_trades, model.positions) == (1, {"ES": -1})
    assert model.daily_loss == 0 < DAILY_LIMIT


def test_kill_keeps_the_latest_reason_and_resume_clears_it() -> None:
    account = drive_account("halted")
    assert account.model.halt_reason == "operator"
    account.kill(reason="runaway fills")
    assert (account.current_state_value, account.model.halt_reason) == ("halted", "runaway fills")
    account.resume()
    assert (account.current_state_value, account.model.halt_reason) == ("active", "")
