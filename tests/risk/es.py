"""The contract and the figures of the ES postmortem (seeds/003): ESZ5, 50 dollars a point, 0.25 tick.

08:53:13 CST: BUY 1 @ 6890.50, created unintentionally while attempting to flatten a short.
09:35:22 CST: SELL 1 @ 6856.50. No stop, no target. -1,700 dollars = (6856.50 - 6890.50) x 50.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from supervisor.plan import Side, TradePlan
from supervisor.port import Instrument, SecType

ES = Instrument("ES", SecType.FUTURE, exchange="CME", multiplier=50.0, tick_size=0.25, contract_month="202512")
CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
ENTRY_TIME = dt.datetime(2025, 12, 12, 8, 53, 13, tzinfo=CHICAGO).timestamp()
EXIT_TIME = dt.datetime(2025, 12, 12, 9, 35, 22, tzinfo=CHICAGO).timestamp()
ENTRY_PRICE = 6890.50
EXIT_PRICE = 6856.50
LOSS = -1700.0


def es_plan(trade_id: str = "es", *, side: Side = Side.LONG, quantity: int = 1, entry: float = ENTRY_PRICE,
            stop: float | None = None, target: float | None = None, targets: tuple[float, ...] = (),
            **kw: object) -> TradePlan:
    """An ES plan with the seed's entry; stop and target 10 points away unless given (`targets`:
    a ladder)."""
    away = 10.0 if side is Side.LONG else -10.0
    return TradePlan(  # type: ignore[misc]
        trade_id=trade_id, symbol="ES", instrument=ES, side=side, quantity=quantity, entry_price=entry,
        stop_losses=(stop if stop is not None else entry - away,),
        take_profits=targets or (target if target is not None else entry + away,), **kw,
    )
