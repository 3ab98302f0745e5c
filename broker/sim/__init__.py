# The simulated exchange: the embedded default broker behind `supervisor.port.BrokerPort`.
# `SimBroker` replays bars (bars.py) through an order book (book.py, orders.py) on its own clock,
# answers commands with the port's events, remembers executions (ledger.py) for `query()`, and
# injects the faults named in faults.py. Same bars, config, faults and seed: the same events.
"""Simulated exchange with fault injection: `SimBroker`, its config, market data and faults.

Driving it (the sim's clock is the supervisor's injected clock)::

    sim = SimBroker(load_bars("examples/data/breakout_day.csv"), config=SimConfig(ack_latency=0.05),
                    faults=[parse_fault("reject:201@2")], seed=0)
    while (bar := sim.next_bar()) is not None:      # or sim.step() per price point
        for event in sim.poll():
            commands = supervisor.handle(event, sim.now())
            ...                                      # sim.execute(command) for each
    truth = sim.query(executions_since=t)            # after ConnectionRestored
"""

from broker.sim.bars import MarketDataError, load_bars, load_quotes, write_bars
from broker.sim.broker import SimBroker
from broker.sim.config import SimConfig
from broker.sim.faults import FAULT_HELP, Fault, FaultName, Faults, parse_fault
from supervisor.market import Bar, Quote

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
