"""The `Trade` table: the entry and the exits it owns, told by the supervisor what executions and
stop coverage did. Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Table

TRADE: Table = (
    # state, event, guard, target
    ("armed",        "enter",        None,              "entering"),
    ("armed",        "abort",        None,              "aborted"),
    ("armed",        "inventory",    None,              NO),
    ("armed",        "covered",      None,              NO),
    ("armed",        "uncovered",    None,              NO),
    ("armed",        "reduced",      None,              NO),
    ("armed",        "entry_ended",  None,              NO),

    ("entering",     "enter",        None,              NO),
    ("entering",     "abort",        "nothing_filled",  "aborted"),  # no fallback: shares are never abandoned
    ("entering",     "inventory",    None,              "protecting"),
    ("entering",     "covered",      None,              NO),
    ("entering",     "uncovered",    None,              NO),
    ("entering",     "reduced",      None,              NO),
    ("entering",     "entry_ended",  "nothing_filled",  "aborted"),
    ("entering",     "entry_ended",  None,              "entering"),

    ("protecting",   "enter",        None,              NO),
    ("protecting",   "abort",        None,              NO),
    ("protecting",   "inventory",    None,              "protecting"),
    ("protecting",   "covered",      None,              "protected"),
    ("protecting",   "uncovered",    None,              "unprotected"),
    ("protecting",   "reduced",      "is_flat",         "closed"),
    ("protecting",   "reduced",      None,              "protecting"),
    ("protecting",   "entry_ended",  "is_flat",         "closed"),
    ("protecting",   "entry_ended",  None,              "protecting"),

    ("protected",    "enter",        None,              NO),
    ("protected",    "abort",        None,              NO),
    ("protected",    "inventory",    None,              "protecting"),
    ("protected",    "covered",      None,              "protected"),
    ("protected",    "uncovered",    None,              "unprotected"),
    ("protected",    "reduced",      "is_flat",         "closed"),
    ("protected",    "reduced",      None,              "scaling_out"),
    ("protected",    "entry_ended",  "is_flat",         "closed"),
    ("protected",    "entry_ended",  None,              "protected"),

    ("scaling_out",  "enter",        None,              NO),
    ("scaling_out",  "abort",        None,              NO),
    ("scaling_out",  "inventory",    None,              "scaling_out"),
    ("scaling_out",  "covered",      None,              "scaling_out"),
    ("scaling_out",  "uncovered",    None,              "unprotected"),
    ("scaling_out",  "reduced",      "is_flat",         "closed"),
    ("scaling_out",  "reduced",      None,              "scaling_out"),
    ("scaling_out",  "entry_ended",  "is_flat",         "closed"),
    ("scaling_out",  "entry_ended",  None,              "scaling_out"),

    ("closed",       "enter",        None,              NO),
    ("closed",       "abort",        None,              NO),
    ("closed",       "inventory",    None,              "protecting"),  # the entry's cancel lost the race
    ("closed",       "covered",      None,              NO),
    ("closed",       "uncovered",    None,              NO),
    ("closed",       "reduced",      None,              NO),
    ("closed",       "entry_ended",  None,              NO),

    ("unprotected",  "enter",        None,              NO),
    ("unprotected",  "abort",        None,              NO),
    ("unprotected",  "inventory",    None,              "unprotected"),
    ("unprotected",  "covered",      "exits_started",   "scaling_out"),
    ("unprotected",  "covered",      None,              "protected"),
    ("unprotected",  "uncovered",    None,              "unprotected"),
    ("unprotected",  "reduced",      "is_flat",         "closed"),
    ("unprotected",  "reduced",      None,              "unprotected"),
    ("unprotected",  "entry_ended",  "is_flat",         "closed"),
    ("unprotected",  "entry_ended",  None,              "unprotected"),

    ("aborted",      "enter",        None,              NO),
    ("aborted",      "abort",        None,              NO),
    ("aborted",      "inventory",    None,              "protecting"),  # a fill that beat the entry's cancel
    ("aborted",      "covered",      None,              NO),
    ("aborted",      "uncovered",    None,              NO),
    ("aborted",      "reduced",      None,              NO),
    ("aborted",      "entry_ended",  None,              NO),
)
