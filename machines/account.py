# How this machine works: an `Account` is the trading state of the whole account, over the day's
# counters in its `AccountModel`. The risk book (`supervisor.risk`) writes the counters from the
# facts it is fed (plans accepted, executions, commissions, trades closed) and then tells the
# machine: `realize` after the day's realized P&L changed, `roll` when a new trading day begins,
# `kill` when the operator pulls the kill switch, `resume` when the operator lets trading go on.
#
#   active: anything may be sent.
#   reducing: only exits (the day's net realized loss reached `max_daily_loss`; the guarded
#     `realize` edge reads the model, so the breach is a transition, never a flag).
#   halted: nothing new is sent; the exits already working stay (the kill switch).
#
#   active -> reducing -> halted, and back only by the operator's `resume`: a halted account
#   resumes to reducing while the day's loss is still at its limit, else to active; a reducing
#   account resumes once the loss is within the limit (a new day, or a higher limit). A new
#   trading day resets the counters but never the state: nothing comes back on its own.
from __future__ import annotations

import attrs
from statemachine import State, StateMachine


@attrs.define
class AccountModel:
    """The day's counters. Money is in the account currency, net of nothing unless named so."""

    max_daily_loss: float | None = None  # None: no daily loss limit
    trading_day: str = ""  # ISO date of the trading day these counters belong to
    trades_opened: int = 0  # plans accepted this trading day
    realized_pnl: float = 0.0  # realized this trading day, before commissions
    commissions: float = 0.0  # paid this trading day
    open_trades: int = 0  # accepted and not yet closed or aborted, whatever their day
    positions: dict[str, int] = attrs.field(factory=dict)  # signed, per symbol, from executions
    halt_reason: str = ""
    state: str | None = None

    @property
    def net_pnl(self) -> float:
        return round(self.realized_pnl - self.commissions, 6)

    @property
    def daily_loss(self) -> float:
        """The day's net realized loss as a positive amount (0 on a winning day)."""
        return max(-self.net_pnl, 0.0)


class Account(StateMachine):
    active = State(initial=True)
    reducing = State()
    halted = State()

    realize = (
        active.to(reducing, cond="loss_limit_reached")
        | active.to.itself(internal=True)
        | reducing.to.itself(internal=True)
        | halted.to.itself(internal=True)
    )
    kill = (
        active.to(halted)
        | reducing.to(halted)
        # pulled twice: still halted, the newer reason is kept
        | halted.to.itself(internal=True)
    )
    resume = (
        reducing.to(active, cond="within_loss_limit")
        | halted.to(reducing, cond="loss_limit_reached")
        | halted.to(active)
    )
    # the counters of the new day start at zero; the state stays what the operator left it
    roll = active.to.itself(internal=True) | reducing.to.itself(internal=True) | halted.to.itself(internal=True)

    def __init__(self, model: AccountModel) -> None:
        super().__init__(model)

    # -- guards --------------------------------------------------------------------------------
    def loss_limit_reached(self) -> bool:
        limit = self.model.max_daily_loss
        return limit is not None and self.model.daily_loss >= limit

    def within_loss_limit(self) -> bool:
        return not self.loss_limit_reached()

    # -- actions -------------------------------------------------------------------------------
    def on_kill(self, reason: str = "") -> None:
        self.model.halt_reason = reason or "kill switch"

    def on_resume(self) -> None:
        self.model.halt_reason = ""

    def on_roll(self, day: str) -> None:
        self.model.trading_day = day
        self.model.trades_opened = 0
        self.model.realized_pnl = 0.0
        self.model.commissions = 0.0
