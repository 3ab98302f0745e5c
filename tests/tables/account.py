"""The `Account` table: the trading state of the whole account, told by the risk book what the
day's counters did (`realize`, `roll`) and by the operator what to do (`kill`, `resume`).
Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Table

ACCOUNT: Table = (
    # state, event, guard, target
    ("active",    "realize",  "loss_limit_reached",  "reducing"),  # the day's net loss reached the limit
    ("active",    "realize",  None,                  "active"),
    ("active",    "kill",     None,                  "halted"),
    ("active",    "resume",   None,                  NO),  # nothing to resume from
    ("active",    "roll",     None,                  "active"),

    ("reducing",  "realize",  None,                  "reducing"),  # a winning exit does not lift it
    ("reducing",  "kill",     None,                  "halted"),
    ("reducing",  "resume",   "within_loss_limit",   "active"),  # no fallback: the limit holds
    ("reducing",  "roll",     None,                  "reducing"),  # a new day never resumes on its own

    ("halted",    "realize",  None,                  "halted"),
    ("halted",    "kill",     None,                  "halted"),
    ("halted",    "resume",   "loss_limit_reached",  "reducing"),
    ("halted",    "resume",   None,                  "active"),
    ("halted",    "roll",     None,                  "halted"),
)
