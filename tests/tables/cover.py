"""The `Cover` table: a trade's stop coverage and exit exposure (`TradeModel.cover`). The
supervisor measures the trade after each fact and says what the measure became (`became_*`), when
a grace period it asked for ran out (`grace_elapsed`) and when a stop died while coverage is short
(`protection_lost`). The machine has no guard: what it decides is which intents each change
records. Every event is answered in every state: no row is `NOT_ALLOWED`.
Rows: (state, event, guard, target)."""

from __future__ import annotations

from tables import Intents, Table

COVER: Table = (
    # state, event, guard, target
    ("clear",            "became_clear",     None,  "clear"),
    ("clear",            "became_covered",   None,  "covered"),
    ("clear",            "became_short",     None,  "short"),
    ("clear",            "became_excess",    None,  "excess"),
    ("clear",            "became_orphaned",  None,  "orphaned"),
    ("clear",            "grace_elapsed",    None,  "clear"),
    ("clear",            "protection_lost",  None,  "clear"),

    ("covered",          "became_clear",     None,  "clear"),
    ("covered",          "became_covered",   None,  "covered"),
    ("covered",          "became_short",     None,  "short"),
    ("covered",          "became_excess",    None,  "excess"),
    ("covered",          "became_orphaned",  None,  "orphaned"),
    ("covered",          "grace_elapsed",    None,  "covered"),  # a grace period that no longer matters
    ("covered",          "protection_lost",  None,  "covered"),

    ("short",            "became_clear",     None,  "clear"),
    ("short",            "became_covered",   None,  "covered"),
    ("short",            "became_short",     None,  "short"),  # the grace period already runs
    ("short",            "became_excess",    None,  "excess"),
    ("short",            "became_orphaned",  None,  "orphaned"),
    ("short",            "grace_elapsed",    None,  "gap"),  # CoverageGap, and repair it
    ("short",            "protection_lost",  None,  "short"),  # the grace period decides

    ("gap",              "became_clear",     None,  "clear"),
    ("gap",              "became_covered",   None,  "covered"),
    ("gap",              "became_short",     None,  "gap"),
    ("gap",              "became_excess",    None,  "excess"),
    ("gap",              "became_orphaned",  None,  "orphaned"),
    ("gap",              "grace_elapsed",    None,  "gap"),
    ("gap",              "protection_lost",  None,  "gap"),  # a repair died: repair again

    ("excess",           "became_clear",     None,  "clear"),
    ("excess",           "became_covered",   None,  "covered"),
    ("excess",           "became_short",     None,  "short"),
    ("excess",           "became_excess",    None,  "excess"),  # still too much working: shrink the rest
    ("excess",           "became_orphaned",  None,  "orphaned"),
    ("excess",           "grace_elapsed",    None,  "excess"),
    ("excess",           "protection_lost",  None,  "excess"),

    ("orphaned",         "became_clear",     None,  "clear"),
    ("orphaned",         "became_covered",   None,  "covered"),
    ("orphaned",         "became_short",     None,  "short"),
    ("orphaned",         "became_excess",    None,  "excess"),
    ("orphaned",         "became_orphaned",  None,  "orphaned"),
    ("orphaned",         "grace_elapsed",    None,  "orphan_reported"),
    ("orphaned",         "protection_lost",  None,  "orphaned"),

    ("orphan_reported",  "became_clear",     None,  "clear"),
    ("orphan_reported",  "became_covered",   None,  "covered"),
    ("orphan_reported",  "became_short",     None,  "short"),
    ("orphan_reported",  "became_excess",    None,  "excess"),
    ("orphan_reported",  "became_orphaned",  None,  "orphan_reported"),
    ("orphan_reported",  "grace_elapsed",    None,  "orphan_reported"),  # reported once
    ("orphan_reported",  "protection_lost",  None,  "orphan_reported"),
)

# reduce-only acts at once (`shrink`); a shortfall waits out its grace period (`start_grace`)
COVER_INTENTS: Intents = {
    ("clear",            "became_short",     None):  ("start_grace",),
    ("clear",            "became_excess",    None):  ("shrink",),
    ("clear",            "became_orphaned",  None):  ("start_grace", "shrink"),
    ("covered",          "became_short",     None):  ("start_grace",),
    ("covered",          "became_excess",    None):  ("shrink",),
    ("covered",          "became_orphaned",  None):  ("start_grace", "shrink"),
    ("short",            "became_excess",    None):  ("shrink",),
    ("short",            "became_orphaned",  None):  ("start_grace", "shrink"),
    ("short",            "grace_elapsed",    None):  ("report_gap", "repair"),
    ("gap",              "became_covered",   None):  ("covered",),
    ("gap",              "became_excess",    None):  ("shrink",),
    ("gap",              "became_orphaned",  None):  ("start_grace", "shrink"),
    ("gap",              "protection_lost",  None):  ("repair",),
    ("excess",           "became_short",     None):  ("start_grace",),
    ("excess",           "became_excess",    None):  ("shrink",),
    ("excess",           "became_orphaned",  None):  ("start_grace", "shrink"),
    ("orphaned",         "became_short",     None):  ("start_grace",),
    ("orphaned",         "became_excess",    None):  ("shrink",),
    ("orphaned",         "became_orphaned",  None):  ("shrink",),
    ("orphaned",         "grace_elapsed",    None):  ("report_orphans",),
    ("orphan_reported",  "became_short",     None):  ("start_grace",),
    ("orphan_reported",  "became_excess",    None):  ("shrink",),
    ("orphan_reported",  "became_orphaned",  None):  ("shrink",),
}
