"""Drive real machines to a named starting situation, with events only.

The machines are used the way the supervisor uses them: ONE instance of each machine class
(`shared`), pointed at a model before each event (`fire`). A situation is a rig of fresh models
(one leg; an OCA pair and its two legs; a trade with its entry and one pair) and the steps that
take them there. A step is `(who, event, kwargs)`: `who` names the model and so the machine that
fires (`leg`: the machine under test; `entry`, `tp`, `sl`: the legs; `pair`; `trade`, `ladder`,
`cover`, `milestones`: the four machines of the trade model). The one step that is not an event is
`put`: it writes a NUMBER of a model the supervisor writes itself (a level's `allocated` share, as
the ladder's allocation does before it fires `allocate`), never a state field.

A setup is `(state, steps)`: the state the machine under test must then be in, so a setup that
stopped reaching its state fails loudly instead of testing something else.
"""

from __future__ import annotations

import inspect
from typing import Any

from statemachine import StateMachine

from machines import (
    Account,
    AccountModel,
    Cover,
    EntryLeg,
    Ladder,
    Leg,
    LegModel,
    Milestones,
    OcaPair,
    PairModel,
    StopLeg,
    Trade,
    TradeModel,
)
from tables import Table

Step = tuple[str, str, dict[str, Any]]
Setup = tuple[str, list[Step]]
Rig = dict[str, Any]

QTY = 10
STATE_FIELDS = {"trade": "state", "ladder": "ladder", "cover": "cover", "milestones": "milestones"}

_SHARED: dict[type[StateMachine], StateMachine] = {}


def shared(machine: type[StateMachine]) -> Any:
    """The one instance of `machine` every test uses (building one costs milliseconds)."""
    sm = _SHARED.get(machine)
    if sm is None:
        sm = _SHARED[machine] = machine()
    intents = getattr(sm, "intents", None)
    if intents is not None:
        intents.drain()
    return sm


def fire(machine: type[StateMachine], model: Any, event: str, **kwargs: Any) -> list[str]:
    """Point the shared `machine` at `model`, send `event` the way the supervisor does, and return
    the names of the intents the transition recorded."""
    sm = shared(machine)
    sm.model.target = model
    sm.send(event, **kwargs)
    intents = getattr(sm, "intents", None)
    return [name for name, _ in intents.drain()] if intents is not None else []


def state_of(machine: type[StateMachine], model: Any) -> str:
    sm = shared(machine)
    sm.model.target = model
    return str(sm.current_state_value)


def ev(who: str, event: str, **kwargs: Any) -> Step:
    return (who, event, kwargs)


def fill(who: str, exec_id: str, qty: int, price: float = 10.0) -> Step:
    """An execution as the supervisor hands it to a leg: the change it makes, and its id."""
    return (who, "fill", {"qty": qty, "notional": qty * price, "exec_id": exec_id})


def put(who: str, **fields: Any) -> Step:
    return (who, "put", fields)


def run(rig: Rig, machines: dict[str, type[StateMachine]], steps: list[Step]) -> None:
    for who, event, kwargs in steps:
        model = rig[who]
        if event == "put":
            for name, value in kwargs.items():
                assert name not in ("state", *STATE_FIELDS.values()), f"put never writes a state ({name})"
                setattr(model, name, value)
        else:
            fire(machines[who], model, event, **kwargs)


def guard_holds(machine: type[StateMachine], model: Any, guard: str, kwargs: dict[str, Any]) -> bool:
    """Evaluate a table's guard (`a`, `a and b`) on the shared machine pointed at `model`."""
    sm = shared(machine)
    sm.model.target = model
    for name in guard.split(" and "):
        method = getattr(sm, name)
        wanted = {k: v for k, v in kwargs.items() if k in inspect.signature(method).parameters}
        if not method(**wanted):
            return False
    return True


def first_guard_that_holds(machine: type[StateMachine], model: Any, table: Table, event: str,
                           kwargs: dict[str, Any]) -> str | None:
    """The guard the machine will act on: the first of the table's alternatives that holds."""
    state = state_of(machine, model)
    for row_state, row_event, guard, _ in table:
        if (row_state, row_event) != (state, event) or guard is None:
            continue
        if guard_holds(machine, model, guard, kwargs):
            return guard
    return None


# -- one leg -----------------------------------------------------------------------------------
def leg_model(name: str = "T1:leg", state: str = "idle") -> LegModel:
    # a stop price too, so the same model fits a StopLeg
    return LegModel(leg=name, intended_qty=QTY, limit_price=12.0, stop_price=9.0, state=state)


GO = [ev("leg", "intend"), ev("leg", "transmit")]
LIVE = [*GO, ev("leg", "accept")]
REPLACE = ev("leg", "request_replace", stop_price=9.5)  # a stop price, so a StopLeg takes it too
FOUR_OF_FOUR = [fill("leg", "e1", 4), ev("leg", "accept", quantity=4)]

LEG_SETUPS: dict[str, Setup] = {
    "idle": ("idle", []),
    "dropped": ("dropped", [ev("leg", "withdraw")]),
    "pending": ("pending", [ev("leg", "intend")]),
    "sent": ("sent", GO),
    "working": ("working", LIVE),
    "partially_filled": ("partially_filled", [*LIVE, fill("leg", "e1", 4)]),
    "filled": ("filled", [*LIVE, fill("leg", "e1", 6), fill("leg", "e2", 4)]),
    "cancel_requested": ("cancel_requested", [*LIVE, ev("leg", "request_cancel")]),
    "cancelled": ("cancelled", [*LIVE, ev("leg", "request_cancel"), ev("leg", "confirm_cancel")]),
    "rejected": ("rejected", [*GO, ev("leg", "reject", reason="201 margin")]),
    "replace_requested": ("replace_requested", [*LIVE, REPLACE]),
    "unknown": ("unknown", [*LIVE, ev("leg", "lose_contact")]),
    # the same states, holding executions
    "cancel_requested, e1=4": ("cancel_requested", [*LIVE, fill("leg", "e1", 4), ev("leg", "request_cancel")]),
    "cancelled, e1=4": ("cancelled", [*LIVE, fill("leg", "e1", 4), ev("leg", "request_cancel"),
                                      ev("leg", "confirm_cancel")]),
    "replace_requested, e1=4": ("replace_requested", [*LIVE, fill("leg", "e1", 4), REPLACE]),
    "unknown, e1=4": ("unknown", [*LIVE, fill("leg", "e1", 4), ev("leg", "lose_contact")]),
    # the broker's first word sized the order to what had executed already (an OCA sibling's fill
    # reduced it): every share executed, yet the order is still live
    "partially_filled, 4 of 4": ("partially_filled", [*GO, *FOUR_OF_FOUR]),
    "cancel_requested, 4 of 4": ("cancel_requested", [*GO, *FOUR_OF_FOUR, ev("leg", "request_cancel")]),
    "replace_requested, 4 of 4": ("replace_requested", [*GO, *FOUR_OF_FOUR, REPLACE]),
    "unknown, 4 of 4": ("unknown", [*GO, *FOUR_OF_FOUR, ev("leg", "lose_contact")]),
    # no event leaves executions in these states (an execution moves the leg on): a model restored
    # from the journal can carry them
    "pending, restored 4 of 4": ("pending", [put("leg", filled=4, notional=40.0, broker_qty=4), ev("leg", "intend")]),
    "sent, restored 4 of 4": ("sent", [put("leg", filled=4, notional=40.0, broker_qty=4), *GO]),
    "working, restored 4 of 4": ("working", [put("leg", filled=4, notional=40.0), *LIVE[:2],
                                             ev("leg", "accept", quantity=4)]),
    "working, broker says 0": ("working", [*GO, ev("leg", "accept", quantity=0)]),
}

ENTRY_GO = [ev("leg", "trigger"), ev("leg", "intend")]
ENTRY_SETUPS: dict[str, Setup] = {
    "armed": ("armed", []),
    "triggered": ("triggered", [ev("leg", "trigger")]),
    "expired": ("expired", [ev("leg", "expire")]),
    # every other leg setup, with the trigger before the intent
    **{name: (state, [s for step in steps for s in (ENTRY_GO if step == ev("leg", "intend") else [step])])
       for name, (state, steps) in LEG_SETUPS.items() if ev("leg", "intend") in steps},
}


def drive_leg(machine: type[StateMachine], setup: str) -> LegModel:
    setups = ENTRY_SETUPS if machine is EntryLeg else LEG_SETUPS
    state, steps = setups[setup]
    model = leg_model(state="armed" if machine is EntryLeg else "idle")
    run({"leg": model}, {"leg": machine}, steps)
    assert model.state == state, f"setup {setup!r} reached {model.state}"
    return model


# -- an OCA pair, with its two legs --------------------------------------------------------------
PAIR_MACHINES: dict[str, type[StateMachine]] = {"tp": Leg, "sl": StopLeg, "pair": OcaPair}


def live(who: str) -> list[Step]:
    return [ev(who, "intend"), ev(who, "transmit"), ev(who, "accept")]


def cancelled(who: str) -> list[Step]:
    return [ev(who, "request_cancel"), ev(who, "confirm_cancel")]


ALLOCATED = [put("pair", allocated=QTY), ev("pair", "allocate")]
ARMED = [*ALLOCATED, *live("tp"), *live("sl"), ev("pair", "leg_changed")]
REDUCING = [*ARMED, fill("tp", "t1", 4), ev("pair", "leg_changed")]
REPLACING = [*ARMED, ev("pair", "replace")]

PAIR_SETUPS: dict[str, Setup] = {
    "pending": ("pending", []),
    "armed": ("armed", ARMED),
    "reducing": ("reducing", REDUCING),
    "closed_by_tp": ("closed_by_tp", [*ARMED, fill("tp", "t1", 10), ev("pair", "leg_changed")]),
    "closed_by_sl": ("closed_by_sl", [*ARMED, fill("sl", "s1", 10), ev("pair", "leg_changed")]),
    "closed_mixed": ("closed_mixed", [*REDUCING, fill("sl", "s1", 6), ev("pair", "leg_changed")]),
    "cancelled": ("cancelled", [ev("pair", "drop")]),
    "replacing": ("replacing", REPLACING),
    "replaced": ("replaced", [*REPLACING, *cancelled("tp"), *cancelled("sl"), ev("pair", "leg_changed")]),
    # no repair left (a successor of a successor): an unsolicited cancel of the stop exposes it
    "exposed": ("exposed", [put("pair", repairs_left=0), *ARMED, ev("sl", "confirm_cancel"),
                            ev("pair", "leg_changed")]),
}


def pair_rig() -> Rig:
    tp, sl = leg_model("T1:tp1"), leg_model("T1:sl1")
    return {"tp": tp, "sl": sl, "pair": PairModel("pair1", 1, tp, sl, target_qty=QTY)}


def drive_pair(setup: str, extra: list[Step] | None = None) -> Rig:
    state, steps = PAIR_SETUPS[setup]
    rig = pair_rig()
    run(rig, PAIR_MACHINES, steps)
    assert rig["pair"].state == state, f"setup {setup!r} reached {rig['pair'].state}"
    run(rig, PAIR_MACHINES, extra or [])
    return rig


# -- a stop-only level (a plan with no take-profit): the same machine, no target ------------------
STOP_ARMED = [*ALLOCATED, *live("sl"), ev("pair", "leg_changed")]
STOP_REPLACING = [*STOP_ARMED, ev("pair", "replace")]

STOP_ONLY_SETUPS: dict[str, Setup] = {
    "pending": ("pending", []),
    "armed": ("armed", STOP_ARMED),
    "reducing": ("reducing", [*STOP_ARMED, fill("sl", "s1", 4), ev("pair", "leg_changed")]),
    "closed_by_sl": ("closed_by_sl", [*STOP_ARMED, fill("sl", "s1", 10), ev("pair", "leg_changed")]),
    "cancelled": ("cancelled", [ev("pair", "drop")]),
    "replacing": ("replacing", STOP_REPLACING),
    "replaced": ("replaced", [*STOP_REPLACING, *cancelled("sl"), ev("pair", "leg_changed")]),
    "exposed": ("exposed", [put("pair", repairs_left=0), *STOP_ARMED, ev("sl", "confirm_cancel"),
                            ev("pair", "leg_changed")]),
}


def stop_only_rig() -> Rig:
    sl = leg_model("T1:sl1")
    return {"sl": sl, "pair": PairModel("pair1", 1, None, sl, target_qty=QTY)}


def drive_stop_only(setup: str, extra: list[Step] | None = None) -> Rig:
    state, steps = STOP_ONLY_SETUPS[setup]
    rig = stop_only_rig()
    run(rig, PAIR_MACHINES, steps)
    assert rig["pair"].state == state, f"stop-only setup {setup!r} reached {rig['pair'].state}"
    run(rig, PAIR_MACHINES, extra or [])
    return rig


# -- a trade, with its entry and one exit pair ---------------------------------------------------
TRADE_MACHINES: dict[str, type[StateMachine]] = {
    "entry": EntryLeg, "tp": Leg, "sl": StopLeg, "pair": OcaPair,
    "trade": Trade, "ladder": Ladder, "cover": Cover, "milestones": Milestones,
}


def trade_rig(*, levels: int = 1) -> Rig:
    entry = leg_model("T1:entry", state="armed")
    rig: Rig = {"entry": entry}
    pairs = []
    for level in range(1, levels + 1):
        tp, sl = leg_model(f"T1:tp{level}"), leg_model(f"T1:sl{level}")
        pair = PairModel(f"pair{level}", level, tp, sl, target_qty=QTY)
        pairs.append(pair)
        suffix = "" if level == 1 else str(level)
        rig.update({f"tp{suffix}": tp, f"sl{suffix}": sl, f"pair{suffix}": pair})
    model = TradeModel("T1", entry, QTY * levels, pairs=pairs)
    rig.update({"trade": model, "ladder": model, "cover": model, "milestones": model})
    return rig


def trade_machines(levels: int = 1) -> dict[str, type[StateMachine]]:
    machines = dict(TRADE_MACHINES)
    for level in range(2, levels + 1):
        machines.update({f"tp{level}": Leg, f"sl{level}": StopLeg, f"pair{level}": OcaPair})
    return machines


ENTRY_LIVE = [ev("entry", "trigger"), ev("entry", "intend"), ev("entry", "transmit"), ev("entry", "accept")]
ENTERED = [ev("trade", "enter"), *ENTRY_LIVE, fill("entry", "x1", 10), ev("trade", "inventory")]
EXITS_LIVE = [*ALLOCATED, *live("tp"), *live("sl")]
PROTECTED = [*ENTERED, *EXITS_LIVE, ev("trade", "covered")]

TRADE_SETUPS: dict[str, Setup] = {
    "armed": ("armed", []),
    "entering": ("entering", [ev("trade", "enter")]),
    "protecting": ("protecting", [*ENTERED, *EXITS_LIVE]),
    "protected": ("protected", PROTECTED),
    "scaling_out": ("scaling_out", [*PROTECTED, fill("tp", "t1", 4), ev("trade", "reduced")]),
    "closed": ("closed", [*PROTECTED, fill("tp", "t1", 10), ev("trade", "reduced")]),
    "unprotected": ("unprotected", [*ENTERED, *EXITS_LIVE, ev("trade", "uncovered")]),
    "aborted": ("aborted", [ev("trade", "abort")]),
}

ATTACHED = [put("ladder", attached=True), ev("ladder", "start")]  # the plan attaches its exits
LADDER_SETUPS: dict[str, Setup] = {
    "waiting": ("waiting", []),
    "attached": ("attached", ATTACHED),
    "building": ("building", [ev("ladder", "shares_added")]),
    "detaching": ("detaching", [*ATTACHED, ev("ladder", "detach")]),
    "complete": ("complete", [ev("ladder", "entry_ended")]),
    "flattening": ("flattening", [ev("ladder", "flatten")]),
}

COVER_SETUPS: dict[str, Setup] = {
    "clear": ("clear", []),
    "covered": ("covered", [ev("cover", "became_covered")]),
    "short": ("short", [ev("cover", "became_short")]),
    "gap": ("gap", [ev("cover", "became_short"), ev("cover", "grace_elapsed")]),
    "excess": ("excess", [ev("cover", "became_excess")]),
    "orphaned": ("orphaned", [ev("cover", "became_orphaned")]),
    "orphan_reported": ("orphan_reported", [ev("cover", "became_orphaned"), ev("cover", "grace_elapsed")]),
}


def closed_by_tp(suffix: str = "") -> list[Step]:
    """A level taken whole by its target, told to its pair (events only)."""
    tp, sl, pair = f"tp{suffix}", f"sl{suffix}", f"pair{suffix}"
    return [put(pair, allocated=QTY), ev(pair, "allocate"), *live(tp), *live(sl), ev(pair, "leg_changed"),
            fill(tp, f"t{suffix}1", QTY), ev(pair, "leg_changed")]


MILESTONE_SETUPS: dict[str, Setup] = {
    "none": ("none", []),
    "first": ("first", [*closed_by_tp(), ev("milestones", "target_filled")]),
    "second": ("second", [*closed_by_tp(), *closed_by_tp("2"), ev("milestones", "target_filled")]),
}

TRADE_LEVEL_SETUPS: dict[str, dict[str, Setup]] = {
    "trade": TRADE_SETUPS, "ladder": LADDER_SETUPS, "cover": COVER_SETUPS, "milestones": MILESTONE_SETUPS,
}


def drive_trade(who: str, setup: str, extra: list[Step] | None = None) -> Rig:
    """A trade rig (its entry, and one ladder level; two for the milestones) with the machine
    `who` (trade, ladder, cover, milestones) in `setup`'s state, then `extra` steps."""
    state, steps = TRADE_LEVEL_SETUPS[who][setup]
    levels = 2 if who == "milestones" else 1
    rig = trade_rig(levels=levels)
    machines = trade_machines(levels)
    run(rig, machines, steps)
    reached = getattr(rig["trade"], STATE_FIELDS[who])
    assert reached == state, f"{who} setup {setup!r} reached {reached}"
    run(rig, machines, extra or [])
    return rig


# -- the account, over its day's counters --------------------------------------------------------
# One Account per model (the risk book holds one per account): a setup builds its own. `count` is
# its one step that is not an event: it writes the day's counters, as the risk book does before it
# tells the account what changed.
DAILY_LIMIT = 500.0


def count(**counters: Any) -> Step:
    return ("account", "count", counters)


LOST_600 = count(realized_pnl=-600.0)  # past the 500 limit
LOST_480_FEES_20 = count(realized_pnl=-480.0, commissions=20.0)  # net 500: the limit is reached
TO_REDUCING = [LOST_600, ev("account", "realize")]
NEXT_DAY = ev("account", "roll", day="2025-12-15")

ACCOUNT_SETUPS: dict[str, Setup] = {
    "active": ("active", []),
    "reducing": ("reducing", TO_REDUCING),
    "halted": ("halted", [ev("account", "kill", reason="operator")]),
    # the account has not been told yet what its counters now say
    "active, lost 600": ("active", [LOST_600]),
    "active, lost 480 + 20 fees": ("active", [LOST_480_FEES_20]),
    "active, lost 300": ("active", [count(realized_pnl=-300.0)]),
    "reducing, next day": ("reducing", [*TO_REDUCING, NEXT_DAY]),
    "halted from reducing": ("halted", [*TO_REDUCING, ev("account", "kill", reason="operator")]),
    "halted, lost 600": ("halted", [ev("account", "kill", reason="operator"), LOST_600]),
}


def drive_account(setup: str) -> Account:
    state, steps = ACCOUNT_SETUPS[setup]
    account = Account(AccountModel(max_daily_loss=DAILY_LIMIT))
    for _, event, kwargs in steps:
        if event == "count":
            for name, value in kwargs.items():
                setattr(account.model, name, value)
        else:
            account.send(event, **kwargs)
    assert account.current_state_value == state, f"setup {setup!r} reached {account.current_state_value}"
    return account


def account_guard(account: Account, table: Table, event: str) -> str | None:
    """The guard the account will act on: the first of the table's alternatives that holds."""
    for row_state, row_event, guard, _ in table:
        if (row_state, row_event) == (account.current_state_value, event) and guard is not None \
                and getattr(account, guard)():
            return str(guard)
    return None
