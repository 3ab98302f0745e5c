"""The `Milestones` table: a ladder's later stops move as its targets fill
(`TradeModel.milestones`). The first milestone is the first level closed by its take-profit, the
second the first two; both can be seen at once. Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import Intents, Table

MILESTONES: Table = (
    # state, event, guard, target
    ("none",    "target_filled",  "second_reached",  "second"),  # both seen at once: straight to the second
    ("none",    "target_filled",  "first_reached",   "first"),
    ("none",    "target_filled",  None,              "none"),
    ("first",   "target_filled",  "second_reached",  "second"),
    ("first",   "target_filled",  None,              "first"),
    ("second",  "target_filled",  None,              "second"),
)

MILESTONES_INTENTS: Intents = {
    ("none",   "target_filled",  "second_reached"):  ("reprice",),
    ("none",   "target_filled",  "first_reached"):   ("reprice",),
    ("first",  "target_filled",  "second_reached"):  ("reprice",),
}
