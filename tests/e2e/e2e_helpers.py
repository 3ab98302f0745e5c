"""Shared set-up of the end-to-end tests: the documented ladder on the bundled day, by name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from broker.sim import SimBroker, SimConfig
from broker.sim_session import DEFAULT_LEVEL, SessionResult, default_plan, run_breakout
from supervisor.events import SupervisorEvent
from supervisor.plan import TradePlan
from supervisor.policy import Policy
from supervisor.runner import SupervisorLike

ROOT = Path(__file__).resolve().parents[2]
FINAL = {"filled", "cancelled", "rejected"}


def ladder(
    faults: Iterable[str] = (),
    *,
    plan: TradePlan | None = None,
    policy: Policy | None = None,
    config: SimConfig | None = None,
    cancel_after_first_fill: bool = False,
) -> SessionResult:
    """The documented ladder on the bundled day; `cancel_after_first_fill`: the bot cancels the
    entry as soon as a first piece of it executed (the rest of it is never wanted)."""
    cancelled: list[bool] = []

    def cancel_entry(sim: SimBroker, supervisor: SupervisorLike) -> None:
        trade = supervisor.trade((plan or default_plan()).trade_id)
        if cancelled or trade.entry_filled == 0:
            return
        cancelled.append(True)
        for command in supervisor.cancel(trade.trade_id) + supervisor.settle():
            sim.execute(command)

    return run_breakout(plan or default_plan(), DEFAULT_LEVEL, faults=faults, policy=policy, config=config,
                        on_step=cancel_entry if cancel_after_first_fill else None)


def named(result: SessionResult, kind: type[SupervisorEvent]) -> list:  # type: ignore[type-arg]
    return [event for event in result.events if isinstance(event, kind)]


def fills_by_leg(result: SessionResult) -> dict[str, int]:
    return {leg.name: leg.filled_qty for leg in result.trade.legs if leg.filled_qty}


def assert_books_balance(result: SessionResult) -> None:
    """Entry fills = exit fills + what is still held, in the supervisor and at the broker."""
    trade = result.trade
    exits = sum(leg.filled_qty for leg in trade.legs if leg.role != "entry")
    assert trade.entry_filled == trade.leg("entry").filled_qty
    assert trade.exit_filled == exits
    assert trade.entry_filled - exits == trade.position == result.sim_position
