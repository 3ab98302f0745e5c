"""Small steps shared by the IB adapter tests: place an order through the port, read the events."""

from __future__ import annotations

from conftest import Connected

from supervisor.port import Action, BrokerEvent, OrderType, PlaceOrder

SYMBOL = "AAPL"


def limit(ref: str = "t1:entry", qty: int = 100, price: float = 100.0, **kwargs: object) -> PlaceOrder:
    return PlaceOrder(ref, SYMBOL, Action.BUY, OrderType.LIMIT, qty, limit_price=price, **kwargs)  # type: ignore[arg-type]


def stop(ref: str = "t1:sl1", qty: int = 100, price: float = 95.0, **kwargs: object) -> PlaceOrder:
    return PlaceOrder(ref, SYMBOL, Action.SELL, OrderType.STOP, qty, stop_price=price, **kwargs)  # type: ignore[arg-type]


def place(rig: Connected, command: PlaceOrder | None = None) -> int:
    """Place one order; its order id."""
    rig.broker.execute(command or limit())
    return rig.fake.placed[-1].order_id


def kinds(events: list[BrokerEvent]) -> list[str]:
    return [type(e).__name__ for e in events]
