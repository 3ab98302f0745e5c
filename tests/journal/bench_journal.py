"""Journal benchmark: appends of ExecutionReported per fsync policy, flush latency, open and read-back.

Run: python tests/journal/bench_journal.py [--n 100000] [--always-n N] [--dir DIR] [--jsonl]
(not collected by pytest). For each policy it prints appends/s (the caller's cost: encode + buffer,
plus the commit under "always"), per-append latency percentiles, the time the final flush() took,
then, on the resulting file, the time to open it (quick_check + checksum scan) and to read every
record back decoded.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from journal_values import execution

from supervisor.journal import FsyncPolicy, Journal


def percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def bench(directory: Path, policy: FsyncPolicy, n: int, *, jsonl: bool) -> None:
    name = f"{policy}{'-jsonl' if jsonl else ''}"
    db = directory / f"{name}.sqlite"
    values = [execution(i) for i in range(n)]
    latencies: list[int] = []
    clock = time.perf_counter_ns
    journal = Journal.open(db, fsync=policy, jsonl_path=directory / f"{name}.jsonl" if jsonl else None)
    start = clock()
    for value in values:
        t0 = clock()
        journal.append("broker_event", value)
        latencies.append(clock() - t0)
    appended = clock()
    journal.flush()
    flushed = clock()
    journal.close()
    latencies.sort()
    print(
        f"{name:>12}: {n:>7} appends  {n / ((appended - start) / 1e9):>9,.0f} appends/s  "
        f"append p50 {percentile(latencies, 0.5):6.1f} us  p99 {percentile(latencies, 0.99):7.1f} us  "
        f"max {latencies[-1] / 1000:8.1f} us  mean {statistics.fmean(latencies) / 1000:6.1f} us  "
        f"final flush {(flushed - appended) / 1e6:7.1f} ms  ({db.stat().st_size / 1e6:.1f} MB)"
    )
    t0 = clock()
    journal = Journal.open(db)
    opened = clock()
    count = sum(1 for _ in journal.records())
    read = clock()
    journal.close()
    assert count == n, (count, n)
    print(
        f"{'':>12}  open (quick_check + checksum scan) {(opened - t0) / 1e6:7.1f} ms   "
        f"read back {count / ((read - opened) / 1e9):>9,.0f} records/s decoded"
    )


def flush_latency(directory: Path, batch: int, rounds: int = 200) -> None:
    """flush() after `batch` appends, repeated: what a caller pays to make recent records durable."""
    values = [execution(i) for i in range(batch)]
    samples: list[int] = []
    with Journal.open(directory / f"flush-{batch}.sqlite", fsync="batch", batch_delay=60.0) as journal:
        for _ in range(rounds):
            for value in values:
                journal.append("broker_event", value)
            t0 = time.perf_counter_ns()
            journal.flush()
            samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    print(
        f"flush() after {batch:>4} appends (batch, synchronous=NORMAL): "
        f"p50 {percentile(samples, 0.5):7.1f} us  p99 {percentile(samples, 0.99):7.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--always-n", type=int, default=None, help="appends under fsync=always (default: --n)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary directory)")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="bench-journal-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, files in {directory}")
    try:
        bench(directory, "off", args.n, jsonl=False)
        bench(directory, "batch", args.n, jsonl=False)
        bench(directory, "batch", args.n, jsonl=True)
        bench(directory, "always", args.always_n or args.n, jsonl=False)
        for batch in (1, 10, 100):
            flush_latency(directory, batch)
    finally:
        if args.dir is None:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
