"""Small factories for broker events, so scenarios read as the broker's conversation."""

from __future__ import annotations

import itertools

from supervisor.plan import EntryType, Side, TradePlan
from supervisor.port import (
    Action,
    CancelRejected,
    ExecutionReported,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderSent,
    ReplaceAccepted,
    ReplaceRejected,
    StatusObserved,
)

_ids = itertools.count(1000)


def plan(trade_id: str = "T1", quantity: int = 100, tps: tuple[float, ...] = (11.0, 12.0, 13.0),
         stop: float = 9.0, **kw: object) -> TradePlan:
    fields: dict[str, object] = {
        "trade_id": trade_id, "symbol": "ABC", "side": Side.LONG, "quantity": quantity, "entry_price": 10.0,
        "entry_type": EntryType.LIMIT, "take_profits": tps, "stop_losses": (stop,),
    }
    fields.update(kw)
    return TradePlan(**fields)  # type: ignore[arg-type]


def ref(leg: str, trade_id: str = "T1") -> str:
    return f"{trade_id}:{leg}"


def sent(leg: str, order_id: int | None = None, trade_id: str = "T1") -> OrderSent:
    return OrderSent(order_ref=ref(leg, trade_id), order_id=order_id, time=0.0)


def accepted(leg: str, qty: int, order_id: int | None = None, trade_id: str = "T1") -> OrderAccepted:
    return OrderAccepted(order_ref=ref(leg, trade_id), order_id=order_id, quantity=qty)


def execution(leg: str, qty: int, price: float, exec_id: str | None = None, *, action: Action | None = None,
              trade_id: str = "T1", order_id: int | None = None) -> ExecutionReported:
    if action is None:
        action = Action.BUY if leg.startswith("entry") else Action.SELL
    return ExecutionReported(order_ref=ref(leg, trade_id), order_id=order_id,
                             exec_id=exec_id or f"e{next(_ids)}", action=action, qty=qty, price=price)


def cancelled(leg: str, trade_id: str = "T1", reason: str = "") -> OrderCancelled:
    return OrderCancelled(order_ref=ref(leg, trade_id), order_id=None, reason=reason)


def rejected(leg: str, code: int = 201, trade_id: str = "T1") -> OrderRejected:
    return OrderRejected(order_ref=ref(leg, trade_id), order_id=None, code=code, reason="rejected")


def cancel_rejected(leg: str, trade_id: str = "T1") -> CancelRejected:
    return CancelRejected(order_ref=ref(leg, trade_id), order_id=None, code=161, reason="not cancellable")


def replace_ok(leg: str, trade_id: str = "T1") -> ReplaceAccepted:
    return ReplaceAccepted(order_ref=ref(leg, trade_id), order_id=None)


def replace_refused(leg: str, code: int = 10147, trade_id: str = "T1") -> ReplaceRejected:
    return ReplaceRejected(order_ref=ref(leg, trade_id), order_id=None, code=code, reason="refused")


def status(leg: str, status_text: str, filled: int, remaining: int, trade_id: str = "T1") -> StatusObserved:
    return StatusObserved(order_ref=ref(leg, trade_id), order_id=None, status=status_text, filled=filled,
                          remaining=remaining)
