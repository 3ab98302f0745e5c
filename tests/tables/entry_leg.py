"""The `EntryLeg` table: the order that opens a trade. `armed -> triggered -> pending` (or
`-> expired` when a single-fire watcher ends without a trigger), then the order lifecycle every
leg shares (`tables.leg.LIFECYCLE`, written once). The three states before the order goes take
executions (counted: executions are facts) but no broker answer and no order command.
Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Table
from tables.leg import LIFECYCLE

ENTRY_LEG: Table = (
    # state, event, guard, target
    ("armed",              "trigger",            None,           "triggered"),
    ("armed",              "expire",             None,           "expired"),
    ("armed",              "intend",             None,           NO),  # the strategy fires first
    ("armed",              "transmit",           None,           NO),
    ("armed",              "accept",             None,           NO),
    ("armed",              "fill",               None,           "armed"),  # an execution of an order we never sent
    ("armed",              "request_cancel",     None,           NO),
    ("armed",              "confirm_cancel",     None,           NO),
    ("armed",              "cancel_reject",      None,           NO),
    ("armed",              "reject",             None,           NO),
    ("armed",              "request_replace",    None,           NO),
    ("armed",              "replace_ack",        None,           NO),
    ("armed",              "replace_reject",     None,           NO),
    ("armed",              "lose_contact",       None,           NO),
    ("armed",              "reconcile_working",  None,           NO),
    ("armed",              "reconcile_gone",     None,           NO),

    ("triggered",          "trigger",            None,           NO),
    ("triggered",          "expire",             None,           "expired"),
    ("triggered",          "intend",             None,           "pending"),
    ("triggered",          "transmit",           None,           NO),
    ("triggered",          "accept",             None,           NO),
    ("triggered",          "fill",               None,           "triggered"),
    ("triggered",          "request_cancel",     None,           NO),
    ("triggered",          "confirm_cancel",     None,           NO),
    ("triggered",          "cancel_reject",      None,           NO),
    ("triggered",          "reject",             None,           NO),
    ("triggered",          "request_replace",    None,           NO),
    ("triggered",          "replace_ack",        None,           NO),
    ("triggered",          "replace_reject",     None,           NO),
    ("triggered",          "lose_contact",       None,           NO),
    ("triggered",          "reconcile_working",  None,           NO),
    ("triggered",          "reconcile_gone",     None,           NO),

    ("expired",            "trigger",            None,           NO),  # single-fire: it ended
    ("expired",            "expire",             None,           NO),
    ("expired",            "intend",             None,           NO),
    ("expired",            "transmit",           None,           NO),
    ("expired",            "accept",             None,           NO),
    ("expired",            "fill",               None,           "expired"),
    ("expired",            "request_cancel",     None,           NO),
    ("expired",            "confirm_cancel",     None,           NO),
    ("expired",            "cancel_reject",      None,           NO),
    ("expired",            "reject",             None,           NO),
    ("expired",            "request_replace",    None,           NO),
    ("expired",            "replace_ack",        None,           NO),
    ("expired",            "replace_reject",     None,           NO),
    ("expired",            "lose_contact",       None,           NO),
    ("expired",            "reconcile_working",  None,           NO),
    ("expired",            "reconcile_gone",     None,           NO),

    # once the order went, the watcher's events are over
    ("pending",            "trigger",            None,           NO),
    ("pending",            "expire",             None,           NO),
    ("pending",            "intend",             None,           NO),
    ("sent",               "trigger",            None,           NO),
    ("sent",               "expire",             None,           NO),
    ("sent",               "intend",             None,           NO),
    ("working",            "trigger",            None,           NO),
    ("working",            "expire",             None,           NO),
    ("working",            "intend",             None,           NO),
    ("partially_filled",   "trigger",            None,           NO),
    ("partially_filled",   "expire",             None,           NO),
    ("partially_filled",   "intend",             None,           NO),
    ("filled",             "trigger",            None,           NO),
    ("filled",             "expire",             None,           NO),
    ("filled",             "intend",             None,           NO),
    ("cancel_requested",   "trigger",            None,           NO),
    ("cancel_requested",   "expire",             None,           NO),
    ("cancel_requested",   "intend",             None,           NO),
    ("cancelled",          "trigger",            None,           NO),
    ("cancelled",          "expire",             None,           NO),
    ("cancelled",          "intend",             None,           NO),
    ("rejected",           "trigger",            None,           NO),
    ("rejected",           "expire",             None,           NO),
    ("rejected",           "intend",             None,           NO),
    ("replace_requested",  "trigger",            None,           NO),
    ("replace_requested",  "expire",             None,           NO),
    ("replace_requested",  "intend",             None,           NO),
    ("unknown",            "trigger",            None,           NO),
    ("unknown",            "expire",             None,           NO),
    ("unknown",            "intend",             None,           NO),

    *LIFECYCLE,
)
