"""`Policy`: the supervisor's configurable reactions and deadlines, one frozen value."""

from __future__ import annotations

import enum

import attrs


class MismatchAction(enum.Enum):
    WARN = "warn"
    REPLACE = "replace"  # cancel the wrongly sized exits and re-place independent ones


class CoverageAction(enum.Enum):
    WARN = "warn"  # report the gap only
    REPAIR = "repair"  # report it and put the uncovered shares under an emergency stop


class OrphanAction(enum.Enum):
    WARN = "warn"
    CANCEL = "cancel"


def _non_negative(inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"Policy.{attribute.name} must be >= 0 seconds, got {value!r}")


@attrs.frozen(kw_only=True)
class Policy:
    quantity_mismatch: MismatchAction = attrs.field(default=MismatchAction.WARN, converter=MismatchAction)
    orphan_exits: OrphanAction = attrs.field(default=OrphanAction.WARN, converter=OrphanAction)
    coverage_gaps: CoverageAction = attrs.field(default=CoverageAction.REPAIR, converter=CoverageAction)
    # no executed share may stay without a stop longer than this (seconds of the injected clock)
    protection_grace: float = attrs.field(default=2.0, validator=_non_negative)
    # an intent must be handed to the socket, and a sent order acknowledged, within these
    send_deadline: float = attrs.field(default=2.0, validator=_non_negative)
    ack_deadline: float = attrs.field(default=5.0, validator=_non_negative)
    # a status snapshot may run ahead of its executions for this long before it is a mismatch
    status_grace: float = attrs.field(default=2.0, validator=_non_negative)
