"""The `OcaPair` table: a take-profit and a stop-loss leg in one OCA group, driven only by its
legs' events. Guarded alternatives are tried in order: a fill that empties the pair closes it by
the leg that took everything, else mixed. Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Table

OCA_PAIR: Table = (
    # state, event, guard, target
    ("pending",       "leg_acked",   "both_acknowledged",  "armed"),
    ("pending",       "leg_acked",   None,                 "pending"),
    ("pending",       "leg_filled",  "tp_took_all",        "closed_by_tp"),
    ("pending",       "leg_filled",  "sl_took_all",        "closed_by_sl"),
    ("pending",       "leg_filled",  "all_exited",         "closed_mixed"),
    ("pending",       "leg_filled",  None,                 "reducing"),
    ("pending",       "leg_ended",   "ended_empty",        "cancelled"),
    ("pending",       "leg_ended",   "uncovered",          "exposed"),
    ("pending",       "leg_ended",   None,                 "pending"),

    ("armed",         "leg_acked",   None,                 "armed"),
    ("armed",         "leg_filled",  "tp_took_all",        "closed_by_tp"),
    ("armed",         "leg_filled",  "sl_took_all",        "closed_by_sl"),
    ("armed",         "leg_filled",  "all_exited",         "closed_mixed"),
    ("armed",         "leg_filled",  None,                 "reducing"),
    ("armed",         "leg_ended",   "ended_empty",        "cancelled"),
    ("armed",         "leg_ended",   "uncovered",          "exposed"),
    ("armed",         "leg_ended",   None,                 "armed"),

    ("reducing",      "leg_acked",   None,                 "reducing"),
    ("reducing",      "leg_filled",  "tp_took_all",        "closed_by_tp"),
    ("reducing",      "leg_filled",  "sl_took_all",        "closed_by_sl"),
    ("reducing",      "leg_filled",  "all_exited",         "closed_mixed"),
    ("reducing",      "leg_filled",  None,                 "reducing"),
    ("reducing",      "leg_ended",   "uncovered",          "exposed"),
    ("reducing",      "leg_ended",   None,                 "reducing"),

    ("closed_by_tp",  "leg_acked",   None,                 NO),
    ("closed_by_tp",  "leg_filled",  None,                 NO),
    ("closed_by_tp",  "leg_ended",   None,                 "closed_by_tp"),  # IB cancels the sibling after the close

    ("closed_by_sl",  "leg_acked",   None,                 NO),
    ("closed_by_sl",  "leg_filled",  None,                 NO),
    ("closed_by_sl",  "leg_ended",   None,                 "closed_by_sl"),

    ("closed_mixed",  "leg_acked",   None,                 NO),
    ("closed_mixed",  "leg_filled",  None,                 NO),
    ("closed_mixed",  "leg_ended",   None,                 "closed_mixed"),

    ("cancelled",     "leg_acked",   None,                 NO),
    ("cancelled",     "leg_filled",  None,                 "cancelled"),  # a fill that beat both cancels
    ("cancelled",     "leg_ended",   None,                 "cancelled"),

    ("exposed",       "leg_acked",   None,                 "exposed"),
    ("exposed",       "leg_filled",  "tp_took_all",        "closed_by_tp"),
    ("exposed",       "leg_filled",  "sl_took_all",        "closed_by_sl"),
    ("exposed",       "leg_filled",  "all_exited",         "closed_mixed"),
    ("exposed",       "leg_filled",  None,                 "exposed"),
    ("exposed",       "leg_ended",   "ended_empty",        "cancelled"),
    ("exposed",       "leg_ended",   None,                 "exposed"),
)
