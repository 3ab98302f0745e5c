"""The Interactive Brokers adapter on ib_async: `IBBroker` implements the broker port, the market
data port and the contract resolver of `supervisor/`. Paper trading by default (safety.py).

    broker = await IBBroker.open(IBConfig(port=7497, client_id=7))   # its own connection
    broker = IBBroker(ib)                                              # a bot's connected ib_async.IB

Events come by `poll()`, or pushed inside ib_async's callback once `set_event_handler(handler)` is
set (the latency-critical path). A bracket goes as one batch: `execute_all([entry, tp, sl])`.

Modules: adapter.py (the port), translate.py (IB messages -> port events: the one table),
orders.py (port commands -> ib_async orders), contracts.py (qualification), registry.py (what is
known of each order), truth.py (broker truth), connection.py (connect, reconnect, the live
guard's checks), backoff.py (the reconnect schedule), safety.py (paper by default), market.py
(bars and quotes).
"""

from broker.ib.adapter import IBBroker
from broker.ib.backoff import Backoff
from broker.ib.connection import ClientIdInUseError, IBConfig
from broker.ib.safety import LIVE_ENV, LiveTradingRefusedError, mask_account

__all__ = [
    "LIVE_ENV", "Backoff", "ClientIdInUseError", "IBBroker", "IBConfig", "LiveTradingRefusedError", "mask_account",
]
