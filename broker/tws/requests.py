# The requests a client sends, as frozen values: what `broker.tws.parse` makes of each message,
# and what the engine serves. `RequestError` is a message that cannot be served as sent: the engine
# answers it with the IB error it carries (320 unreadable, 321 invalid, ...) naming the field.
from __future__ import annotations

import attrs

NO_ID = -1


class RequestError(Exception):
    """A message that cannot be served as sent: answered with IB error `code`, never a crash."""

    def __init__(self, code: int, message: str, req_id: int = NO_ID) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.req_id = req_id


@attrs.frozen
class ContractSpec:
    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade: str = ""
    strike: float | None = None
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


# -- the requests ------------------------------------------------------------------------------


@attrs.frozen
class StartApi:
    client_id: int
    capabilities: str = ""


@attrs.frozen
class PlaceOrderRequest:
    order_id: int
    contract: ContractSpec
    action: str
    quantity: float | None
    order_type: str
    limit_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    oca_type: int
    what_if: bool = False


@attrs.frozen
class CancelOrderRequest:
    order_id: int


@attrs.frozen
class ReqOpenOrders:
    all_clients: bool


@attrs.frozen
class ReqAccountUpdates:
    subscribe: bool
    account: str


@attrs.frozen
class ReqExecutions:
    req_id: int
    client_id: int
    account: str
    time: str
    symbol: str
    sec_type: str
    exchange: str
    side: str


@attrs.frozen
class ReqIds:
    count: int


@attrs.frozen
class ReqContractDetails:
    req_id: int
    contract: ContractSpec


@attrs.frozen
class ReqMktData:
    req_id: int
    contract: ContractSpec
    generic_ticks: str
    snapshot: bool


@attrs.frozen
class ReqHistoricalData:
    req_id: int
    contract: ContractSpec
    end: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool


@attrs.frozen
class ReqRealTimeBars:
    req_id: int
    contract: ContractSpec
    bar_size: int
    what_to_show: str
    use_rth: bool


@attrs.frozen
class ReqAccountSummary:
    req_id: int
    group: str
    tags: str


@attrs.frozen
class ReqAccountUpdatesMulti:
    req_id: int
    account: str
    model_code: str


@attrs.frozen
class Cancel:
    """A cancel of a subscription by its request id (market data, bars, account summary, ...)."""

    kind: str
    req_id: int


@attrs.frozen
class Simple:
    """A request with nothing to read: reqPositions, reqCurrentTime, reqManagedAccts, ..."""

    kind: str
    value: int = 0


@attrs.frozen
class Unsupported:
    msg_id: int
    req_id: int = NO_ID


Request = (
    StartApi | PlaceOrderRequest | CancelOrderRequest | ReqOpenOrders | ReqAccountUpdates | ReqExecutions
    | ReqIds | ReqContractDetails | ReqMktData | ReqHistoricalData | ReqRealTimeBars | ReqAccountSummary
    | ReqAccountUpdatesMulti | Cancel | Simple | Unsupported
)

