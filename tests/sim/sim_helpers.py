"""Small factories for the simulated-exchange tests: bars from OHLC tuples, orders, a drain loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from broker.sim import Bar, SimBroker
from supervisor.port import Action, BrokerEvent, OrderType, PlaceOrder

NY = ZoneInfo("America/New_York")
T0 = dt.datetime(2024, 3, 14, 9, 30, tzinfo=NY).timestamp()  # a Thursday's regular open


def bars(*ohlc: tuple[float, float, float, float], start: float = T0, seconds: float = 60.0) -> list[Bar]:
    return [Bar(start + i * seconds, o, h, lo, c, 1000.0, seconds) for i, (o, h, lo, c) in enumerate(ohlc)]


def flat(n: int, price: float = 100.0, start: float = T0) -> list[Bar]:
    return bars(*[(price, price, price, price)] * n, start=start)


def order(
    ref: str,
    action: Action = Action.BUY,
    qty: int = 100,
    kind: OrderType = OrderType.MARKET,
    *,
    limit: float | None = None,
    stop: float | None = None,
    **extra: object,
) -> PlaceOrder:
    return PlaceOrder(ref, "SIM", action, kind, qty, limit, stop, **extra)  # type: ignore[arg-type]


def limit(ref: str, action: Action, price: float, qty: int = 100, **extra: object) -> PlaceOrder:
    return order(ref, action, qty, OrderType.LIMIT, limit=price, **extra)


def stop(ref: str, action: Action, price: float, qty: int = 100, **extra: object) -> PlaceOrder:
    return order(ref, action, qty, OrderType.STOP, stop=price, **extra)


def drain(sim: SimBroker, steps: int | None = None) -> list[BrokerEvent]:
    """Poll, then step and poll until the end of data (or `steps` steps): every event, in order."""
    events = list(sim.poll())
    taken = 0
    while (steps is None or taken < steps) and sim.step():
        taken += 1
        events += sim.poll()
    events += sim.poll()
    return events


def of(kind: type, events: Iterable[object]) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def names(events: Iterable[object]) -> list[str]:
    return [type(e).__name__ for e in events]
