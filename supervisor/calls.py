"""The calls a caller makes on the supervisor, as values: what the journal records beside the
broker events so that replaying both, in order and at the recorded times, rebuilds every machine.

`apply(supervisor, value)` performs one recorded input: a call or a broker event.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import attrs

from supervisor import codec
from supervisor.plan import TradePlan
from supervisor.port import BrokerEvent, BrokerTruth, Command

if TYPE_CHECKING:
    from supervisor.core import Supervisor


@attrs.frozen
class Arm:
    plan: TradePlan


@attrs.frozen
class Trigger:
    trade_id: str
    source_time: float | None = None


@attrs.frozen
class Cancel:
    trade_id: str


@attrs.frozen
class Expire:
    trade_id: str


@attrs.frozen
class Flatten:
    trade_id: str
    reason: str = "requested"


@attrs.frozen
class Tick:
    pass


@attrs.frozen
class Reconcile:
    truth: BrokerTruth


Call = Arm | Trigger | Cancel | Expire | Flatten | Tick | Reconcile
CALLS: tuple[type[Any], ...] = (TradePlan, Arm, Trigger, Cancel, Expire, Flatten, Tick, Reconcile)
for _cls in CALLS:
    if not codec.is_registered(_cls):
        codec.register(_cls)


def apply(supervisor: Supervisor, value: object) -> list[Command]:
    """Perform one recorded input on the supervisor."""
    if isinstance(value, Arm):
        return supervisor.arm(value.plan)
    if isinstance(value, Trigger):
        return supervisor.trigger(value.trade_id, value.source_time)
    if isinstance(value, Cancel):
        return supervisor.cancel(value.trade_id)
    if isinstance(value, Expire):
        return supervisor.expire(value.trade_id)
    if isinstance(value, Flatten):
        return supervisor.flatten(value.trade_id, value.reason)
    if isinstance(value, Tick):
        return supervisor.tick()
    if isinstance(value, Reconcile):
        return supervisor.reconcile(value.truth)
    if isinstance(value, typing.get_args(BrokerEvent)):
        return supervisor.handle(value)
    return []  # a record beside the supervisor's inputs (the risk book's kill switch, a note)
