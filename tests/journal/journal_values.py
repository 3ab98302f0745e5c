"""Small factories of journal values shared by the journal tests."""

from __future__ import annotations

from supervisor import events, port


def execution(i: int, *, trade: str = "T1", leg: str = "entry") -> port.ExecutionReported:
    return port.ExecutionReported(
        order_ref=f"{trade}:{leg}",
        order_id=100 + i % 7,
        exec_id=f"0001f4e8.{i:08d}.01",
        action=port.Action.BUY,
        qty=1 + i % 50,
        price=101.25 + i / 100,
        time=1_700_000_000.0 + i,
        symbol="AAPL",
    )


def mixed(i: int) -> tuple[str, object]:
    """A (kind, value) for record i, cycling through the four kinds."""
    match i % 4:
        case 0:
            return "broker_event", execution(i)
        case 1:
            return "command", port.PlaceOrder("T1:tp1", "AAPL", port.Action.SELL, port.OrderType.LIMIT, 7, 105.0)
        case 2:
            return "supervisor_event", events.LegFilled(
                trade_id="T1", leg="tp1", exec_id=f"e{i}", filled_qty=7, avg_price=105.0, time=float(i)
            )
        case _:
            return "meta", {"note": f"record {i}", "levels": [0.7, 0.3]}
