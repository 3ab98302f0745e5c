"""Contracts: qualify an `Instrument` with IB once, and pick the contract each order is sent with.

How it works: `qualify` asks IB for the contract details of the instrument (a future by exchange and
month, a stock by symbol, exchange and currency) and fills in what IB knows: conId, tick size,
multiplier, primary exchange. None found, or more than one, is a `LookupError` naming the symbol.
The answer is cached by symbol; from then on an order or a market data request for that symbol uses
the qualified contract. An order whose `PlaceOrder.instrument` describes another contract than the
cached one is sent with its own description; a symbol never qualified goes as a SMART USD stock.
"""

from __future__ import annotations

import asyncio

import attrs
from ib_async import IB, Contract

from broker.ib.orders import instrument_contract, stock_contract
from supervisor.port import Instrument, PlaceOrder, SecType


class Contracts:
    def __init__(self, ib: IB, timeout: float) -> None:
        self._ib = ib
        self._timeout = timeout
        self._qualified: dict[str, tuple[Instrument, Contract]] = {}

    def cached(self, instrument: Instrument) -> Instrument | None:
        found = self._qualified.get(instrument.symbol)
        return found[0] if found is not None and _same_contract(found[0], instrument) else None

    async def qualify(self, instrument: Instrument) -> Instrument:
        cached = self.cached(instrument)
        if cached is not None:
            return cached
        details = await asyncio.wait_for(self._ib.reqContractDetailsAsync(instrument_contract(instrument)),
                                         self._timeout)
        what = (f"{instrument.symbol!r} ({instrument.sec_type.value} {instrument.contract_month} on "
                f"{instrument.exchange}, {instrument.currency})")
        if not details:
            raise LookupError(f"IB has no contract for {what}")
        if len(details) > 1:
            raise LookupError(f"IB has {len(details)} contracts for {what}: name the primary exchange or the month")
        found = details[0].contract
        if found is None:
            raise LookupError(f"IB answered no contract for {what}")
        future = instrument.sec_type is SecType.FUTURE
        qualified = attrs.evolve(
            instrument, con_id=found.conId,
            tick_size=details[0].minTick if details[0].minTick > 0 else instrument.tick_size,
            multiplier=float(found.multiplier) if future and found.multiplier else instrument.multiplier,
            primary_exchange=found.primaryExchange or instrument.primary_exchange,
        )
        self._qualified[instrument.symbol] = (qualified, instrument_contract(qualified))
        return qualified

    def for_command(self, command: PlaceOrder) -> Contract:
        if command.instrument is not None:
            found = self._qualified.get(command.symbol)
            if found is not None and _same_contract(found[0], command.instrument):
                return found[1]
            return instrument_contract(command.instrument)
        return self.for_symbol(command.symbol)

    def for_symbol(self, symbol: str) -> Contract:
        found = self._qualified.get(symbol)
        return found[1] if found is not None else stock_contract(symbol)


def _same_contract(a: Instrument, b: Instrument) -> bool:
    return (a.symbol, a.sec_type, a.exchange, a.currency, a.contract_month) == (
        b.symbol, b.sec_type, b.exchange, b.currency, b.contract_month)
