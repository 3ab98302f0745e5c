"""Drive real machines to a named starting situation, with events only.

A setup is `(state, steps)`: the steps that take fresh machines there, and the state the driven
machine must then be in. A step is `(machine, event, kwargs)`; `"seed"` is a step that is not an
event: it writes an execution straight into a leg's fill book, as a model restored from the
journal would carry it (used only where no sequence of events reaches a situation). `"count"` is
the other: it writes the day's counters into an account's model, as the risk book does before it
tells the account what changed.
The setup named after a state is the canonical way to reach it.
"""

from __future__ import annotations

import inspect
from typing import Any

from statemachine import StateMachine

from machines import (
    Account,
    AccountModel,
    EntryLeg,
    Fill,
    Leg,
    LegModel,
    OcaPair,
    PairModel,
    StopLeg,
    Trade,
    TradeModel,
)
from tables import Table

Step = tuple[str, str, dict[str, Any]]
Setup = tuple[str, list[Step]]

LEG_QTY = 10


def ev(who: str, event: str, **kwargs: Any) -> Step:
    return (who, event, kwargs)


def fill(who: str, exec_id: str, qty: int, price: float = 10.0) -> Step:
    return (who, "fill", {"exec_id": exec_id, "qty": qty, "price": price})


def seed(who: str, exec_id: str, qty: int) -> Step:
    return (who, "seed", {"exec_id": exec_id, "qty": qty, "price": 10.0})


def fire(machine: StateMachine, event: str, **kwargs: Any) -> None:
    """Fire an event by name, the way callers do (`leg.fill(...)`). Not `machine.send(event)`:
    an event named `send` once hid that method (`leg.send("accept")` fired `send`)."""
    getattr(machine, event)(**kwargs)


def count(**counters: Any) -> Step:
    return ("account", "count", counters)


def run(machines: dict[str, StateMachine], steps: list[Step]) -> None:
    for who, event, kwargs in steps:
        if event == "seed":
            machines[who].model.book.apply(Fill(**kwargs))
        elif event == "count":
            for name, value in kwargs.items():
                setattr(machines[who].model, name, value)
        else:
            fire(machines[who], event, **kwargs)


def first_guard_that_holds(sm: StateMachine, table: Table, event: str, kwargs: dict[str, Any]) -> str | None:
    """The guard the machine will act on: the first of the row's alternatives that holds."""
    state = sm.current_state_value
    for row_state, row_event, guard, _ in table:
        if (row_state, row_event) != (state, event) or guard is None:
            continue
        assert guard.isidentifier(), f"only plain guard names are handled here, not {guard!r}"
        method = getattr(sm, guard)
        wanted = {k: v for k, v in kwargs.items() if k in inspect.signature(method).parameters}
        if method(**wanted):
            return guard
    return None


def leg_model(name: str = "T1:leg") -> LegModel:
    # a stop price too, so the same model fits a StopLeg
    return LegModel(leg=name, intended_qty=LEG_QTY, limit_price=12.0, stop_price=9.0)


# -- one leg -----------------------------------------------------------------------------------
SEND, ACCEPT = ev("leg", "transmit"), ev("leg", "accept")
LIVE = [SEND, ACCEPT]
REPLACE = ev("leg", "request_replace", stop_price=9.5)  # a stop price, so a StopLeg takes it too

LEG_SETUPS: dict[str, Setup] = {
    "pending": ("pending", []),
    "sent": ("sent", [SEND]),
    "working": ("working", LIVE),
    "partially_filled": ("partially_filled", [*LIVE, fill("leg", "e1", 4)]),
    "filled": ("filled", [*LIVE, fill("leg", "e1", 6), fill("leg", "e2", 4)]),
    "cancel_requested": ("cancel_requested", [*LIVE, ev("leg", "request_cancel")]),
    "cancelled": ("cancelled", [*LIVE, ev("leg", "request_cancel"), ev("leg", "confirm_cancel")]),
    "rejected": ("rejected", [SEND, ev("leg", "reject", reason="201 margin")]),
    "replace_requested": ("replace_requested", [*LIVE, REPLACE]),
    "unknown": ("unknown", [*LIVE, ev("leg", "lose_contact")]),
    # the same states, holding executions
    "sent, e1=4 seeded": ("sent", [seed("leg", "e1", 4), SEND]),
    "working, e1=4 seeded": ("working", [seed("leg", "e1", 4), *LIVE]),
    "cancel_requested, e1=4": ("cancel_requested", [*LIVE, fill("leg", "e1", 4), ev("leg", "request_cancel")]),
    "cancelled, e1=4": (
        "cancelled",
        [*LIVE, fill("leg", "e1", 4), ev("leg", "request_cancel"), ev("leg", "confirm_cancel")],
    ),
    "replace_requested, e1=4": ("replace_requested", [*LIVE, fill("leg", "e1", 4), REPLACE]),
    "unknown, e1=4": ("unknown", [*LIVE, fill("leg", "e1", 4), ev("leg", "lose_contact")]),
    "unknown, e1=10": ("unknown", [*LIVE, ev("leg", "lose_contact"), fill("leg", "e1", 10)]),
}

ENTRY_PREFIX = [ev("leg", "trigger"), ev("leg", "intend")]
ENTRY_SETUPS: dict[str, Setup] = {
    "armed": ("armed", []),
    "triggered": ("triggered", [ev("leg", "trigger")]),
    "expired": ("expired", [ev("leg", "expire")]),
    **{name: (state, [*ENTRY_PREFIX, *steps]) for name, (state, steps) in LEG_SETUPS.items()},
}


def drive_leg(machine: type[StateMachine], setup: str) -> StateMachine:
    setups = ENTRY_SETUPS if machine is EntryLeg else LEG_SETUPS
    state, steps = setups[setup]
    leg = machine(leg_model())
    run({"leg": leg}, steps)
    assert leg.current_state_value == state, f"setup {setup!r} reached {leg.current_state_value}"
    return leg


# -- an OCA pair, with its two legs --------------------------------------------------------------
BOTH_ACKED = [ev("tp", "transmit"), ev("tp", "accept"), ev("sl", "transmit"), ev("sl", "accept")]
ARMED = [*BOTH_ACKED, ev("pair", "leg_acked")]
TP_CANCELLED = [ev("tp", "request_cancel"), ev("tp", "confirm_cancel")]
SL_CANCELLED = [ev("sl", "request_cancel"), ev("sl", "confirm_cancel")]
PAIR_REDUCING = [*ARMED, fill("tp", "t1", 4), ev("pair", "leg_filled")]
PAIR_EXPOSED = [*ARMED, ev("sl", "confirm_cancel"), ev("pair", "leg_ended")]  # unsolicited stop cancel

PAIR_SETUPS: dict[str, Setup] = {
    "pending": ("pending", []),
    "armed": ("armed", ARMED),
    "reducing": ("reducing", PAIR_REDUCING),
    "closed_by_tp": ("closed_by_tp", [*ARMED, fill("tp", "t1", 10), ev("pair", "leg_filled")]),
    "closed_by_sl": ("closed_by_sl", [*ARMED, fill("sl", "s1", 10), ev("pair", "leg_filled")]),
    "closed_mixed": ("closed_mixed", [*PAIR_REDUCING, fill("sl", "s1", 6), ev("pair", "leg_filled")]),
    "cancelled": ("cancelled", [*ARMED, *TP_CANCELLED, ev("pair", "leg_ended"), *SL_CANCELLED,
                                ev("pair", "leg_ended")]),
    "exposed": ("exposed", PAIR_EXPOSED),
    # the pair has not been told yet what its legs just did
    "pending, both legs acked": ("pending", BOTH_ACKED),
    "pending, tp acked": ("pending", [ev("tp", "transmit"), ev("tp", "accept")]),
    "pending, tp filled 10": ("pending", [ev("tp", "transmit"), fill("tp", "t1", 10)]),
    "pending, sl filled 10": ("pending", [ev("sl", "transmit"), fill("sl", "s1", 10)]),
    "pending, tp 4 + sl 6": ("pending", [ev("tp", "transmit"), ev("sl", "transmit"), fill("tp", "t1", 4),
                                         fill("sl", "s1", 6)]),
    "pending, tp filled 4": ("pending", [ev("tp", "transmit"), fill("tp", "t1", 4)]),
    "pending, both cancelled unsent": ("pending", [*TP_CANCELLED, *SL_CANCELLED]),
    "pending, sl rejected": ("pending", [ev("sl", "transmit"), ev("sl", "reject")]),
    "pending, tp rejected": ("pending", [ev("tp", "transmit"), ev("tp", "reject")]),
    "armed, tp filled 10": ("armed", [*ARMED, fill("tp", "t1", 10)]),
    "armed, sl filled 10": ("armed", [*ARMED, fill("sl", "s1", 10)]),
    "armed, tp 4 + sl 6": ("armed", [*ARMED, fill("tp", "t1", 4), fill("sl", "s1", 6)]),
    "armed, tp filled 4": ("armed", [*ARMED, fill("tp", "t1", 4)]),
    "armed, both cancelled": ("armed", [*ARMED, *TP_CANCELLED, *SL_CANCELLED]),
    "armed, sl cancelled": ("armed", [*ARMED, ev("sl", "confirm_cancel")]),
    "armed, tp cancelled": ("armed", [*ARMED, *TP_CANCELLED]),
    "reducing, tp filled 10": ("reducing", [*PAIR_REDUCING, fill("tp", "t2", 6)]),
    "reducing by sl, sl filled 10": (
        "reducing", [*ARMED, fill("sl", "s1", 4), ev("pair", "leg_filled"), fill("sl", "s2", 6)]),
    "reducing, tp 4 + sl 6": ("reducing", [*PAIR_REDUCING, fill("sl", "s1", 6)]),
    "reducing, tp filled 6": ("reducing", [*PAIR_REDUCING, fill("tp", "t2", 2)]),
    "reducing, sl cancelled": ("reducing", [*PAIR_REDUCING, ev("sl", "confirm_cancel")]),
    "reducing, tp cancelled": ("reducing", [*PAIR_REDUCING, ev("tp", "confirm_cancel")]),
    "exposed, tp filled 10": ("exposed", [*PAIR_EXPOSED, fill("tp", "t1", 10)]),
    "exposed, late sl fill 10": ("exposed", [*PAIR_EXPOSED, fill("sl", "s1", 10)]),
    "exposed, tp 4 + late sl 6": ("exposed", [*PAIR_EXPOSED, fill("tp", "t1", 4), fill("sl", "s1", 6)]),
    "exposed, tp filled 4": ("exposed", [*PAIR_EXPOSED, fill("tp", "t1", 4)]),
    "exposed, tp cancelled": ("exposed", [*PAIR_EXPOSED, *TP_CANCELLED]),
    "exposed, tp 4 then cancelled": ("exposed", [*PAIR_EXPOSED, fill("tp", "t1", 4), *TP_CANCELLED]),
}


def drive_pair(setup: str) -> dict[str, StateMachine]:
    state, steps = PAIR_SETUPS[setup]
    tp, sl = leg_model("T1:tp1"), leg_model("T1:sl1")
    rig: dict[str, StateMachine] = {"tp": Leg(tp), "sl": StopLeg(sl), "pair": OcaPair(PairModel("p1", tp, sl))}
    run(rig, steps)
    assert rig["pair"].current_state_value == state, f"setup {setup!r} reached {rig['pair'].current_state_value}"
    return rig


# -- a trade, with its entry and one exit pair ---------------------------------------------------
ENTRY_LIVE = [ev("entry", "trigger"), ev("entry", "intend"), ev("entry", "transmit"), ev("entry", "accept")]
ENTERED_10 = [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 10), ev("trade", "inventory")]
ENTERED_4 = [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 4), ev("trade", "inventory")]
ENTRY_CANCELLED = [ev("entry", "request_cancel"), ev("entry", "confirm_cancel")]
EXITS_LIVE = [ev("tp", "transmit"), ev("tp", "accept"), ev("sl", "transmit"), ev("sl", "accept")]
PROTECTED = [*ENTERED_10, *EXITS_LIVE, ev("trade", "covered")]
SCALING_OUT = [*PROTECTED, fill("tp", "t1", 4), ev("trade", "reduced")]
UNPROTECTED = [*ENTERED_10, *EXITS_LIVE, ev("trade", "uncovered")]

TRADE_SETUPS: dict[str, Setup] = {
    "armed": ("armed", []),
    "entering": ("entering", [ev("trade", "enter")]),
    "protecting": ("protecting", [*ENTERED_10, *EXITS_LIVE]),
    "protected": ("protected", PROTECTED),
    "scaling_out": ("scaling_out", SCALING_OUT),
    "closed": ("closed", [*PROTECTED, fill("tp", "t1", 10), ev("trade", "reduced")]),
    "unprotected": ("unprotected", UNPROTECTED),
    "aborted": ("aborted", [ev("trade", "abort")]),
    # the trade has not been told yet what its legs just did
    "entering, entry filled 4": ("entering", [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 4)]),
    "entering, entry cancelled empty": ("entering", [ev("trade", "enter"), ev("entry", "trigger"),
                                                     ev("entry", "intend"), ev("entry", "request_cancel")]),
    "entering, entry 4 then cancelled": (
        "entering", [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 4), *ENTRY_CANCELLED]),
    "protecting, tp took all 10": ("protecting", [*ENTERED_10, *EXITS_LIVE, fill("tp", "t1", 10)]),
    "protecting, tp took 4": ("protecting", [*ENTERED_10, *EXITS_LIVE, fill("tp", "t1", 4)]),
    "protecting, entry 4 sold, entry cancelled": (
        "protecting", [*ENTERED_4, *EXITS_LIVE, fill("tp", "t1", 4), *ENTRY_CANCELLED]),
    "protected, tp took all 10": ("protected", [*PROTECTED, fill("tp", "t1", 10)]),
    "protected, tp took 4": ("protected", [*PROTECTED, fill("tp", "t1", 4)]),
    "protected, entry 4 sold, entry cancelled": (
        "protected", [*ENTERED_4, *EXITS_LIVE, ev("trade", "covered"), fill("tp", "t1", 4), *ENTRY_CANCELLED]),
    "scaling_out, sl took the last 6": ("scaling_out", [*SCALING_OUT, fill("sl", "s1", 6)]),
    "scaling_out, tp took 2 more": ("scaling_out", [*SCALING_OUT, fill("tp", "t2", 2)]),
    "scaling_out, entry 6 sold, entry cancelled": (
        "scaling_out",
        [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 6), ev("trade", "inventory"), *EXITS_LIVE,
         ev("trade", "covered"), fill("tp", "t1", 2), ev("trade", "reduced"), fill("tp", "t2", 4),
         *ENTRY_CANCELLED],
    ),
    "unprotected, tp took 4": ("unprotected", [*UNPROTECTED, fill("tp", "t1", 4)]),
    "unprotected, tp took all 10": ("unprotected", [*UNPROTECTED, fill("tp", "t1", 10)]),
    "unprotected, entry 4 sold, entry cancelled": (
        "unprotected",
        [*ENTERED_4, *EXITS_LIVE, ev("trade", "uncovered"), fill("tp", "t1", 4), *ENTRY_CANCELLED],
    ),
}


def drive_trade(setup: str) -> dict[str, StateMachine]:
    state, steps = TRADE_SETUPS[setup]
    entry, tp, sl = leg_model("T1:entry"), leg_model("T1:tp1"), leg_model("T1:sl1")
    rig: dict[str, StateMachine] = {
        "entry": EntryLeg(entry),
        "tp": Leg(tp),
        "sl": StopLeg(sl),
        "trade": Trade(TradeModel("T1", entry, [tp, sl])),
    }
    run(rig, steps)
    assert rig["trade"].current_state_value == state, f"setup {setup!r} reached {rig['trade'].current_state_value}"
    return rig


# -- the account, over its day's counters --------------------------------------------------------
DAILY_LIMIT = 500.0
LOST_600 = count(realized_pnl=-600.0)  # past the 500 limit
LOST_480_FEES_20 = count(realized_pnl=-480.0, commissions=20.0)  # net 500: the limit is reached
REDUCING = [LOST_600, ev("account", "realize")]
NEXT_DAY = ev("account", "roll", day="2025-12-15")

ACCOUNT_SETUPS: dict[str, Setup] = {
    "active": ("active", []),
    "reducing": ("reducing", REDUCING),
    "halted": ("halted", [ev("account", "kill", reason="operator")]),
    # the account has not been told yet what its counters now say
    "active, lost 600": ("active", [LOST_600]),
    "active, lost 480 + 20 fees": ("active", [LOST_480_FEES_20]),
    "active, lost 300": ("active", [count(realized_pnl=-300.0)]),
    "reducing, next day": ("reducing", [*REDUCING, NEXT_DAY]),
    "halted from reducing": ("halted", [*REDUCING, ev("account", "kill", reason="operator")]),
    "halted, lost 600": ("halted", [ev("account", "kill", reason="operator"), LOST_600]),
}


def drive_account(setup: str) -> dict[str, StateMachine]:
    state, steps = ACCOUNT_SETUPS[setup]
    rig: dict[str, StateMachine] = {"account": Account(AccountModel(max_daily_loss=DAILY_LIMIT))}
    run(rig, steps)
    assert rig["account"].current_state_value == state, (
        f"setup {setup!r} reached {rig['account'].current_state_value}")
    return rig
