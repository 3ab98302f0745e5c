# A local gateway that speaks the TWS socket protocol, backed by the simulated exchange, so an
# unmodified `ib_async.IB()` connects over loopback, trades and receives what it asks for.
# The layers, outside in: server.py (asyncio sockets and the market clock) -> engine.py (sans-IO:
# sessions, handshake, request dispatch) -> parse.py / requests.py (client messages -> values) and
# replies*.py (values -> messages, field for field as ib_async's decoder reads them) -> desk.py and
# views.py (client orders <-> the exchange's commands and reports) -> exchange.py (one SimBroker per
# symbol on one clock) and feeds.py / market.py (quotes and bars from the same price points).
"""The TWS-protocol simulator: `TwsSimServer` (asyncio) and `run_in_thread` (beside a sync client).

    with run_in_thread(load_bars("day.csv"), faults=["reject:201@2"]) as server:
        ib = IB()
        ib.connect("127.0.0.1", server.port, clientId=1)
        ...                      # place orders, ask for bars
        server.advance_bars(1)   # the market moves only when told to (speed 0)
"""

from broker.tws.engine import TwsEngine
from broker.tws.exchange import SimExchange
from broker.tws.server import ServerThread, TwsSimServer, run_in_thread
from broker.tws.wire import SERVER_VERSION

__all__ = ["SERVER_VERSION", "ServerThread", "SimExchange", "TwsEngine", "TwsSimServer", "run_in_thread"]
