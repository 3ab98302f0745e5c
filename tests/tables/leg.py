"""The order lifecycle, written out by hand, and the `Leg` table built on it.

`LIFECYCLE` is every (state, event) of the ten broker states (pending ... unknown) and the thirteen
broker events (transmit ... reconcile_gone) that `machines.lifecycle.order_lifecycle` declares for
every leg machine. `LEG` (a take-profit, or any order with no trigger) adds the two states of an
order never sent (`idle`, `dropped`) and its two events (`intend`, `withdraw`); `EntryLeg` adds its
own in `tables.entry_leg`. Rows: (state, event, guard, target); guarded alternatives in the order
the machine tries them, the fallback last. Internal self-transitions are rows whose target is the
state itself. Legs record no intents: their actions write the leg model (tested in
`test_leg_rows.py`).
"""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Table

LIFECYCLE: Table = (
    # state, event, guard, target
    ("pending",            "transmit",           None,           "sent"),
    ("pending",            "accept",             None,           "working"),  # the ack can beat the adapter's OrderSent
    ("pending",            "fill",               "completes",    "filled"),
    ("pending",            "fill",               None,           "partially_filled"),
    ("pending",            "request_cancel",     None,           "cancel_requested"),  # the intent may be on its way
    ("pending",            "confirm_cancel",     None,           "cancelled"),
    ("pending",            "cancel_reject",      None,           "pending"),
    ("pending",            "reject",             None,           "rejected"),
    ("pending",            "request_replace",    None,           NO),
    ("pending",            "replace_ack",        None,           "pending"),
    ("pending",            "replace_reject",     None,           "pending"),
    ("pending",            "lose_contact",       None,           NO),  # never reached the socket: the send deadline
    ("pending",            "reconcile_working",  None,           "pending"),
    ("pending",            "reconcile_gone",     "is_complete",  "filled"),
    ("pending",            "reconcile_gone",     None,           "cancelled"),

    ("sent",               "transmit",           None,           "sent"),
    ("sent",               "accept",             None,           "working"),
    ("sent",               "fill",               "completes",    "filled"),
    ("sent",               "fill",               None,           "partially_filled"),  # beat the ack
    ("sent",               "request_cancel",     None,           "cancel_requested"),
    ("sent",               "confirm_cancel",     None,           "cancelled"),
    ("sent",               "cancel_reject",      None,           "sent"),
    ("sent",               "reject",             None,           "rejected"),
    ("sent",               "request_replace",    None,           NO),
    ("sent",               "replace_ack",        None,           "sent"),
    ("sent",               "replace_reject",     None,           "sent"),
    ("sent",               "lose_contact",       None,           "unknown"),
    ("sent",               "reconcile_working",  None,           "sent"),
    ("sent",               "reconcile_gone",     "is_complete",  "filled"),
    ("sent",               "reconcile_gone",     None,           "cancelled"),

    ("working",            "transmit",           None,           "working"),  # reconciliation found it first
    ("working",            "accept",             None,           "working"),  # openOrder is re-sent on every change
    ("working",            "fill",               "completes",    "filled"),
    ("working",            "fill",               None,           "partially_filled"),
    ("working",            "request_cancel",     None,           "cancel_requested"),
    ("working",            "confirm_cancel",     None,           "cancelled"),  # unsolicited cancel
    ("working",            "cancel_reject",      None,           "working"),
    ("working",            "reject",             None,           "rejected"),  # error 201 after the acknowledgement
    ("working",            "request_replace",    None,           "replace_requested"),
    ("working",            "replace_ack",        None,           "working"),
    ("working",            "replace_reject",     None,           "working"),
    ("working",            "lose_contact",       None,           "unknown"),
    ("working",            "reconcile_working",  None,           "working"),
    ("working",            "reconcile_gone",     "is_complete",  "filled"),
    ("working",            "reconcile_gone",     None,           "cancelled"),

    ("partially_filled",   "transmit",           None,           "partially_filled"),
    ("partially_filled",   "accept",             None,           "partially_filled"),  # an execution beat the ack
    ("partially_filled",   "fill",               "completes",    "filled"),
    ("partially_filled",   "fill",               None,           "partially_filled"),
    ("partially_filled",   "request_cancel",     None,           "cancel_requested"),
    ("partially_filled",   "confirm_cancel",     None,           "cancelled"),
    ("partially_filled",   "cancel_reject",      None,           "partially_filled"),
    ("partially_filled",   "reject",             None,           "rejected"),
    ("partially_filled",   "request_replace",    None,           "replace_requested"),
    ("partially_filled",   "replace_ack",        None,           "partially_filled"),
    ("partially_filled",   "replace_reject",     None,           "partially_filled"),
    ("partially_filled",   "lose_contact",       None,           "unknown"),
    ("partially_filled",   "reconcile_working",  None,           "partially_filled"),
    ("partially_filled",   "reconcile_gone",     "is_complete",  "filled"),
    ("partially_filled",   "reconcile_gone",     None,           "cancelled"),

    ("filled",             "transmit",           None,           "filled"),
    ("filled",             "accept",             None,           "filled"),  # a late echo
    ("filled",             "fill",               None,           "filled"),  # a correction: counted, the order is over
    ("filled",             "request_cancel",     None,           NO),
    ("filled",             "confirm_cancel",     None,           "filled"),  # IB's OCA cancel after the fill
    ("filled",             "cancel_reject",      None,           "filled"),  # 161: it had just filled
    ("filled",             "reject",             None,           "filled"),
    ("filled",             "request_replace",    None,           NO),
    ("filled",             "replace_ack",        None,           "filled"),
    ("filled",             "replace_reject",     None,           "filled"),  # 104: can't modify a filled order
    ("filled",             "lose_contact",       None,           NO),
    ("filled",             "reconcile_working",  None,           NO),
    ("filled",             "reconcile_gone",     None,           NO),

    ("cancel_requested",   "transmit",           None,           "cancel_requested"),  # cancel asked in flight
    ("cancel_requested",   "accept",             None,           "cancel_requested"),
    ("cancel_requested",   "fill",               "completes",    "filled"),  # the cancel lost the race
    ("cancel_requested",   "fill",               None,           "cancel_requested"),
    ("cancel_requested",   "request_cancel",     None,           NO),
    ("cancel_requested",   "confirm_cancel",     None,           "cancelled"),
    ("cancel_requested",   "cancel_reject",      "has_fills",    "partially_filled"),
    ("cancel_requested",   "cancel_reject",      None,           "working"),
    ("cancel_requested",   "reject",             None,           "rejected"),
    ("cancel_requested",   "request_replace",    None,           NO),
    ("cancel_requested",   "replace_ack",        None,           "cancel_requested"),
    ("cancel_requested",   "replace_reject",     None,           "cancel_requested"),
    ("cancel_requested",   "lose_contact",       None,           "unknown"),
    ("cancel_requested",   "reconcile_working",  None,           "cancel_requested"),
    ("cancel_requested",   "reconcile_gone",     "is_complete",  "filled"),
    ("cancel_requested",   "reconcile_gone",     None,           "cancelled"),

    ("cancelled",          "transmit",           None,           "cancelled"),
    ("cancelled",          "accept",             None,           "cancelled"),
    ("cancelled",          "fill",               None,           "cancelled"),  # late fill: counted, recorded
    ("cancelled",          "request_cancel",     None,           NO),
    ("cancelled",          "confirm_cancel",     None,           "cancelled"),
    ("cancelled",          "cancel_reject",      None,           "cancelled"),
    ("cancelled",          "reject",             None,           "rejected"),  # IB: status Cancelled, then error 201
    ("cancelled",          "request_replace",    None,           NO),
    ("cancelled",          "replace_ack",        None,           "cancelled"),
    ("cancelled",          "replace_reject",     None,           "cancelled"),
    ("cancelled",          "lose_contact",       None,           NO),
    ("cancelled",          "reconcile_working",  None,           NO),
    ("cancelled",          "reconcile_gone",     None,           NO),

    ("rejected",           "transmit",           None,           "rejected"),
    ("rejected",           "accept",             None,           "rejected"),
    ("rejected",           "fill",               None,           "rejected"),  # a fill that beat the reject
    ("rejected",           "request_cancel",     None,           NO),
    ("rejected",           "confirm_cancel",     None,           "rejected"),
    ("rejected",           "cancel_reject",      None,           "rejected"),
    ("rejected",           "reject",             None,           "rejected"),
    ("rejected",           "request_replace",    None,           NO),
    ("rejected",           "replace_ack",        None,           "rejected"),
    ("rejected",           "replace_reject",     None,           "rejected"),
    ("rejected",           "lose_contact",       None,           NO),
    ("rejected",           "reconcile_working",  None,           NO),
    ("rejected",           "reconcile_gone",     None,           NO),

    ("replace_requested",  "transmit",           None,           "replace_requested"),
    ("replace_requested",  "accept",             None,           "replace_requested"),
    ("replace_requested",  "fill",               "completes",    "filled"),
    ("replace_requested",  "fill",               None,           "replace_requested"),
    ("replace_requested",  "request_cancel",     None,           "cancel_requested"),
    ("replace_requested",  "confirm_cancel",     None,           "cancelled"),
    ("replace_requested",  "cancel_reject",      None,           "replace_requested"),
    ("replace_requested",  "reject",             None,           "rejected"),
    ("replace_requested",  "request_replace",    None,           NO),  # one change in flight at a time
    ("replace_requested",  "replace_ack",        "has_fills",    "partially_filled"),
    ("replace_requested",  "replace_ack",        None,           "working"),
    ("replace_requested",  "replace_reject",     "has_fills",    "partially_filled"),
    ("replace_requested",  "replace_reject",     None,           "working"),
    ("replace_requested",  "lose_contact",       None,           "unknown"),
    ("replace_requested",  "reconcile_working",  None,           "replace_requested"),
    ("replace_requested",  "reconcile_gone",     "is_complete",  "filled"),
    ("replace_requested",  "reconcile_gone",     None,           "cancelled"),

    ("unknown",            "transmit",           None,           "unknown"),
    ("unknown",            "accept",             "has_fills",    "partially_filled"),  # contact is back
    ("unknown",            "accept",             None,           "working"),
    ("unknown",            "fill",               "completes",    "filled"),
    ("unknown",            "fill",               None,           "unknown"),  # counted; only the broker's word leaves
    ("unknown",            "request_cancel",     None,           NO),
    ("unknown",            "confirm_cancel",     None,           "cancelled"),
    ("unknown",            "cancel_reject",      None,           "unknown"),
    ("unknown",            "reject",             None,           "rejected"),
    ("unknown",            "request_replace",    None,           NO),
    ("unknown",            "replace_ack",        None,           "unknown"),
    ("unknown",            "replace_reject",     None,           "unknown"),
    ("unknown",            "lose_contact",       None,           NO),
    ("unknown",            "reconcile_working",  "has_fills",    "partially_filled"),
    ("unknown",            "reconcile_working",  None,           "working"),
    ("unknown",            "reconcile_gone",     "is_complete",  "filled"),
    ("unknown",            "reconcile_gone",     None,           "cancelled"),
)

LEG: Table = (
    # built with its trade, never sent yet: only the supervisor's intent or the trade's end moves it
    ("idle",               "intend",             None,           "pending"),
    ("idle",               "withdraw",           None,           "dropped"),
    ("idle",               "transmit",           None,           NO),
    ("idle",               "accept",             None,           NO),
    ("idle",               "fill",               None,           "idle"),  # an execution of an order never sent
    ("idle",               "request_cancel",     None,           NO),
    ("idle",               "confirm_cancel",     None,           NO),
    ("idle",               "cancel_reject",      None,           NO),
    ("idle",               "reject",             None,           NO),
    ("idle",               "request_replace",    None,           NO),
    ("idle",               "replace_ack",        None,           NO),
    ("idle",               "replace_reject",     None,           NO),
    ("idle",               "lose_contact",       None,           NO),
    ("idle",               "reconcile_working",  None,           NO),
    ("idle",               "reconcile_gone",     None,           NO),

    ("dropped",            "intend",             None,           NO),
    ("dropped",            "withdraw",           None,           NO),
    ("dropped",            "transmit",           None,           NO),
    ("dropped",            "accept",             None,           NO),
    ("dropped",            "fill",               None,           "dropped"),
    ("dropped",            "request_cancel",     None,           NO),
    ("dropped",            "confirm_cancel",     None,           NO),
    ("dropped",            "cancel_reject",      None,           NO),
    ("dropped",            "reject",             None,           NO),
    ("dropped",            "request_replace",    None,           NO),
    ("dropped",            "replace_ack",        None,           NO),
    ("dropped",            "replace_reject",     None,           NO),
    ("dropped",            "lose_contact",       None,           NO),
    ("dropped",            "reconcile_working",  None,           NO),
    ("dropped",            "reconcile_gone",     None,           NO),

    # an order that went cannot be intended or withdrawn again
    ("pending",            "intend",             None,           NO),
    ("pending",            "withdraw",           None,           NO),
    ("sent",               "intend",             None,           NO),
    ("sent",               "withdraw",           None,           NO),
    ("working",            "intend",             None,           NO),
    ("working",            "withdraw",           None,           NO),
    ("partially_filled",   "intend",             None,           NO),
    ("partially_filled",   "withdraw",           None,           NO),
    ("filled",             "intend",             None,           NO),
    ("filled",             "withdraw",           None,           NO),
    ("cancel_requested",   "intend",             None,           NO),
    ("cancel_requested",   "withdraw",           None,           NO),
    ("cancelled",          "intend",             None,           NO),
    ("cancelled",          "withdraw",           None,           NO),
    ("rejected",           "intend",             None,           NO),
    ("rejected",           "withdraw",           None,           NO),
    ("replace_requested",  "intend",             None,           NO),
    ("replace_requested",  "withdraw",           None,           NO),
    ("unknown",            "intend",             None,           NO),
    ("unknown",            "withdraw",           None,           NO),

    *LIFECYCLE,
)
