"""The `Trade` table: the entry and the exits it owns. The supervisor tells it what the entry's
executions did (`inventory`, `entry_ended`), what the exits' did (`reduced`) and what the stop
coverage is (`covered`, `uncovered`); the strategy's `enter` and the watcher's `abort` come from
outside. A fill that beats a cancel reopens `closed` and `aborted`. Rows: (state, event, guard, target).
"""

from __future__ import annotations

from tables import NOT_ALLOWED as NO
from tables import Disputed, Intents, Row, Table

TRADE: Table = (
    # state, event, guard, target
    ("armed",        "enter",        None,              "entering"),
    ("armed",        "abort",        None,              "aborted"),  # the watcher expired
    ("armed",        "inventory",    None,              "protecting"),  # an execution of an entry we had not seen go
    ("armed",        "covered",      None,              "armed"),
    ("armed",        "uncovered",    None,              "armed"),
    ("armed",        "reduced",      None,              "armed"),
    ("armed",        "entry_ended",  "nothing_filled",  "aborted"),
    ("armed",        "entry_ended",  None,              "armed"),

    ("entering",     "enter",        None,              NO),
    ("entering",     "abort",        "nothing_filled",  "aborted"),  # no fallback: shares are never abandoned
    ("entering",     "inventory",    None,              "protecting"),
    ("entering",     "covered",      None,              "entering"),
    ("entering",     "uncovered",    None,              "entering"),
    ("entering",     "reduced",      None,              "entering"),
    ("entering",     "entry_ended",  "nothing_filled",  "aborted"),
    ("entering",     "entry_ended",  None,              "entering"),

    ("protecting",   "enter",        None,              NO),
    ("protecting",   "abort",        None,              NO),
    ("protecting",   "inventory",    None,              "protecting"),
    # DISPUTED (below): covered with exits already executed is scaling out, as from `unprotected`
    ("protecting",   "covered",      "exits_started",   "scaling_out"),
    ("protecting",   "covered",      None,              "protected"),
    ("protecting",   "uncovered",    None,              "unprotected"),
    ("protecting",   "reduced",      "is_flat",         "closed"),
    ("protecting",   "reduced",      None,              "protecting"),
    ("protecting",   "entry_ended",  "is_flat",         "closed"),
    ("protecting",   "entry_ended",  None,              "protecting"),

    ("protected",    "enter",        None,              NO),
    ("protected",    "abort",        None,              NO),
    ("protected",    "inventory",    None,              "protecting"),  # new shares need their stops
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
    ("closed",       "covered",      None,              "closed"),
    ("closed",       "uncovered",    None,              "closed"),
    ("closed",       "reduced",      None,              "closed"),
    ("closed",       "entry_ended",  None,              "closed"),

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
    ("aborted",      "inventory",    None,              "protecting"),  # a fill that beat the cancel
    ("aborted",      "covered",      None,              "aborted"),
    ("aborted",      "uncovered",    None,              "aborted"),
    ("aborted",      "reduced",      None,              "aborted"),
    ("aborted",      "entry_ended",  None,              "aborted"),
)

TRADE_INTENTS: Intents = {
    ("armed",        "abort",        None):              ("aborted",),
    ("armed",        "entry_ended",  "nothing_filled"):  ("aborted",),
    ("entering",     "abort",        "nothing_filled"):  ("aborted",),
    ("entering",     "entry_ended",  "nothing_filled"):  ("aborted",),
    ("protecting",   "reduced",      "is_flat"):         ("closed",),
    ("protecting",   "entry_ended",  "is_flat"):         ("closed",),
    ("protected",    "reduced",      "is_flat"):         ("closed",),
    ("protected",    "entry_ended",  "is_flat"):         ("closed",),
    ("scaling_out",  "reduced",      "is_flat"):         ("closed",),
    ("scaling_out",  "entry_ended",  "is_flat"):         ("closed",),
    ("unprotected",  "reduced",      "is_flat"):         ("closed",),
    ("unprotected",  "entry_ended",  "is_flat"):         ("closed",),
}

TRADE_DISPUTED: Disputed = {
    ("protecting", "covered"): (
        "a trade whose exits executed while its stops were still being placed (a target the price ran "
        "through while the entry filled: `reduced` keeps `protecting`) is declared to become "
        "`protected` when its coverage is whole, though it is scaling out; from `unprotected` the "
        "same event checks `exits_started` and goes to `scaling_out`. Nothing in the supervisor "
        "branches on the two states today, so the cost is a wrong state in snapshots and the journal "
        "until the next exit fill."
    ),
}

TRADE_UNDECLARED: tuple[Row, ...] = (
    ("protecting",   "covered",      "exits_started",   "scaling_out"),
)
