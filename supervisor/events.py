"""Events the supervisor emits: what became true, in the past tense, with the figures that prove it.

Every event carries `trade_id`, `leg` (empty when it concerns the whole trade) and `time` (the
injected clock's reading when it was emitted). They are frozen values; the journal stores them
and the CLI prints them.
"""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class SupervisorEvent:
    trade_id: str
    leg: str = ""
    time: float = 0.0


@attrs.frozen(kw_only=True)
class TradeArmed(SupervisorEvent):
    symbol: str
    quantity: int


@attrs.frozen(kw_only=True)
class OrderIntended(SupervisorEvent):
    order_ref: str
    quantity: int
    order_type: str
    limit_price: float | None = None
    stop_price: float | None = None


@attrs.frozen(kw_only=True)
class OrderSubmitted(SupervisorEvent):
    order_ref: str
    order_id: int | None


@attrs.frozen(kw_only=True)
class OrderAcknowledged(SupervisorEvent):
    order_ref: str
    order_id: int | None
    broker_qty: int


@attrs.frozen(kw_only=True)
class LegTransitioned(SupervisorEvent):
    machine: str
    event: str
    source: str
    target: str


@attrs.frozen(kw_only=True)
class LegPartiallyFilled(SupervisorEvent):
    exec_id: str
    qty: int
    price: float
    filled_qty: int
    order_qty: int


@attrs.frozen(kw_only=True)
class LegFilled(SupervisorEvent):
    exec_id: str
    filled_qty: int
    avg_price: float


@attrs.frozen(kw_only=True)
class LateFill(SupervisorEvent):
    exec_id: str
    qty: int
    price: float
    state: str


@attrs.frozen(kw_only=True)
class DuplicateExecutionIgnored(SupervisorEvent):
    exec_id: str


@attrs.frozen(kw_only=True)
class ExecutionCorrected(SupervisorEvent):
    exec_id: str
    qty: int
    price: float
    filled_qty: int


@attrs.frozen(kw_only=True)
class LegCancelled(SupervisorEvent):
    order_ref: str
    filled_qty: int
    reason: str = ""


@attrs.frozen(kw_only=True)
class LegRejected(SupervisorEvent):
    order_ref: str
    code: int
    reason: str


@attrs.frozen(kw_only=True)
class StopRepriced(SupervisorEvent):
    old_price: float | None
    new_price: float
    milestone: int


@attrs.frozen(kw_only=True)
class StopRepriceFailed(SupervisorEvent):
    kept_price: float | None
    wanted_price: float
    reason: str


@attrs.frozen(kw_only=True)
class QuantityMismatch(SupervisorEvent):
    order_ref: str
    intended_qty: int
    broker_qty: int
    policy: str


@attrs.frozen(kw_only=True)
class StatusFillMismatch(SupervisorEvent):
    order_ref: str
    status: str
    status_filled: int
    executed_qty: int


@attrs.frozen(kw_only=True)
class InvariantViolated(SupervisorEvent):
    invariant: str
    detail: str
    entry_filled: int = 0
    exit_filled: int = 0


@attrs.frozen(kw_only=True)
class CoverageGap(SupervisorEvent):
    position: int
    stop_coverage: int
    uncovered: int


@attrs.frozen(kw_only=True)
class EmergencyStopPlaced(SupervisorEvent):
    order_ref: str
    quantity: int
    stop_price: float


@attrs.frozen(kw_only=True)
class FlattenRequested(SupervisorEvent):
    """A flatten began: the entry and every exit are cancelled, then what is held goes out."""

    reason: str


@attrs.frozen(kw_only=True)
class FlattenSent(SupervisorEvent):
    """What the executions say is held went out in a reduce-only market order."""

    order_ref: str
    quantity: int


@attrs.frozen(kw_only=True)
class ExitResized(SupervisorEvent):
    """A modify of an exit's quantity was acknowledged (a level's stop grew, an exit shrank)."""

    order_ref: str
    quantity: int


@attrs.frozen(kw_only=True)
class ExitsPlaced(SupervisorEvent):
    quantities: tuple[int, ...]
    dropped_levels: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class LadderLevelDropped(SupervisorEvent):
    level: int
    reason: str


@attrs.frozen(kw_only=True)
class TargetsCrossed(SupervisorEvent):
    """The entry's first execution reached take-profits (`crossed`, 1-based levels): `action` is what
    the ladder does (keep, drop, shift); `targets` and `allocation` are the ladder that goes out."""

    fill_price: float
    planned_targets: tuple[float, ...]
    crossed: tuple[int, ...]
    action: str
    targets: tuple[float, ...]
    allocation: tuple[int, ...]
    reason: str = ""


@attrs.frozen(kw_only=True)
class OrphanExitDetected(SupervisorEvent):
    order_ref: str
    working_qty: int
    position: int
    policy: str


@attrs.frozen(kw_only=True)
class ExitBlocked(SupervisorEvent):
    order_ref: str
    quantity: int
    working_exits: int
    position: int
    reason: str


@attrs.frozen(kw_only=True)
class SubmissionStalled(SupervisorEvent):
    order_ref: str
    stage: str  # "send" (intended, not sent) or "ack" (sent, not acknowledged)
    waited: float


@attrs.frozen(kw_only=True)
class SubmissionResolved(SupervisorEvent):
    order_ref: str
    stage: str


@attrs.frozen(kw_only=True)
class UnknownOrderEvent(SupervisorEvent):
    order_ref: str
    order_id: int | None
    event_type: str


@attrs.frozen(kw_only=True)
class InvalidTransition(SupervisorEvent):
    machine: str
    state: str
    event: str
    detail: str


@attrs.frozen(kw_only=True)
class TradeClosed(SupervisorEvent):
    entry_filled: int
    exit_filled: int
    realized_pnl: float


@attrs.frozen(kw_only=True)
class TradeAborted(SupervisorEvent):
    reason: str


@attrs.frozen(kw_only=True)
class PositionMismatch(SupervisorEvent):
    symbol: str
    broker_position: int
    executed_position: int


@attrs.frozen(kw_only=True)
class PositionClosedOutside(SupervisorEvent):
    """Broker truth holds fewer shares in the trade's direction than our executions say: `shares` of
    the trade count as closed outside this client (0: none any more), so its exits shrink to fit."""

    symbol: str
    shares: int
    broker_position: int
    executed: int


@attrs.frozen(kw_only=True)
class ForeignOrderSeen(SupervisorEvent):
    order_ref: str
    order_id: int | None


@attrs.frozen(kw_only=True)
class OrderAdopted(SupervisorEvent):
    order_ref: str
    order_id: int | None


@attrs.frozen(kw_only=True)
class ReconciliationCompleted(SupervisorEvent):
    missed_executions: int = 0
    adopted: int = 0
    foreign: int = 0
    vanished: int = 0
    orphans: int = 0
    coverage_gaps: int = 0
    position_mismatches: int = 0


@attrs.frozen(kw_only=True)
class CommandRefused(SupervisorEvent):
    """The broker refused a cancel (161, 10148) or a modify (104, 10147): the order stays as it was."""

    order_ref: str
    command: str  # "cancel" or "modify"
    code: int
    reason: str
    refusals: int  # how many times this order refused this kind of command so far


@attrs.frozen(kw_only=True)
class RetryLimitReached(SupervisorEvent):
    """A refused command reached `Policy`'s retry limit: it is not sent again."""

    order_ref: str
    command: str
    refusals: int
    action: str  # what the supervisor does instead ("keep the old stop", "alert", ...)


@attrs.frozen(kw_only=True)
class ProtectionFailed(SupervisorEvent):
    """Shares are without a stop and no more can be placed (repairs and emergency stops exhausted,
    or every attempt refused): a person must act."""

    position: int
    stop_coverage: int
    reason: str


@attrs.frozen(kw_only=True)
class CoverageRestored(SupervisorEvent):
    """A coverage gap closed: every executed share is under a working stop again."""

    position: int
    stop_coverage: int


@attrs.frozen(kw_only=True)
class BrokerNoticeReceived(SupervisorEvent):
    """A broker message that changes no order (information, connectivity warnings): kept for the record."""

    code: int
    message: str


@attrs.frozen(kw_only=True)
class LegRestored(SupervisorEvent):
    """A ladder level lost its stop or its target with shares left: a new leg takes its place in the
    same OCA group."""

    order_ref: str
    replaces: str
    quantity: int
    reason: str
