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


class TargetsCrossedAction(enum.Enum):
    KEEP = "keep"  # place the ladder as planned: a crossed target sells at once
    DROP = "drop"  # a crossed level's shares go to the next level (supervisor.crossed)
    SHIFT = "shift"  # every target moves by the entry's slippage


class OrphanAction(enum.Enum):
    WARN = "warn"
    CANCEL = "cancel"


def _non_negative(inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ValueError(f"Policy.{attribute.name} must be a finite number >= 0, got {value!r}")


def _count(inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Policy.{attribute.name} must be a whole number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class Policy:
    quantity_mismatch: MismatchAction = attrs.field(default=MismatchAction.WARN, converter=MismatchAction)
    # exits still working once a position is flat can only open one the other way: cancelled by
    # default; `warn` reports them and trusts the broker's OCA groups to end them
    orphan_exits: OrphanAction = attrs.field(default=OrphanAction.CANCEL, converter=OrphanAction)
    coverage_gaps: CoverageAction = attrs.field(default=CoverageAction.REPAIR, converter=CoverageAction)
    # the entry filled at or beyond a take-profit (a gap through TP1): what the ladder does
    targets_crossed: TargetsCrossedAction = attrs.field(default=TargetsCrossedAction.DROP,
                                                        converter=TargetsCrossedAction)
    # no executed share may stay without a stop longer than this (seconds of the injected clock)
    protection_grace: float = attrs.field(default=2.0, validator=_non_negative)
    # an intent must be handed to the socket, and a sent order acknowledged, within these
    send_deadline: float = attrs.field(default=2.0, validator=_non_negative)
    ack_deadline: float = attrs.field(default=5.0, validator=_non_negative)
    # a status snapshot may run ahead of its executions for this long before it is a mismatch
    status_grace: float = attrs.field(default=2.0, validator=_non_negative)
    # how far the broker's execution times may run behind our clock: an OCA sibling's execution
    # timed up to this long after an order's acknowledgement counts as inside the acknowledged size
    clock_tolerance: float = attrs.field(default=1.0, validator=_non_negative)
    # broker truth is asked in pieces (positions, then executions): an execution of ours this close
    # to the answer may be in one piece and not the other, so a position the broker holds short of
    # our executions counts as closed outside this client only when it is short without them too
    truth_race_window: float = attrs.field(default=5.0, validator=_non_negative)
    # Every reaction is bounded. A command the broker refused (cancel refused 161, modify refused
    # 104) is sent again only when a new fact about its order arrives, at most this many times
    # in all, and not before `retry_backoff` seconds (doubling each time) since the last refusal.
    max_cancel_retries: int = attrs.field(default=3, validator=_count)
    max_modify_retries: int = attrs.field(default=3, validator=_count)
    retry_backoff: float = attrs.field(default=1.0, validator=_non_negative)
    # an intent that never reached the broker (seen at reconciliation) is sent again this often
    max_resends: int = attrs.field(default=1, validator=_count)
    # a ladder level whose stop died with shares left is re-placed (stop and target) this often
    max_pair_repairs: int = attrs.field(default=2, validator=_count)
    # emergency stops a trade may get; past this, ProtectionFailed says no stop can be placed
    max_emergency_stops: int = attrs.field(default=3, validator=_count)
    # market orders a flatten may send for what is held (a rejected one is answered by the next)
    max_flatten_orders: int = attrs.field(default=3, validator=_count)
