# How this machine works: a `StopLeg` is a stop-loss order. Its lifecycle is the `Leg`'s (the
# same declared table); what it adds is repricing: at ladder milestones the supervisor moves its
# stop with `request_replace(stop_price=...)` (and resizes it with `qty=...`), a transition that
# can fail (`replace_reject`), in which case the old stop stays working and the failure is
# recorded on the model.
from __future__ import annotations

from machines.leg import Leg
from machines.lifecycle import LegModel


class StopLeg(Leg):
    def __init__(self, model: LegModel) -> None:
        if model.stop_price is None or model.stop_price <= 0:
            raise ValueError(f"stop_price must be a positive price, got {model.stop_price!r} ({model.leg})")
        super().__init__(model)

    def before_request_replace(self, qty: int | None = None, stop_price: float | None = None) -> None:
        if qty is None and stop_price is None:
            raise ValueError(f"{self.model.leg}: a stop replace needs a new stop_price or qty, got neither")
        if stop_price is not None and stop_price <= 0:
            raise ValueError(f"{self.model.leg}: stop_price must be a positive price, got {stop_price!r}")
        if qty is not None and qty < self.model.filled_qty:
            raise ValueError(f"{self.model.leg}: qty={qty!r} is below the {self.model.filled_qty} already filled")
