"""The `StopLeg` table: a stop-loss order. It adds repricing (a `request_replace` that must carry a
positive `stop_price`) but no transition of its own, so its rows are the `Leg` rows, spelled out
again here so that a change to either machine is a visible change to its own table.
Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Table

STOP_LEG: Table = (
    # state, event, guard, target
    ("pending",            "transmit",           None,            "sent"),
    ("pending",            "accept",             None,            NO),
    ("pending",            "fill",               None,            NO),
    ("pending",            "request_cancel",     None,            "cancel_requested"),  # the intent may be on its way
    ("pending",            "confirm_cancel",     None,            NO),
    ("pending",            "cancel_reject",      None,            NO),
    ("pending",            "reject",             None,            NO),
    ("pending",            "request_replace",    None,            NO),
    ("pending",            "replace_ack",        None,            NO),
    ("pending",            "replace_reject",     None,            NO),
    ("pending",            "lose_contact",       None,            NO),
    ("pending",            "reconcile_working",  None,            NO),
    ("pending",            "reconcile_gone",     None,            NO),

    ("sent",               "transmit",           None,            NO),
    ("sent",               "accept",             None,            "working"),
    ("sent",               "fill",               "is_duplicate",  "sent"),
    ("sent",               "fill",               "completes",     "filled"),
    ("sent",               "fill",               None,            "partially_filled"),  # beat the ack
    ("sent",               "request_cancel",     None,            "cancel_requested"),
    ("sent",               "confirm_cancel",     None,            "cancelled"),
    ("sent",               "cancel_reject",      None,            NO),
    ("sent",               "reject",             None,            "rejected"),
    ("sent",               "request_replace",    None,            NO),
    ("sent",               "replace_ack",        None,            NO),
    ("sent",               "replace_reject",     None,            NO),
    ("sent",               "lose_contact",       None,            "unknown"),
    ("sent",               "reconcile_working",  None,            NO),
    ("sent",               "reconcile_gone",     None,            NO),

    ("working",            "transmit",           None,            NO),
    ("working",            "accept",             None,            "working"),  # openOrder is re-sent on every change
    ("working",            "fill",               "is_duplicate",  "working"),
    ("working",            "fill",               "completes",     "filled"),
    ("working",            "fill",               None,            "partially_filled"),
    ("working",            "request_cancel",     None,            "cancel_requested"),
    ("working",            "confirm_cancel",     None,            "cancelled"),  # unsolicited cancel
    ("working",            "cancel_reject",      None,            NO),
    ("working",            "reject",             None,            "rejected"),  # error 201 after the acknowledgement
    ("working",            "request_replace",    None,            "replace_requested"),
    ("working",            "replace_ack",        None,            NO),
    ("working",            "replace_reject",     None,            NO),
    ("working",            "lose_contact",       None,            "unknown"),
    ("working",            "reconcile_working",  None,            NO),
    ("working",            "reconcile_gone",     None,            NO),

    ("partially_filled",   "transmit",           None,            NO),
    ("partially_filled",   "accept",             None,            "partially_filled"),
    ("partially_filled",   "fill",               "is_duplicate",  "partially_filled"),
    ("partially_filled",   "fill",               "completes",     "filled"),
    ("partially_filled",   "fill",               None,            "partially_filled"),
    ("partially_filled",   "request_cancel",     None,            "cancel_requested"),
    ("partially_filled",   "confirm_cancel",     None,            "cancelled"),
    ("partially_filled",   "cancel_reject",      None,            NO),
    ("partially_filled",   "reject",             None,            NO),
    ("partially_filled",   "request_replace",    None,            "replace_requested"),
    ("partially_filled",   "replace_ack",        None,            NO),
    ("partially_filled",   "replace_reject",     None,            NO),
    ("partially_filled",   "lose_contact",       None,            "unknown"),
    ("partially_filled",   "reconcile_working",  None,            NO),
    ("partially_filled",   "reconcile_gone",     None,            NO),

    ("filled",             "transmit",           None,            NO),
    ("filled",             "accept",             None,            NO),
    ("filled",             "fill",               "keeps_filled",  "filled"),  # duplicate, or still complete
    ("filled",             "fill",               None,            "partially_filled"),  # a correction down
    ("filled",             "request_cancel",     None,            NO),
    ("filled",             "confirm_cancel",     None,            NO),
    ("filled",             "cancel_reject",      None,            NO),
    ("filled",             "reject",             None,            NO),
    ("filled",             "request_replace",    None,            NO),
    ("filled",             "replace_ack",        None,            NO),
    ("filled",             "replace_reject",     None,            NO),
    ("filled",             "lose_contact",       None,            NO),
    ("filled",             "reconcile_working",  None,            NO),
    ("filled",             "reconcile_gone",     None,            NO),

    ("cancel_requested",   "transmit",           None,            "cancel_requested"),  # cancel asked in flight
    ("cancel_requested",   "accept",             None,            "cancel_requested"),
    ("cancel_requested",   "fill",               "is_duplicate",  "cancel_requested"),
    ("cancel_requested",   "fill",               "completes",     "filled"),  # the cancel lost the race
    ("cancel_requested",   "fill",               None,            "cancel_requested"),
    ("cancel_requested",   "request_cancel",     None,            NO),
    ("cancel_requested",   "confirm_cancel",     None,            "cancelled"),
    ("cancel_requested",   "cancel_reject",      "has_fills",     "partially_filled"),
    ("cancel_requested",   "cancel_reject",      None,            "working"),
    ("cancel_requested",   "reject",             None,            NO),
    ("cancel_requested",   "request_replace",    None,            NO),
    ("cancel_requested",   "replace_ack",        None,            NO),
    ("cancel_requested",   "replace_reject",     None,            NO),
    ("cancel_requested",   "lose_contact",       None,            "unknown"),
    ("cancel_requested",   "reconcile_working",  None,            NO),
    ("cancel_requested",   "reconcile_gone",     None,            NO),

    ("cancelled",          "transmit",           None,            NO),
    ("cancelled",          "accept",             None,            NO),
    ("cancelled",          "fill",               None,            "cancelled"),  # late fill: applied, recorded
    ("cancelled",          "request_cancel",     None,            NO),
    ("cancelled",          "confirm_cancel",     None,            NO),
    ("cancelled",          "cancel_reject",      None,            NO),
    ("cancelled",          "reject",             None,            NO),
    ("cancelled",          "request_replace",    None,            NO),
    ("cancelled",          "replace_ack",        None,            NO),
    ("cancelled",          "replace_reject",     None,            NO),
    ("cancelled",          "lose_contact",       None,            NO),
    ("cancelled",          "reconcile_working",  None,            NO),
    ("cancelled",          "reconcile_gone",     None,            NO),

    ("rejected",           "transmit",           None,            NO),
    ("rejected",           "accept",             None,            NO),
    ("rejected",           "fill",               None,            NO),
    ("rejected",           "request_cancel",     None,            NO),
    ("rejected",           "confirm_cancel",     None,            NO),
    ("rejected",           "cancel_reject",      None,            NO),
    ("rejected",           "reject",             None,            NO),
    ("rejected",           "request_replace",    None,            NO),
    ("rejected",           "replace_ack",        None,            NO),
    ("rejected",           "replace_reject",     None,            NO),
    ("rejected",           "lose_contact",       None,            NO),
    ("rejected",           "reconcile_working",  None,            NO),
    ("rejected",           "reconcile_gone",     None,            NO),

    ("replace_requested",  "transmit",           None,            NO),
    ("replace_requested",  "accept",             None,            "replace_requested"),
    ("replace_requested",  "fill",               "is_duplicate",  "replace_requested"),
    ("replace_requested",  "fill",               "completes",     "filled"),
    ("replace_requested",  "fill",               None,            "replace_requested"),
    ("replace_requested",  "request_cancel",     None,            "cancel_requested"),
    ("replace_requested",  "confirm_cancel",     None,            "cancelled"),
    ("replace_requested",  "cancel_reject",      None,            NO),
    ("replace_requested",  "reject",             None,            NO),
    ("replace_requested",  "request_replace",    None,            NO),
    ("replace_requested",  "replace_ack",        "has_fills",     "partially_filled"),
    ("replace_requested",  "replace_ack",        None,            "working"),
    ("replace_requested",  "replace_reject",     "has_fills",     "partially_filled"),
    ("replace_requested",  "replace_reject",     None,            "working"),
    ("replace_requested",  "lose_contact",       None,            "unknown"),
    ("replace_requested",  "reconcile_working",  None,            NO),
    ("replace_requested",  "reconcile_gone",     None,            NO),

    ("unknown",            "transmit",           None,            NO),
    ("unknown",            "accept",             None,            NO),
    ("unknown",            "fill",               None,            "unknown"),  # counts; waits for reconcile
    ("unknown",            "request_cancel",     None,            NO),
    ("unknown",            "confirm_cancel",     None,            NO),
    ("unknown",            "cancel_reject",      None,            NO),
    ("unknown",            "reject",             None,            NO),
    ("unknown",            "request_replace",    None,            NO),
    ("unknown",            "replace_ack",        None,            NO),
    ("unknown",            "replace_reject",     None,            NO),
    ("unknown",            "lose_contact",       None,            NO),
    ("unknown",            "reconcile_working",  "has_fills",     "partially_filled"),
    ("unknown",            "reconcile_working",  None,            "working"),
    ("unknown",            "reconcile_gone",     "is_complete",   "filled"),
    ("unknown",            "reconcile_gone",     None,            "cancelled"),
)
