"""Reading the journal: the records as they were appended, and the audit built from them.

    python examples/read_journal.py [JOURNAL]

With no argument it first records the documented breakout on the simulated exchange into a
temporary journal (`order-supervisor breakout arm ... --journal`). Then it reads the journal
read-only: every record has a `seq`, a `kind` (broker_event, command, supervisor_event, meta), the
clock's `wall` time and the decoded `value` (a frozen event or command, or a meta dict such as a
watcher note or a bar). The audit (`broker.audit.build`) rebuilds the trades from the inputs and
reads quantities and prices from executions only; its JSON form is schema 1
(`order-supervisor trades --json`).
"""

from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from broker.audit import build, read_journal, to_json
from broker.cli import main as cli
from supervisor.port import ExecutionReported


def record_a_day(path: Path) -> None:
    args = ["breakout", "arm", "SIM", "--level", "100.49", "--qty", "100", "--tp", "101.2-101.7-102.4",
            "--tp-alloc", "40-30-30", "--sl", "99.95", "--entry", "market", "--watch-after", "30",
            "--journal", str(path)]
    result = CliRunner().invoke(cli, args)
    if result.exit_code != 0:
        raise SystemExit(result.output)


def show(path: Path) -> int:
    records = read_journal(path)
    kinds = collections.Counter(record.kind for record in records)
    print(f"{path.name}: {len(records)} records: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    for record in records:
        if record.kind == "broker_event" and isinstance(record.value, ExecutionReported):
            e = record.value
            print(f"  seq {record.seq:>4}  execution {e.order_ref:<16} {e.action.value} {e.qty} @ {e.price:g}")
        elif record.kind == "meta" and "watcher" in record.value:
            note = record.value["watcher"]
            print(f"  seq {record.seq:>4}  watcher {note['trade_id']} {note['event']} {note['detail']}".rstrip())
    audit = to_json(build(records))
    for trade in audit["trades"]:
        legs = ", ".join(f"{leg['leg']} {leg['executed_qty']}/{leg['intended_qty']}" for leg in trade["legs"])
        print(f"audit (schema {audit['schema']}): {trade['trade_id']} {trade['state']}, position "
              f"{trade['position']}, realized P&L {trade['realized_pnl']:.2f}: {legs}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        raise SystemExit(show(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "day.sqlite"
        record_a_day(journal)
        raise SystemExit(show(journal))
