# How this machine works: a `StopLeg` is a stop-loss order. Its lifecycle is the `Leg`'s (the
# same declared table); what it adds is repricing: at ladder milestones the supervisor moves its
# stop with `request_replace(stop_price=...)`, a transition that can fail (`replace_reject`), in
# which case the old stop stays working and the failure is recorded on the model.
from __future__ import annotations

from machines.leg import Leg
from machines.lifecycle import LegModel


class StopLeg(Leg):
    def __init__(self, model: LegModel) -> None:
        if model.stop_price is None or model.stop_price <= 0:
            raise ValueError(f"stop_price must be a positive price, got {model.stop_price!r} ({model.leg})")
        super().__init__(model)

    def before_request_replace(self, stop_price: float | None = None) -> None:
        if stop_price is None or stop_price <= 0:
            raise ValueError(f"a stop reprice needs a positive stop_price, got {stop_price!r}")
