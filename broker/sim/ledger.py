# How the exchange remembers what traded: every execution, in the order it happened, as the port's
# `ExecutionReported`. A correction replaces the execution it corrects in place (the corrected id
# is the old one with `.01` appended), as IB's execution list would show it after a reconnect.
# Positions are not stored: they are folded from the executions on demand (average-cost rule,
# flipping through zero opens the new side at the fill price), so they can never disagree.
from __future__ import annotations

import attrs

from supervisor.port import Action, ExecutionReported, Position


@attrs.define
class Ledger:
    executions: list[ExecutionReported] = attrs.field(factory=list)
    _index: dict[str, int] = attrs.field(factory=dict)  # exec id -> position in `executions`

    def record(self, execution: ExecutionReported) -> None:
        self._index[execution.exec_id] = len(self.executions)
        self.executions.append(execution)

    def correct(self, original_id: str, corrected: ExecutionReported) -> None:
        slot = self._index[original_id]
        self.executions[slot] = corrected
        self._index[corrected.exec_id] = slot

    def since(self, time: float | None) -> tuple[ExecutionReported, ...]:
        if time is None:
            return tuple(self.executions)
        return tuple(e for e in self.executions if e.time >= time)

    def position(self, symbol: str) -> tuple[int, float]:
        """Signed quantity and average cost of `symbol`."""
        quantity, avg = 0, 0.0
        for e in self.executions:
            if e.symbol != symbol:
                continue
            signed = e.qty if e.action is Action.BUY else -e.qty
            after = quantity + signed
            if quantity == 0 or (quantity > 0) == (signed > 0):
                avg = (avg * abs(quantity) + e.price * e.qty) / abs(after)
            elif after == 0:
                avg = 0.0
            elif (after > 0) != (quantity > 0):
                avg = e.price  # flipped through zero
            quantity = after
        return quantity, avg

    def positions(self, account: str) -> tuple[Position, ...]:
        symbols = sorted({e.symbol for e in self.executions})
        held = ((symbol, *self.position(symbol)) for symbol in symbols)
        return tuple(Position(symbol, qty, avg, account) for symbol, qty, avg in held if qty != 0)
