"""Declared python-statemachine machines: the order legs, the OCA pair, the trade and the account.

Nothing here does I/O: each machine is a table of states and events over an attrs model.
"""

from machines.account import Account, AccountModel
from machines.entry_leg import EntryLeg
from machines.fills import ExecKind, Fill, FillBook, OverfillError
from machines.leg import Leg
from machines.lifecycle import TERMINAL_STATES, LegModel
from machines.oca_pair import OcaPair, PairModel
from machines.stop_leg import StopLeg
from machines.trade import Trade, TradeModel

MACHINES = {
    "Leg": Leg, "EntryLeg": EntryLeg, "StopLeg": StopLeg, "OcaPair": OcaPair, "Trade": Trade, "Account": Account,
}

__all__ = [
    "MACHINES",
    "TERMINAL_STATES",
    "Account",
    "AccountModel",
    "EntryLeg",
    "ExecKind",
    "Fill",
    "FillBook",
    "Leg",
    "LegModel",
    "OcaPair",
    "OverfillError",
    "PairModel",
    "StopLeg",
    "Trade",
    "TradeModel",
]
