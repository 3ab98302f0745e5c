# The connection, account, position and market data messages the gateway writes, as ib_async 2.1's
# decoder reads them at server version 176. One function per message; each returns its fields.
from __future__ import annotations

from broker.tws.contracts import StockContract
from broker.tws.market import AggBar
from broker.tws.wire import Field

# tick types (IB): sizes and prices the simulator quotes
BID_SIZE, BID, ASK, ASK_SIZE, LAST, LAST_SIZE, HIGH, LOW, VOLUME, OPEN = 0, 1, 2, 3, 4, 5, 6, 7, 8, 14


def managed_accounts(accounts: str) -> list[Field]:
    return [15, 1, accounts]


def next_valid_id(order_id: int) -> list[Field]:
    return [9, 1, order_id]


def current_time(epoch: float) -> list[Field]:
    return [49, 1, int(epoch)]


def open_order_end() -> list[Field]:
    return [53, 1]


def completed_orders_end() -> list[Field]:
    return [102]


def exec_details_end(req_id: int) -> list[Field]:
    return [55, 1, req_id]


def position(account: str, contract: StockContract, quantity: int, avg_cost: float) -> list[Field]:
    return [61, 3, account, *contract.fields(), quantity, avg_cost]


def position_end() -> list[Field]:
    return [62, 1]


def account_value(key: str, value: str, currency: str, account: str) -> list[Field]:
    return [6, 2, key, value, currency, account]


def portfolio(contract: StockContract, quantity: int, price: float, avg_cost: float, account: str) -> list[Field]:
    value = quantity * price
    unrealized = round(value - quantity * avg_cost, 6)
    return [7, 8, *contract.portfolio_fields(), quantity, price, round(value, 6), avg_cost, unrealized, 0.0, account]


def account_time(hh_mm: str) -> list[Field]:
    return [8, 1, hh_mm]


def account_download_end(account: str) -> list[Field]:
    return [54, 1, account]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> list[Field]:
    return [63, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> list[Field]:
    return [64, 1, req_id]


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str) -> list[Field]:
    return [73, 1, req_id, account, "", key, value, currency]


def account_update_multi_end(req_id: int) -> list[Field]:
    return [74, 1, req_id]


def contract_details_end(req_id: int) -> list[Field]:
    return [52, 1, req_id]


def market_data_type(req_id: int, kind: int) -> list[Field]:
    return [58, 1, req_id, kind]


def tick_price(req_id: int, tick_type: int, price: float, size: float) -> list[Field]:
    return [1, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: float) -> list[Field]:
    return [2, 6, req_id, tick_type, size]


def tick_snapshot_end(req_id: int) -> list[Field]:
    return [57, 1, req_id]


def historical_data(req_id: int, start: str, end: str, bars: list[tuple[str, AggBar]]) -> list[Field]:
    fields: list[Field] = [17, req_id, start, end, len(bars)]
    for date, bar in bars:
        fields += [date, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.wap, bar.count]
    return fields


def historical_update(req_id: int, date: str, bar: AggBar) -> list[Field]:
    return [90, req_id, bar.count, date, bar.open, bar.close, bar.high, bar.low, bar.wap, bar.volume]


def realtime_bar(req_id: int, bar: AggBar) -> list[Field]:
    return [50, 3, req_id, int(bar.start), bar.open, bar.high, bar.low, bar.close, bar.volume, bar.wap, bar.count]
