# How this machine works: a `StopLeg` is a stop-loss order (a ladder stop or an emergency stop).
# Its lifecycle is the `Leg`'s (the same declared table); what it adds is repricing: at ladder
# milestones the supervisor moves its stop with `request_replace(stop_price=...)` (and resizes it
# with `qty=...`), a transition the broker can refuse (`replace_reject`), in which case the old stop
# stays working and the refusal is counted on the model.
from __future__ import annotations

from machines.leg import Leg


class StopLeg(Leg):
    def before_request_replace(self, qty: int | None = None, stop_price: float | None = None) -> None:
        if qty is None and stop_price is None:
            raise ValueError(f"{self.m.leg}: a stop replace needs a new stop_price or qty, got neither")
        if stop_price is not None and not stop_price > 0:
            raise ValueError(f"{self.m.leg}: stop_price must be a positive price, got {stop_price!r}")
        super().before_request_replace(qty)
