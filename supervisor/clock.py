"""Clocks the supervisor can be given. It never reads time itself: it asks the injected clock."""

from __future__ import annotations

import attrs


@attrs.define
class ManualClock:
    """A clock that moves only when told: for tests, replays and the simulated exchange."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}: a clock does not run backwards")
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        if now < self.now:
            raise ValueError(f"now={now!r} is before the clock's {self.now!r}: a clock does not run backwards")
        self.now = now
