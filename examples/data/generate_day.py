"""Write a realistic trading day of 1-minute bars to `examples/data/breakout_day.csv`.

    python examples/data/generate_day.py            # the bundled file (default seed)
    python examples/data/generate_day.py --seed 7 --out /tmp/other_day.csv

How the day is built: 390 bars, 09:30-15:59 America/New_York on Thursday 2024-03-14 (timestamps
carry their UTC offset, -04:00). The price is a seeded random walk pinned to a few anchor prices by
Brownian bridges (ten ticks a minute, so every bar has an honest high and low): an opening range
between about 99.5 and 100.5 for the first half hour, a quiet drift up under the range high, a
breakout around 10:20-10:25, a trend that reaches the targets below between 11:00 and about
12:30, then an afternoon fade. Volume is U-shaped (heavy open and close, light lunch) with a burst
on the breakout. Only the standard library is used, so the file is the same on every machine:
`tests/sim/test_sim_data.py` regenerates it and compares byte for byte.

Levels for a long breakout ladder of 100 shares on the bundled file (default seed 20240314):

    opening range (09:30-09:59)   high 100.49, low 99.45
    breakout level                100.49  (the opening-range high)
    entry                         buy stop-limit 100 sh, stop 100.54, limit 100.70
    take-profits                  TP1 101.20 (40 sh), TP2 101.70 (30 sh), TP3 102.40 (30 sh)
    stop                          99.95  (just under the opening range's midpoint, 99.97)

On the simulated exchange (default SimConfig) the entry triggers and fills at 100.54 at 10:19,
TP1 fills at 101.20 at 10:47, TP2 at 101.71 at 11:40 (that bar opens above the target) and TP3
at 102.40 at 12:20; the high of the day is 102.78 at 12:38. The stop is never touched: the low
after the entry is 100.40, and after TP1 the price stays above the entry (a stop moved to
break-even survives; moved to TP1's price after TP2, it survives too: the low between 11:40 and
12:20 is 101.46). `tests/sim/test_sim_data.py` replays exactly this ladder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import random
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_SEED = 20240314
DEFAULT_OUT = Path(__file__).with_name("breakout_day.csv")
DAY = dt.date(2024, 3, 14)
TZ = ZoneInfo("America/New_York")
MINUTES = 390
TICKS_PER_MINUTE = 10
TICK_SIGMA = 0.03  # dollars per tick of the random walk

# (minute after 09:30, price): the walk passes through these exactly
ANCHORS = [
    (0, 100.00),
    (6, 100.38),
    (13, 99.55),
    (21, 100.30),
    (29, 99.85),
    (38, 100.10),
    (49, 100.40),
    (53, 100.85),
    (62, 100.95),
    (90, 101.45),
    (112, 101.30),
    (140, 101.85),
    (175, 102.45),
    (215, 102.55),
    (250, 102.05),
    (300, 101.55),
    (350, 101.80),
    (MINUTES, 101.65),
]


def walk(rng: random.Random) -> list[float]:
    """Tick prices for the whole day: linear between anchors plus a Brownian bridge."""
    prices: list[float] = []
    for (m0, p0), (m1, p1) in itertools.pairwise(ANCHORS):
        steps = (m1 - m0) * TICKS_PER_MINUTE
        w = [0.0]
        for _ in range(steps):
            w.append(w[-1] + rng.gauss(0.0, TICK_SIGMA))
        for k in range(steps):
            frac = k / steps
            prices.append(p0 + (p1 - p0) * frac + w[k] - frac * w[steps])
    return prices


def volume(rng: random.Random, minute: int) -> int:
    u = (minute - MINUTES / 2) / (MINUTES / 2)
    shape = 0.35 + 2.2 * u * u
    if 50 <= minute <= 56:  # the breakout draws a crowd
        shape *= 3.0
    return int(round(60_000 * shape * math.exp(rng.gauss(0.0, 0.25)), -2))


def render(seed: int = DEFAULT_SEED) -> str:
    rng = random.Random(seed)
    ticks = walk(rng)
    start = dt.datetime.combine(DAY, dt.time(9, 30), tzinfo=TZ)
    lines = ["timestamp,open,high,low,close,volume"]
    for minute in range(MINUTES):
        chunk = [round(p, 2) for p in ticks[minute * TICKS_PER_MINUTE : (minute + 1) * TICKS_PER_MINUTE]]
        stamp = (start + dt.timedelta(minutes=minute)).isoformat()
        o, h, lo, c = chunk[0], max(chunk), min(chunk), chunk[-1]
        lines.append(f"{stamp},{o:.2f},{h:.2f},{lo:.2f},{c:.2f},{volume(rng, minute)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.write_text(render(args.seed))
    print(f"wrote {args.out} ({MINUTES} bars, seed {args.seed})")


if __name__ == "__main__":
    main()
