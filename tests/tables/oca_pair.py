"""The `OcaPair` table: one ladder level, a take-profit and a stop-loss in one OCA group. The
supervisor tells it when the level's allocation changed (`allocate`, `attach`, `drop`), when a leg
changed state (`leg_changed`), when a grace period for a lost leg ran out (`repair`) and when the
broker sized a leg wrongly under the replace policy (`replace`), and when the trade is flattened
(`withdraw`: the level ends, nothing restored). Guarded alternatives are tried in
order: a level emptied closes by the leg that took everything, else mixed; a lost leg is restored
while repairs are left, else the level is exposed. Rows: (state, event, guard, target).
"""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Disputed, Intents, Row, Table

# every event is answered in every state but three pairs: a level is attached only before it began
OCA_PAIR: Table = (
    # state, event, guard, target
    ("pending",        "allocate",     "has_shares",                     "armed"),
    ("pending",        "allocate",     None,                             "pending"),
    ("pending",        "attach",       None,                             "armed"),  # a bracket goes with its entry
    ("pending",        "drop",         None,                             "cancelled"),  # the level got no share
    ("pending",       "withdraw",     None,                             "cancelled"),  # the trade is flattened
    ("pending",        "leg_changed",  None,                             "pending"),
    ("pending",        "repair",       None,                             "pending"),
    ("pending",        "replace",      None,                             "pending"),

    ("armed",          "allocate",     None,                             "armed"),  # the entry filled more: grow
    ("armed",          "attach",       None,                             NO),
    ("armed",          "drop",         None,                             "armed"),
    ("armed",         "withdraw",     None,                             "cancelled"),  # the trade is flattened
    ("armed",          "leg_changed",  "tp_took_all",                    "closed_by_tp"),
    ("armed",          "leg_changed",  "sl_took_all",                    "closed_by_sl"),
    ("armed",          "leg_changed",  "all_exited",                     "closed_mixed"),
    ("armed",          "leg_changed",  "lost_for_sure and can_repair",   "armed"),  # rejected: restore now
    ("armed",          "leg_changed",  "leg_lost and can_repair",        "armed"),  # OCA cancel: wait for the fill
    ("armed",          "leg_changed",  "uncovered",                      "exposed"),
    ("armed",          "leg_changed",  "ended_empty",                    "cancelled"),
    ("armed",          "leg_changed",  "exits_started",                  "reducing"),
    ("armed",          "leg_changed",  None,                             "armed"),
    ("armed",          "repair",       "leg_lost and can_repair",        "armed"),
    ("armed",          "repair",       "uncovered",                      "exposed"),
    ("armed",          "repair",       None,                             "armed"),
    ("armed",          "replace",      None,                             "replacing"),

    ("reducing",       "allocate",     None,                             "reducing"),
    ("reducing",       "attach",       None,                             NO),
    ("reducing",       "drop",         None,                             "reducing"),
    ("reducing",      "withdraw",     None,                             "cancelled"),  # the trade is flattened
    ("reducing",       "leg_changed",  "tp_took_all",                    "closed_by_tp"),
    ("reducing",       "leg_changed",  "sl_took_all",                    "closed_by_sl"),
    ("reducing",       "leg_changed",  "all_exited",                     "closed_mixed"),
    ("reducing",       "leg_changed",  "lost_for_sure and can_repair",   "reducing"),
    ("reducing",       "leg_changed",  "leg_lost and can_repair",        "reducing"),
    ("reducing",       "leg_changed",  "uncovered",                      "exposed"),
    ("reducing",       "leg_changed",  None,                             "reducing"),
    ("reducing",       "repair",       "leg_lost and can_repair",        "reducing"),
    ("reducing",       "repair",       "uncovered",                      "exposed"),
    ("reducing",       "repair",       None,                             "reducing"),
    ("reducing",       "replace",      None,                             "replacing"),

    ("closed_by_tp",   "allocate",     None,                             "closed_by_tp"),
    ("closed_by_tp",   "attach",       None,                             NO),
    ("closed_by_tp",   "drop",         None,                             "closed_by_tp"),
    ("closed_by_tp",  "withdraw",     None,                             "closed_by_tp"),
    ("closed_by_tp",   "leg_changed",  None,                             "closed_by_tp"),  # IB cancels the other leg
    ("closed_by_tp",   "repair",       None,                             "closed_by_tp"),
    ("closed_by_tp",   "replace",      None,                             "closed_by_tp"),

    ("closed_by_sl",   "allocate",     None,                             "closed_by_sl"),
    ("closed_by_sl",   "attach",       None,                             NO),
    ("closed_by_sl",   "drop",         None,                             "closed_by_sl"),
    ("closed_by_sl",  "withdraw",     None,                             "closed_by_sl"),
    ("closed_by_sl",   "leg_changed",  None,                             "closed_by_sl"),
    ("closed_by_sl",   "repair",       None,                             "closed_by_sl"),
    ("closed_by_sl",   "replace",      None,                             "closed_by_sl"),

    ("closed_mixed",   "allocate",     None,                             "closed_mixed"),
    ("closed_mixed",   "attach",       None,                             NO),
    ("closed_mixed",   "drop",         None,                             "closed_mixed"),
    ("closed_mixed",  "withdraw",     None,                             "closed_mixed"),
    ("closed_mixed",   "leg_changed",  None,                             "closed_mixed"),
    ("closed_mixed",   "repair",       None,                             "closed_mixed"),
    ("closed_mixed",   "replace",      None,                             "closed_mixed"),

    ("cancelled",      "allocate",     None,                             "cancelled"),
    ("cancelled",      "attach",       None,                             NO),
    ("cancelled",      "drop",         None,                             "cancelled"),
    ("cancelled",     "withdraw",     None,                             "cancelled"),
    ("cancelled",      "leg_changed",  None,                             "cancelled"),
    ("cancelled",      "repair",       None,                             "cancelled"),
    ("cancelled",      "replace",      None,                             "cancelled"),

    ("replacing",      "allocate",     None,                             "replacing"),
    ("replacing",      "attach",       None,                             NO),
    ("replacing",      "drop",         None,                             "replacing"),
    ("replacing",     "withdraw",     None,                             "cancelled"),  # the trade is flattened
    # DISPUTED (below): a level the race emptied closes by the leg that took it, as from `armed`
    ("replacing",      "leg_changed",  "both_done and tp_took_all",      "closed_by_tp"),
    ("replacing",      "leg_changed",  "both_done and sl_took_all",      "closed_by_sl"),
    ("replacing",      "leg_changed",  "both_done and all_exited",       "closed_mixed"),
    ("replacing",      "leg_changed",  "both_done",                      "replaced"),  # a successor takes the rest
    ("replacing",      "leg_changed",  None,                             "replacing"),  # a cancel refused: ask again
    ("replacing",      "repair",       None,                             "replacing"),
    ("replacing",      "replace",      None,                             "replacing"),

    ("replaced",       "allocate",     None,                             "replaced"),
    ("replaced",       "attach",       None,                             NO),
    ("replaced",       "drop",         None,                             "replaced"),
    ("replaced",      "withdraw",     None,                             "replaced"),
    ("replaced",       "leg_changed",  None,                             "replaced"),
    ("replaced",       "repair",       None,                             "replaced"),
    ("replaced",       "replace",      None,                             "replaced"),

    ("exposed",        "allocate",     None,                             "exposed"),
    ("exposed",        "attach",       None,                             NO),
    ("exposed",        "drop",         None,                             "exposed"),
    ("exposed",       "withdraw",     None,                             "cancelled"),  # the trade is flattened
    ("exposed",        "leg_changed",  "tp_took_all",                    "closed_by_tp"),  # a leg that outlived it
    ("exposed",        "leg_changed",  "sl_took_all",                    "closed_by_sl"),
    ("exposed",        "leg_changed",  "all_exited",                     "closed_mixed"),
    ("exposed",        "leg_changed",  "ended_empty",                    "cancelled"),
    ("exposed",        "leg_changed",  None,                             "exposed"),
    ("exposed",        "repair",       None,                             "exposed"),  # Cover's emergency stop does it
    ("exposed",        "replace",      None,                             "replacing"),
)

OCA_PAIR_INTENTS: Intents = {
    ("pending",    "allocate",    "has_shares"):                    ("place_both",),
    ("pending",    "attach",      None):                            ("place_both",),
    ("pending",    "drop",        None):                            ("withdraw_legs",),
    ("pending",    "withdraw",    None):                            ("withdraw_legs",),
    ("armed",      "withdraw",    None):                            ("cancel_legs", "withdraw_legs"),
    ("reducing",   "withdraw",    None):                            ("cancel_legs", "withdraw_legs"),
    ("exposed",    "withdraw",    None):                            ("cancel_legs", "withdraw_legs"),
    ("replacing",  "withdraw",    None):                            ("cancel_legs", "withdraw_legs"),
    ("armed",      "allocate",    None):                            ("fit_legs",),
    ("armed",      "leg_changed", "lost_for_sure and can_repair"):  ("restore_legs",),
    ("armed",      "leg_changed", None):                            ("fit_legs",),
    ("armed",      "repair",      "leg_lost and can_repair"):       ("restore_legs",),
    ("armed",      "replace",     None):                            ("cancel_legs",),
    ("reducing",   "allocate",    None):                            ("fit_legs",),
    ("reducing",   "leg_changed", "lost_for_sure and can_repair"):  ("restore_legs",),
    ("reducing",   "leg_changed", None):                            ("fit_legs",),
    ("reducing",   "repair",      "leg_lost and can_repair"):       ("restore_legs",),
    ("reducing",   "replace",     None):                            ("cancel_legs",),
    ("replacing",  "leg_changed", "both_done"):                     ("succeed",),
    ("replacing",  "leg_changed", None):                            ("cancel_legs",),
    ("exposed",    "replace",     None):                            ("cancel_legs",),
}

OCA_PAIR_DISPUTED: Disputed = {
    ("replacing", "leg_changed"): (
        "a pair being replaced whose take-profit executed the whole level in the race with the cancel "
        "is declared to close `closed_mixed` (`both_done and all_exited`), whatever leg took the "
        "shares. The Milestones machine reads `closed_by_tp` on the newest pair of a level, so when "
        "this happens on level 1 (or 2) the later stops are never moved to break-even: the table wants "
        "`both_done and tp_took_all -> closed_by_tp` and `both_done and sl_took_all -> closed_by_sl` "
        "before the mixed row, as from `armed`, `reducing` and `exposed`."
    ),
}

OCA_PAIR_UNDECLARED: tuple[Row, ...] = (
    ("replacing",      "leg_changed",  "both_done and tp_took_all",      "closed_by_tp"),
    ("replacing",      "leg_changed",  "both_done and sl_took_all",      "closed_by_sl"),
)


# The rows a stop-only level (a plan with no take-profit: `PairModel.tp` is None) can take: the
# same declared table, of which no guard lets it take a target's row. Every row here is a row of
# `OCA_PAIR`; the rows of `OCA_PAIR` not here are never the first that holds for it: `tp_took_all`
# never holds (no target), `all_exited` never holds without `sl_took_all` (only stops exit), and a
# lost stop is always lost for sure (no OCA sibling's fill can explain it), so `leg_lost and
# can_repair` never decides `leg_changed`. `closed_by_tp` is unreachable; `closed_mixed` only
# through the disputed replacing row (the table wants `closed_by_sl` there).
STOP_ONLY_PAIR: Table = (
    ("pending",        "allocate",     "has_shares",                     "armed"),  # the stop alone
    ("pending",        "allocate",     None,                             "pending"),
    ("pending",        "attach",       None,                             "armed"),  # the entry's only child
    ("pending",        "drop",         None,                             "cancelled"),
    ("pending",        "withdraw",     None,                             "cancelled"),
    ("armed",          "allocate",     None,                             "armed"),  # the entry filled more: grow
    ("armed",          "withdraw",     None,                             "cancelled"),
    ("armed",          "leg_changed",  "sl_took_all",                    "closed_by_sl"),
    ("armed",          "leg_changed",  "lost_for_sure and can_repair",   "armed"),  # any lost stop: restore now
    ("armed",          "leg_changed",  "uncovered",                      "exposed"),
    ("armed",          "leg_changed",  "ended_empty",                    "cancelled"),
    ("armed",          "leg_changed",  "exits_started",                  "reducing"),
    ("armed",          "leg_changed",  None,                             "armed"),
    ("armed",          "repair",       "leg_lost and can_repair",        "armed"),
    ("armed",          "repair",       "uncovered",                      "exposed"),
    ("armed",          "repair",       None,                             "armed"),
    ("armed",          "replace",      None,                             "replacing"),
    ("reducing",       "allocate",     None,                             "reducing"),
    ("reducing",       "withdraw",     None,                             "cancelled"),
    ("reducing",       "leg_changed",  "sl_took_all",                    "closed_by_sl"),
    ("reducing",       "leg_changed",  "lost_for_sure and can_repair",   "reducing"),
    ("reducing",       "leg_changed",  "uncovered",                      "exposed"),
    ("reducing",       "leg_changed",  None,                             "reducing"),
    ("reducing",       "repair",       "leg_lost and can_repair",        "reducing"),
    ("reducing",       "repair",       "uncovered",                      "exposed"),
    ("reducing",       "repair",       None,                             "reducing"),
    ("reducing",       "replace",      None,                             "replacing"),
    ("replacing",      "withdraw",     None,                             "cancelled"),
    ("replacing",      "leg_changed",  "both_done and sl_took_all",      "closed_by_sl"),  # DISPUTED, as above
    ("replacing",      "leg_changed",  "both_done",                      "replaced"),  # a successor stop
    ("replacing",      "leg_changed",  None,                             "replacing"),
    ("exposed",        "withdraw",     None,                             "cancelled"),
    ("exposed",        "leg_changed",  "sl_took_all",                    "closed_by_sl"),  # a late stop fill
    ("exposed",        "leg_changed",  "ended_empty",                    "cancelled"),
    ("exposed",        "leg_changed",  None,                             "exposed"),
    ("exposed",        "replace",      None,                             "replacing"),
    # every other (state, event) of a stop-only level stays where it is, as in `OCA_PAIR`
)
