# What the simulator trades: any US stock symbol a client names. `Contracts.resolve` turns the
# contract fields of a request into a `StockContract` whose conId is derived from the symbol alone
# (CRC-32, so the same symbol has the same conId in every run and every process), and remembers it
# so a later request by conId alone finds it. Everything else a contract-details answer holds (tick,
# time zone, trading hours) comes from the simulated exchange's `SimConfig`, so clients see the
# contract the exchange matches. Anything that is not a stock, or not in USD, has no security
# definition: IB error 200, as TWS answers.
from __future__ import annotations

import zlib

import attrs

from broker.sim import SimConfig
from broker.tws.requests import ContractSpec, RequestError
from broker.tws.wire import Field

CODE_NO_SECURITY = 200
PRIMARY_EXCHANGE = "NASDAQ"
ORDER_TYPES = "LMT,MKT,STP,STP LMT"


def con_id_of(symbol: str) -> int:
    """A stable conId for `symbol`: nine digits, the same in every run."""
    return 100_000_000 + zlib.crc32(symbol.upper().encode()) % 900_000_000


@attrs.frozen
class StockContract:
    symbol: str
    con_id: int
    exchange: str = "SMART"
    currency: str = "USD"

    def fields(self, exchange: str | None = None) -> list[Field]:
        """conId, symbol, secType, lastTrade, strike, right, multiplier, exchange, currency,
        localSymbol, tradingClass: the contract as openOrder, execDetails and position carry it."""
        return [self.con_id, self.symbol, "STK", "", 0.0, "", "", exchange or self.exchange, self.currency,
                self.symbol, "NMS"]

    def portfolio_fields(self) -> list[Field]:
        """The same with the primary exchange in the exchange's place (updatePortfolio)."""
        return [self.con_id, self.symbol, "STK", "", 0.0, "", "", PRIMARY_EXCHANGE, self.currency, self.symbol,
                "NMS"]


def _no_security(spec: ContractSpec, req_id: int, why: str) -> RequestError:
    name = spec.symbol or (f"conId {spec.con_id}" if spec.con_id else "(no symbol)")
    return RequestError(CODE_NO_SECURITY, f"No security definition has been found for the request: {name} ({why})",
                        req_id)


class Contracts:
    """Every stock a client has named so far, by symbol and by conId."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._by_con_id: dict[int, str] = {}

    def resolve(self, spec: ContractSpec, req_id: int = -1) -> StockContract:
        sec_type = spec.sec_type.upper()
        if sec_type not in ("", "STK"):
            raise _no_security(spec, req_id, f"secType {spec.sec_type!r}: this simulator trades stocks (STK)")
        if spec.currency and spec.currency.upper() != self.config.currency:
            raise _no_security(spec, req_id, f"currency {spec.currency!r}: this simulator trades in "
                                             f"{self.config.currency}")
        symbol = (spec.symbol or spec.local_symbol).strip().upper()
        if not symbol:
            symbol = self._by_con_id.get(spec.con_id, "")
            if not symbol:
                raise _no_security(spec, req_id, "no symbol, and no stock known by that conId")
        if any(ch.isspace() for ch in symbol):
            raise _no_security(spec, req_id, f"symbol {symbol!r} has a space in it")
        con_id = con_id_of(symbol)
        if spec.con_id and spec.con_id != con_id:
            raise _no_security(spec, req_id, f"conId {spec.con_id} is not {symbol}'s ({con_id})")
        self._by_con_id[con_id] = symbol
        exchange = spec.exchange.upper() or "SMART"
        return StockContract(symbol, con_id, exchange, self.config.currency)

    def details_fields(self, req_id: int, contract: StockContract, day: str) -> list[Field]:
        """A contractDetails message (10) as ib_async's decoder reads it at server version >= 164.
        `day` is the session's date (YYYYMMDD) for the trading-hours strings."""
        session = self.config.session
        opens, closes = session.regular_open.strftime("%H%M"), session.regular_close.strftime("%H%M")
        extended = session.extended_close.strftime("%H%M")
        return [
            10, req_id, contract.symbol, "STK", "", 0.0, "", contract.exchange, contract.currency, contract.symbol,
            "NMS", "NMS", contract.con_id, self.config.tick_size,
            "", ORDER_TYPES, f"SMART,{PRIMARY_EXCHANGE}", 1, 0, f"{contract.symbol} (simulated)", PRIMARY_EXCHANGE,
            "", "", "", "", self.config.timezone, f"{day}:0400-{day}:{extended}", f"{day}:{opens}-{day}:{closes}",
            "", "", 0,  # evRule, evMultiplier, no secIds
            1, "", "", "26", "", "COMMON",  # aggGroup, underSymbol, underSecType, marketRuleIds, realExpiry, type
            1, 1, 100,  # minSize, sizeIncrement, suggestedSizeIncrement
        ]
