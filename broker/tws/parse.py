# How a client's message becomes a request value (broker/tws/requests.py). Each supported message
# id has a parser that walks the fields in the order ib_async 2.1's `client.py` writes them (at
# server version 176) with a `Cursor`. A field that is missing is a `RequestError` 320 ("error
# reading request") and a field that does not parse is a 321 ("error validating request"), both
# naming the field and the value and carrying the request's id (or order id) once it was read, so
# the client can tie the error to its request. A message id with no parser becomes `Unsupported`,
# answered by the engine with an error; nothing here raises anything but RequestError.
from __future__ import annotations

import math
from collections.abc import Callable

from broker.tws.requests import (
    NO_ID,
    Cancel,
    CancelOrderRequest,
    ContractSpec,
    PlaceOrderRequest,
    ReqAccountSummary,
    ReqAccountUpdates,
    ReqAccountUpdatesMulti,
    ReqContractDetails,
    ReqExecutions,
    ReqHistoricalData,
    ReqIds,
    ReqMktData,
    ReqOpenOrders,
    ReqRealTimeBars,
    Request,
    RequestError,
    Simple,
    StartApi,
    Unsupported,
)
from broker.tws.wire import UNSET_DOUBLE, UNSET_INTEGER


class Cursor:
    """Reads a message's fields in order, by name, with IB-style errors."""

    def __init__(self, fields: list[str], message: str, start: int = 1) -> None:
        self._fields = fields
        self._i = start
        self.message = message
        self.req_id = NO_ID

    def _next(self, name: str) -> str:
        if self._i >= len(self._fields):
            raise RequestError(320, f"Error reading request: {self.message} ends before the field '{name}'",
                               self.req_id)
        value = self._fields[self._i]
        self._i += 1
        return value

    def bad(self, name: str, value: str, problem: str) -> RequestError:
        return RequestError(321, f"Error validating request.-'{name}' : cause - {problem} (got {value!r}) "
                                 f"in {self.message}", self.req_id)

    def text(self, name: str) -> str:
        return self._next(name)

    def skip(self, *names: str) -> None:
        for name in names:
            self._next(name)

    def integer(self, name: str, default: int = 0) -> int:
        value = self._next(name).strip()
        if value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise self.bad(name, value, "not an integer") from None
        return default if number == UNSET_INTEGER else number

    def number(self, name: str) -> float | None:
        """A double; empty (or IB's unset double) is None."""
        value = self._next(name).strip()
        if value == "":
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.bad(name, value, "not a number") from None
        if not math.isfinite(number) or number >= UNSET_DOUBLE:  # NaN, infinite or unset
            return None
        return number

    def flag(self, name: str) -> bool:
        value = self._next(name).strip()
        if value in ("", "0", "false", "False"):
            return False
        if value in ("1", "true", "True"):
            return True
        raise self.bad(name, value, "not a boolean (0 or 1)")

    def request_id(self, name: str = "reqId") -> int:
        self.req_id = self.integer(name, NO_ID)
        return self.req_id

    def contract(self) -> ContractSpec:
        """The twelve contract fields every contract-bearing request starts with."""
        return ContractSpec(
            con_id=self.integer("conId"), symbol=self.text("symbol").strip(), sec_type=self.text("secType").strip(),
            last_trade=self.text("lastTradeDateOrContractMonth"), strike=self.number("strike"),
            right=self.text("right"), multiplier=self.text("multiplier"), exchange=self.text("exchange").strip(),
            primary_exchange=self.text("primaryExchange").strip(), currency=self.text("currency").strip(),
            local_symbol=self.text("localSymbol").strip(), trading_class=self.text("tradingClass"),
        )

    def repeated(self, name: str, width: int) -> None:
        """Skip a counted list: its count, then `width` fields per item."""
        count = self.integer(name)
        if count < 0:
            raise self.bad(name, str(count), "a negative count")
        self.skip(*[f"{name}[{k}]" for k in range(count * width)])


# -- parsers, one per message id -----------------------------------------------------------------


def _place_order(c: Cursor, server_version: int) -> PlaceOrderRequest:
    order_id = c.request_id("orderId")
    contract = c.contract()
    c.skip("secIdType", "secId")
    action = c.text("action").strip().upper()
    quantity = c.number("totalQuantity")
    order_type = c.text("orderType").strip().upper()
    limit_price, aux_price = c.number("lmtPrice"), c.number("auxPrice")
    tif = c.text("tif").strip().upper()
    oca_group, account = c.text("ocaGroup"), c.text("account").strip()
    c.skip("openClose", "origin")
    order_ref = c.text("orderRef")
    transmit = c.flag("transmit")
    parent_id = c.integer("parentId")
    c.skip("blockOrder", "sweepToFill", "displaySize", "triggerMethod")
    outside_rth = c.flag("outsideRth")
    c.skip("hidden")
    if contract.sec_type.upper() == "BAG":
        c.repeated("comboLegs", 8)
        c.repeated("orderComboLegs", 1)
        c.repeated("smartComboRoutingParams", 2)
    c.skip("sharesAllocation", "discretionaryAmt", "goodAfterTime", "goodTillDate", "faGroup", "faMethod",
           "faPercentage")
    if server_version < 177:
        c.skip("faProfile")
    c.skip("modelCode", "shortSaleSlot", "designatedLocation", "exemptCode")
    oca_type = c.integer("ocaType")
    c.skip("rule80A", "settlingFirm", "allOrNone", "minQty", "percentOffset", "eTradeOnly", "firmQuoteOnly",
           "nbboPriceCap", "auctionStrategy", "startingPrice", "stockRefPrice", "delta", "stockRangeLower",
           "stockRangeUpper", "overridePercentageConstraints", "volatility", "volatilityType")
    if c.text("deltaNeutralOrderType"):
        c.skip("deltaNeutralAuxPrice", *[f"deltaNeutral[{k}]" for k in range(8)])
    else:
        c.skip("deltaNeutralAuxPrice")
    c.skip("continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent", "scaleInitLevelSize",
           "scaleSubsLevelSize")
    increment = c.number("scalePriceIncrement")
    if increment is not None and increment > 0:
        c.skip(*[f"scale[{k}]" for k in range(7)])
    c.skip("scaleTable", "activeStartTime", "activeStopTime")
    if c.text("hedgeType"):
        c.skip("hedgeParam")
    c.skip("optOutSmartRouting", "clearingAccount", "clearingIntent", "notHeld")
    if c.flag("deltaNeutralContract"):
        c.skip("deltaNeutralContract.conId", "deltaNeutralContract.delta", "deltaNeutralContract.price")
    if c.text("algoStrategy"):
        c.repeated("algoParams", 2)
    c.skip("algoId")
    what_if = c.flag("whatIf")
    # the rest (misc options, conditions, adjusted stops, ...) changes nothing this simulator models
    return PlaceOrderRequest(order_id, contract, action, quantity, order_type, limit_price, aux_price, tif,
                             oca_group, account, order_ref, transmit, parent_id, outside_rth, oca_type, what_if)


def _historical(c: Cursor, server_version: int) -> ReqHistoricalData:
    req_id = c.request_id()
    contract = c.contract()
    c.skip("includeExpired")
    end, bar_size, duration = c.text("endDateTime").strip(), c.text("barSizeSetting"), c.text("durationStr")
    use_rth, what = c.flag("useRTH"), c.text("whatToShow").strip()
    format_date = c.integer("formatDate", 1)
    if contract.sec_type.upper() == "BAG":
        c.repeated("comboLegs", 4)
    keep = c.flag("keepUpToDate")
    return ReqHistoricalData(req_id, contract, end, bar_size.strip(), duration.strip(), use_rth, what, format_date,
                             keep)


def _mkt_data(c: Cursor, server_version: int) -> ReqMktData:
    c.skip("version")
    req_id = c.request_id()
    contract = c.contract()
    if contract.sec_type.upper() == "BAG":
        c.repeated("comboLegs", 4)
    if c.flag("deltaNeutralContract"):
        c.skip("deltaNeutralContract.conId", "deltaNeutralContract.delta", "deltaNeutralContract.price")
    generic = c.text("genericTickList")
    snapshot = c.flag("snapshot")
    return ReqMktData(req_id, contract, generic, snapshot)


def _executions(c: Cursor, server_version: int) -> ReqExecutions:
    c.skip("version")
    req_id = c.request_id()
    return ReqExecutions(req_id, c.integer("clientId"), c.text("acctCode").strip(), c.text("time").strip(),
                         c.text("symbol").strip(), c.text("secType").strip(), c.text("exchange").strip(),
                         c.text("side").strip().upper())


def _versioned(build: Callable[[Cursor], Request]) -> Callable[[Cursor, int], Request]:
    def parse(c: Cursor, server_version: int) -> Request:
        c.skip("version")
        return build(c)

    return parse


def _bare(build: Callable[[Cursor], Request]) -> Callable[[Cursor, int], Request]:
    return lambda c, server_version: build(c)


def _rt_bars(c: Cursor) -> ReqRealTimeBars:
    req_id = c.request_id()
    return ReqRealTimeBars(req_id, c.contract(), c.integer("barSize"), c.text("whatToShow").strip(), c.flag("useRTH"))


def _cancel(kind: str, versioned: bool = True) -> Callable[[Cursor, int], Request]:
    def parse(c: Cursor, server_version: int) -> Request:
        if versioned:
            c.skip("version")
        return Cancel(kind, c.request_id())

    return parse


PARSERS: dict[int, tuple[str, Callable[[Cursor, int], Request]]] = {
    1: ("reqMktData", _mkt_data),
    2: ("cancelMktData", _cancel("mktData")),
    3: ("placeOrder", _place_order),
    4: ("cancelOrder", _versioned(lambda c: CancelOrderRequest(c.request_id("orderId")))),
    5: ("reqOpenOrders", _versioned(lambda c: ReqOpenOrders(all_clients=False))),
    6: ("reqAccountUpdates", _versioned(lambda c: ReqAccountUpdates(c.flag("subscribe"), c.text("acctCode").strip()))),
    7: ("reqExecutions", _executions),
    8: ("reqIds", _versioned(lambda c: ReqIds(c.integer("numIds", 1)))),
    9: ("reqContractDetails", _versioned(lambda c: ReqContractDetails(c.request_id(), c.contract()))),
    15: ("reqAutoOpenOrders", _versioned(lambda c: Simple("autoOpenOrders", int(c.flag("bAutoBind"))))),
    16: ("reqAllOpenOrders", _versioned(lambda c: ReqOpenOrders(all_clients=True))),
    17: ("reqManagedAccts", _versioned(lambda c: Simple("managedAccounts"))),
    20: ("reqHistoricalData", _historical),
    25: ("cancelHistoricalData", _cancel("historicalData")),
    49: ("reqCurrentTime", _versioned(lambda c: Simple("currentTime"))),
    50: ("reqRealTimeBars", _versioned(_rt_bars)),
    51: ("cancelRealTimeBars", _cancel("realTimeBars")),
    58: ("reqGlobalCancel", _versioned(lambda c: Simple("globalCancel"))),
    59: ("reqMarketDataType", _versioned(lambda c: Simple("marketDataType", c.integer("marketDataType", 1)))),
    61: ("reqPositions", _versioned(lambda c: Simple("positions"))),
    62: ("reqAccountSummary", _versioned(lambda c: ReqAccountSummary(c.request_id(), c.text("groupName"),
                                                                     c.text("tags")))),
    63: ("cancelAccountSummary", _cancel("accountSummary")),
    64: ("cancelPositions", _versioned(lambda c: Simple("cancelPositions"))),
    71: ("startApi", _versioned(lambda c: StartApi(c.integer("clientId"), c.text("optionalCapabilities")))),
    76: ("reqAccountUpdatesMulti", _versioned(
        lambda c: ReqAccountUpdatesMulti(c.request_id(), c.text("account").strip(), c.text("modelCode")))),
    77: ("cancelAccountUpdatesMulti", _cancel("accountUpdatesMulti")),
    99: ("reqCompletedOrders", _bare(lambda c: Simple("completedOrders", int(c.flag("apiOnly"))))),
}

# Requests this simulator does not serve, and where their request id sits (so the error reaches the
# waiting request instead of leaving it to time out): message id -> index of the reqId field.
UNSUPPORTED_REQ_ID_AT: dict[int, int] = {
    10: 2, 19: 4, 21: 2, 22: 1, 52: 2, 54: 2, 55: 2, 78: 1, 79: 1, 81: 1, 83: 1, 84: 1, 86: 1, 87: 1,
    88: 1, 92: 1, 94: 1, 96: 1, 97: 1, 100: 1, 102: 1, 104: 1,
}


def parse_request(fields: list[str], server_version: int) -> Request:
    """One client message -> a request. Raises RequestError (320/321) naming the field."""
    if not fields or not fields[0].strip():
        raise RequestError(320, "Error reading request: an empty message (no message id)")
    try:
        msg_id = int(fields[0])
    except ValueError:
        raise RequestError(320, f"Error reading request: message id {fields[0][:20]!r} is not a number") from None
    entry = PARSERS.get(msg_id)
    if entry is None:
        at = UNSUPPORTED_REQ_ID_AT.get(msg_id, 0)
        req_id = NO_ID
        if at and at < len(fields):
            try:
                req_id = int(fields[at])
            except ValueError:
                req_id = NO_ID
        return Unsupported(msg_id, req_id)
    name, parser = entry
    return parser(Cursor(fields, name), server_version)
