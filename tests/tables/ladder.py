"""The `Ladder` table: the choreography of a trade's exits (`TradeModel.ladder`). Detached, the
levels take the entry's shares as they come (`building`) until the entry ends (`complete`); a
bracket's children ride with the entry (`attached`) until it filled in one piece, or are cancelled
for detached pairs (`detaching`) when it filled in part or the broker sized them wrongly. `flatten`
ends it from anywhere: everything is cancelled, then what is held goes out at the market.
Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Intents, Table

LADDER: Table = (
    # state, event, guard, target
    ("waiting",    "start",          "is_attached",  "attached"),  # the children go with the entry
    ("waiting",    "start",          None,           "waiting"),  # detached: nothing until shares come
    ("waiting",    "shares_added",   None,           "building"),
    ("waiting",    "entry_ended",    "has_shares",   "complete"),
    ("waiting",    "entry_ended",    None,           "complete"),  # no share: nothing to build
    ("waiting",    "detach",         None,           "waiting"),
    ("waiting",    "children_done",  None,           "waiting"),
    ("waiting",    "stop_executed",  None,           "waiting"),
    ("waiting",    "child_changed",  None,           "waiting"),
    ("waiting",    "flatten",        None,           "flattening"),

    ("attached",   "start",          None,           NO),
    ("attached",   "shares_added",   "entry_full",   "attached"),  # the broker releases the children
    ("attached",   "shares_added",   None,           "detaching"),  # held children cannot protect a part
    ("attached",   "entry_ended",    "entry_full",   "complete"),
    ("attached",   "entry_ended",    "has_shares",   "detaching"),
    ("attached",   "entry_ended",    None,           "complete"),
    ("attached",   "detach",         None,           "detaching"),  # QuantityMismatch, policy replace
    ("attached",   "children_done",  None,           "attached"),
    ("attached",   "stop_executed",  None,           "attached"),
    ("attached",   "child_changed",  None,           "attached"),
    ("attached",   "flatten",        None,           "flattening"),

    ("building",   "start",          None,           NO),
    ("building",   "shares_added",   None,           "building"),
    ("building",   "entry_ended",    None,           "complete"),
    ("building",   "detach",         None,           "building"),
    ("building",   "children_done",  None,           "building"),
    ("building",   "stop_executed",  "entry_live",   "building"),  # the breakout failed: stop entering
    ("building",   "stop_executed",  None,           "building"),
    ("building",   "child_changed",  None,           "building"),
    ("building",   "flatten",        None,           "flattening"),

    ("detaching",  "start",          None,           NO),
    ("detaching",  "shares_added",   None,           "detaching"),  # allocated once the children are gone
    ("detaching",  "entry_ended",    None,           "detaching"),
    ("detaching",  "detach",         None,           "detaching"),
    ("detaching",  "children_done",  "entry_live",   "building"),
    ("detaching",  "children_done",  None,           "complete"),
    ("detaching",  "stop_executed",  None,           "detaching"),
    ("detaching",  "child_changed",  None,           "detaching"),  # one back in reach is cancelled
    ("detaching",  "flatten",        None,           "flattening"),

    ("complete",   "start",          None,           NO),
    ("complete",   "shares_added",   None,           "complete"),  # a fill that beat the entry's cancel
    ("complete",   "entry_ended",    None,           "complete"),
    ("complete",   "detach",         None,           "complete"),
    ("complete",   "children_done",  None,           "complete"),
    ("complete",   "stop_executed",  None,           "complete"),
    ("complete",   "child_changed",  None,           "complete"),
    ("complete",   "flatten",        None,           "flattening"),

    ("flattening", "start",          None,           NO),
    ("flattening", "shares_added",   None,           "flattening"),  # flattened once nothing works
    ("flattening", "entry_ended",    None,           "flattening"),
    ("flattening", "detach",         None,           "flattening"),
    ("flattening", "children_done",  None,           "flattening"),
    ("flattening", "stop_executed",  None,           "flattening"),
    ("flattening", "child_changed",  "quiet_and_held", "flattening"),  # nothing works, shares held
    ("flattening", "child_changed",  None,           "flattening"),
    ("flattening", "flatten",        None,           "flattening"),  # asked again: under way
)

LADDER_INTENTS: Intents = {
    ("waiting",    "start",          "is_attached"):  ("send_children",),
    ("waiting",    "shares_added",   None):           ("allocate",),
    ("waiting",    "entry_ended",    "has_shares"):   ("finalize",),
    ("attached",   "shares_added",   None):           ("cancel_children",),
    ("attached",   "entry_ended",    "entry_full"):   ("release",),
    ("attached",   "entry_ended",    "has_shares"):   ("cancel_children",),
    ("attached",   "entry_ended",    None):           ("cancel_children",),
    ("attached",   "detach",         None):           ("cancel_children",),
    ("building",   "shares_added",   None):           ("allocate",),
    ("building",   "entry_ended",    None):           ("finalize",),
    ("building",   "stop_executed",  "entry_live"):   ("cancel_entry",),
    ("detaching",  "children_done",  "entry_live"):   ("allocate",),
    ("detaching",  "children_done",  None):           ("finalize",),
    ("detaching",  "child_changed",  None):           ("cancel_children",),
    ("complete",   "shares_added",   None):           ("cover_late",),
    ("waiting",    "flatten",        None):           ("cancel_everything",),
    ("attached",   "flatten",        None):           ("cancel_everything",),
    ("building",   "flatten",        None):           ("cancel_everything",),
    ("detaching",  "flatten",        None):           ("cancel_everything",),
    ("complete",   "flatten",        None):           ("cancel_everything",),
    ("flattening", "child_changed",  "quiet_and_held"): ("send_flatten",),
}
