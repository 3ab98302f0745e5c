"""Declared python-statemachine machines: the order legs, the OCA pair, the trade, the
choreography of its exits (ladder, stop coverage, milestones) and the account's trading state.

Nothing here does I/O: each machine is a table of states and events over an attrs model. One
instance of each machine serves every model (see `machines.cursor`).
"""

from machines.account import Account, AccountModel
from machines.cover import Cover
from machines.cursor import Cursor, Intents
from machines.entry_leg import EntryLeg
from machines.fills import ExecBook, ExecKind, Fill
from machines.ladder import Ladder
from machines.leg import Leg
from machines.lifecycle import LIVE_STATES, NOT_SENT_STATES, TERMINAL_STATES, LegModel
from machines.milestones import Milestones
from machines.oca_pair import PAIR_DONE_STATES, OcaPair, PairModel
from machines.stop_leg import StopLeg
from machines.trade import Trade, TradeModel

MACHINES = {
    "Leg": Leg,
    "EntryLeg": EntryLeg,
    "StopLeg": StopLeg,
    "OcaPair": OcaPair,
    "Trade": Trade,
    "Ladder": Ladder,
    "Cover": Cover,
    "Milestones": Milestones,
    "Account": Account,
}

__all__ = [
    "LIVE_STATES",
    "MACHINES",
    "NOT_SENT_STATES",
    "PAIR_DONE_STATES",
    "TERMINAL_STATES",
    "Account",
    "AccountModel",
    "Cover",
    "Cursor",
    "EntryLeg",
    "ExecBook",
    "ExecKind",
    "Fill",
    "Intents",
    "Ladder",
    "Leg",
    "LegModel",
    "Milestones",
    "OcaPair",
    "PairModel",
    "StopLeg",
    "Trade",
    "TradeModel",
]
