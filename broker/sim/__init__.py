# The simulated exchange: the embedded default broker behind `supervisor.port.BrokerPort`.
# `SimBroker` replays bars (bars.py) through an order book (book.py, orders.py) on its own clock,
# answers commands with the port's events, remembers executions (ledger.py) for `query()`, and
# injects the faults named in faults.py. Same bars, config, faults and seed: the same events.
"""Simulated exchange with fault injection: `SimBroker`, its config, market data and faults."""

from broker.sim.bars import Bar, MarketDataError, Quote, load_bars, load_quotes, write_bars
from broker.sim.broker import SimBroker
from broker.sim.config import SimConfig
from broker.sim.faults import FAULT_HELP, Fault, FaultName, Faults, parse_fault

__all__ = [
    "FAULT_HELP",
    "Bar",
    "Fault",
    "FaultName",
    "Faults",
    "MarketDataError",
    "Quote",
    "SimBroker",
    "SimConfig",
    "load_bars",
    "load_quotes",
    "parse_fault",
    "write_bars",
]
