"""What a benchmark figure is, how its samples become a median and a p99, and how it is printed.

A `Figure` is one measured answer: the median and p99 of its samples (microseconds), the same of
its reference where it has one (bare ib_async, or the bare library), the ratio of the medians, the
budget the issue gives it, and whether it was met. Figures that are not durations (memory, events
per second) carry their figure in `value`/`unit` beside the per-sample timings. A figure that
missed its budget says why in `reason`; `details` holds what else was counted (round trips,
samples, breakdowns) so the printed line and the JSON tell the same story.

Percentiles are nearest-rank over the sorted samples: p99 of 100 samples is the 99th smallest,
never an interpolation between two runs that did not happen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `samples` (need not be sorted)."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


@attrs.frozen
class Figure:
    name: str
    median_us: float | None
    p99_us: float | None
    reference_median_us: float | None
    ratio: float | None
    budget: str
    met: bool | None  # None: the issue gives no budget for it
    samples: int = 0
    reference_p99_us: float | None = None
    value: float | None = None  # the figure itself when it is not a duration (KB, events/s)
    unit: str = ""
    reason: str = ""  # why it missed (or what limits it)
    details: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "median_us": _round(self.median_us), "p99_us": _round(self.p99_us),
            "reference_median_us": _round(self.reference_median_us), "ratio": _round(self.ratio, 3),
            "budget": self.budget, "met": self.met, "samples": self.samples,
            "reference_p99_us": _round(self.reference_p99_us), "value": _round(self.value, 3), "unit": self.unit,
            "reason": self.reason, "details": self.details,
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def timed(name: str, samples_ns: Sequence[int], *, reference_ns: Sequence[int] | None = None,
          budget: str, median_x: float | None = None, p99_x: float | None = None,
          limit_median_us: float | None = None, limit_p99_us: float | None = None,
          reason: str = "", details: dict[str, Any] | None = None) -> Figure:
    """A duration figure from nanosecond samples. Its budget is a ratio to the reference's median
    (`median_x`) and p99 (`p99_x`), or absolute limits in microseconds; met when every one holds."""
    us = [s / 1e3 for s in samples_ns]
    med, p99 = median(us), percentile(us, 99)
    ref_med = ref_p99 = ratio = None
    if reference_ns:
        ref = [s / 1e3 for s in reference_ns]
        ref_med, ref_p99 = median(ref), percentile(ref, 99)
        ratio = med / ref_med if ref_med > 0 else None
    checks: list[bool] = []
    if median_x is not None and ref_med is not None:
        checks.append(med <= median_x * ref_med)
    if p99_x is not None and ref_p99 is not None:
        checks.append(p99 <= p99_x * ref_p99)
    if limit_median_us is not None:
        checks.append(med <= limit_median_us)
    if limit_p99_us is not None:
        checks.append(p99 <= limit_p99_us)
    met = all(checks) if checks else None
    return Figure(name, med, p99, ref_med, ratio, budget, met, samples=len(us), reference_p99_us=ref_p99,
                  reason="" if met else reason, details=details or {})


def render(figures: Sequence[Figure], lines: Sequence[str] = ()) -> str:
    """The table a person reads: one line per figure, then the notes (`lines`)."""
    head = (f"{'figure':<28} {'median':>10} {'p99':>10} {'reference':>10} {'ratio':>6}  "
            f"{'value':>14}  {'budget':<40} status")
    out = [head, "-" * len(head)]
    for f in figures:
        value = "" if f.value is None else f"{_num(f.value)} {f.unit}"
        status = {True: "met", False: "MISSING", None: "-"}[f.met]
        out.append(f"{f.name:<28} {_us(f.median_us):>10} {_us(f.p99_us):>10} {_us(f.reference_median_us):>10} "
                   f"{'' if f.ratio is None else f'{f.ratio:.2f}x':>6}  {value:>14}  {f.budget:<40} {status}")
    misses = [f for f in figures if f.met is False]
    if misses:
        out.append("")
        out += [f"MISSING {f.name}: {f.reason}" for f in misses]
    if lines:
        out.append("")
        out += list(lines)
    return "\n".join(out)


def _us(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value / 1e3:,.1f} ms"
    return f"{value:,.1f} us"


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
