# The order messages the gateway writes, field for field as ib_async 2.1's decoder reads them at
# server version 176 (< 177: the orders still carry faProfile). Each function returns the message
# as a list of fields for `wire.encode`. The long ones (openOrder, completedOrder) list every field
# in decoder order with the value this simulator has for it, empty where TWS sends nothing; a
# test decodes each one with ib_async's own `Decoder`, so a shifted field fails there, not in a bot.
from __future__ import annotations

from broker.tws.records import TwsOrder
from broker.tws.wire import UNSET_DOUBLE, Field

U = UNSET_DOUBLE


def error(req_id: int, code: int, message: str) -> list[Field]:
    return [4, 2, req_id, code, message, ""]


def order_status(order: TwsOrder, status: str, filled: int, remaining: int, avg_price: float) -> list[Field]:
    return [3, order.order_id, status, filled, remaining, avg_price, order.perm_id, order.parent_id,
            order.last_fill_price, order.client_id, "", 0.0]


def _order_head(order: TwsOrder, quantity: int, limit: float | None, aux: float | None) -> list[Field]:
    r = order.request
    return [r.action, quantity, order.order_type, limit if limit is not None else U, aux if aux is not None else U,
            r.tif or "DAY", order.oca_group, r.account, "O", 0, r.order_ref]


def open_order(order: TwsOrder, status: str, quantity: int, limit: float | None, aux: float | None) -> list[Field]:
    r = order.request
    return [
        5, order.order_id, *order.contract.fields(),
        *_order_head(order, quantity, limit, aux), order.client_id, order.perm_id, r.outside_rth, False,
        0.0, "", "", "", "", "",  # discretionaryAmt, goodAfterTime, sharesAllocation, faGroup, faMethod, faPct
        "",  # faProfile (server version < 177)
        "", "", "", "", "", 0, "", "",  # modelCode, goodTillDate, rule80A, percentOffset, settlingFirm,
        # shortSaleSlot, designatedLocation, exemptCode
        0, "", "", "", "", "",  # auctionStrategy, startingPrice, stockRefPrice, delta, stockRange low/high
        "", False, False, False, "", order.oca_type,  # displaySize, block, sweep, allOrNone, minQty, ocaType
        False, False, "", order.parent_id, 0,  # eTradeOnly, firmQuoteOnly, nbboPriceCap, parentId, trigger
        "", 0, "", "",  # volatility, volatilityType, deltaNeutralOrderType (none), deltaNeutralAuxPrice
        False, 0, "", "", "", "", "",  # continuousUpdate, referencePriceType, trailStopPrice, trailingPct,
        # basisPoints, basisPointsType, comboLegsDescrip
        0, 0, 0,  # combo legs, order combo legs, smart combo routing params
        "", "", "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement (none)
        "",  # hedgeType (none)
        False, "", "", False, False,  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, no dnc
        "",  # algoStrategy (none)
        False, False, status,  # solicited, whatIf, the order state's status
        "", "", "", "", "", "", "", "", "",  # margins before / change / after
        "", "", "", "", "",  # commission, min, max, currency, warningText
        False, False,  # randomizeSize, randomizePrice
        0,  # conditions
        "", "", "", "", "", "", "", 0,  # adjusted order type, triggerPrice, trailStopPrice, lmtPriceOffset,
        # adjustedStopPrice, adjustedStopLimitPrice, adjustedTrailingAmount, adjustableTrailingUnit
        "", "", "", "",  # softDollarTier name, value, displayName; cashQty
        False, False, "", False,  # dontUseAutoPriceForHedge, isOmsContainer, discretionaryUpToLimitPrice,
        # usePriceMgmtAlgo
        "", "", False,  # duration, postToAts, autoCancelParent
        "", "", "", "", "",  # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsets
    ]


def completed_order(order: TwsOrder, *, status: str, quantity: int, filled: int, limit: float | None,
                    aux: float | None, completed_time: str, completed_status: str) -> list[Field]:
    """A finished order as `reqCompletedOrders` reports it: no order id, no client id (IB sends
    neither: a client sees orderId 0 and matches by permId and orderRef)."""
    r = order.request
    parent_perm = order.parent.perm_id if order.parent is not None else ""
    return [
        101, *order.contract.fields(),
        *_order_head(order, quantity, limit, aux), order.perm_id, r.outside_rth, False,
        0.0, "", "", "", "",  # discretionaryAmt, goodAfterTime, faGroup, faMethod, faPercentage
        "",  # faProfile (server version < 177)
        "", "", "", "", "", 0, "", "",  # modelCode, goodTillDate, rule80A, percentOffset, settlingFirm,
        # shortSaleSlot, designatedLocation, exemptCode
        "", "", "", "", "",  # startingPrice, stockRefPrice, delta, stockRange low/high
        "", False, False, "", order.oca_type, 0,  # displaySize, sweep, allOrNone, minQty, ocaType, trigger
        "", 0, "", "",  # volatility, volatilityType, deltaNeutralOrderType (none), deltaNeutralAuxPrice
        False, 0, "", "", "",  # continuousUpdate, referencePriceType, trailStopPrice, trailingPct, combo descr
        0, 0, 0,  # combo legs, order combo legs, smart combo routing params
        "", "", "",  # scale sizes, scalePriceIncrement (none)
        "",  # hedgeType (none)
        "", "", False, False,  # clearingAccount, clearingIntent, notHeld, no dnc
        "",  # algoStrategy (none)
        False, status, False, False,  # solicited, status, randomizeSize, randomizePrice
        0,  # conditions
        "", "", "", False, False,  # trailStopPrice, lmtPriceOffset, cashQty, dontUseAutoPriceForHedge, isOms
        "", filled, 0, False, "", False, False,  # autoCancelDate, filledQuantity, refFuturesConId,
        # autoCancelParent, shareholder, imbalanceOnly, routeMarketableToBbo
        parent_perm, completed_time, completed_status,
        "", "", "", "", "",  # minTradeQty, minCompeteSize, competeAgainstBestOffset, midOffsets
    ]


def exec_details(req_id: int, order: TwsOrder, *, exec_id: str, time: str, account: str, side: str, shares: int,
                 price: float, cum_qty: int, avg_price: float) -> list[Field]:
    return [
        11, req_id, order.order_id, *order.contract.fields(exchange=order.contract.exchange),
        exec_id, time, account, "ISLAND", side, shares, price, order.perm_id, order.client_id, 0,
        cum_qty, avg_price, order.request.order_ref, "", "", "", 0,  # evRule, evMultiplier, modelCode, liquidity
    ]


def commission_report(exec_id: str, commission: float, currency: str) -> list[Field]:
    # realized P&L and yield are not computed here: IB's "no value" for both
    return [59, 1, exec_id, commission, currency, U, U, ""]
