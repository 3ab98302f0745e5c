"""The reconnect schedule: bounded exponential back-off with jitter, deterministic under a seed.

How it works: attempt k (from 0) waits `min(base * factor**k, cap / (1 + jitter))`, scaled by a
factor drawn uniformly from `[1 - jitter, 1 + jitter]` by the injected `random.Random`: never more
than `cap`, and jittered even once capped (clipping at `cap` would put the capped waits back in
step). So many clients that lost the same Gateway do not knock again in step, the wait never
grows past `cap`, and with `max_attempts` set the schedule ends (None: it goes on forever, which
is what a supervisor watching open positions wants). The schedule is a plain generator of
seconds: the adapter sleeps on it with an injected sleep, so tests read it without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import attrs


def _positive(inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"Backoff.{attribute.name} must be > 0, got {value!r}")


@attrs.frozen
class Backoff:
    base: float = attrs.field(default=0.5, validator=_positive)  # seconds before the first attempt
    factor: float = attrs.field(default=2.0, validator=_positive)
    cap: float = attrs.field(default=30.0, validator=_positive)  # no wait is longer than this
    jitter: float = 0.2  # +/- this fraction of each wait
    max_attempts: int | None = None  # None: keep trying

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ValueError(f"Backoff.jitter must be in [0, 1), got {self.jitter!r}")
        if self.factor < 1:
            raise ValueError(f"Backoff.factor must be >= 1, got {self.factor!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"Backoff.max_attempts must be >= 1 or None, got {self.max_attempts!r}")

    def envelope(self, attempt: int) -> float:
        """The wait before `attempt` (0-based) without jitter."""
        return min(self.cap / (1 + self.jitter), self.base * self.factor ** min(attempt, 64))

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The waits, one per attempt, in order."""
        attempt = 0
        while self.max_attempts is None or attempt < self.max_attempts:
            wait = self.envelope(attempt) * (1 + self.jitter * rng.uniform(-1.0, 1.0))
            yield wait
            attempt += 1
