"""Guard mutation check: does every conjunct of every guard matter to some test?

For every declared transition with a guard, in every machine of `machines.MACHINES`, a mutant
removes ONE conjunct of the guard (`cond=["a", "b"]` loses `a`, then `b`; a single guard `a` loses
it, so the transition always may fire), and one more mutant makes the guard never hold. Each
mutant runs in a subprocess of its own: the child patches the `cond` of the declared transition in
memory (nothing on disk changes) before any machine instance is built, then runs the table row
tests and the supervisor's fast scenario tests, stopping at the first failure. A mutant no test
notices SURVIVED: either a test is missing or the conjunct is redundant. The same tests first run
once with no mutant and must pass (else every mutant would look killed).

`Leg` and `StopLeg` share their transition objects (a subclass gets the very same declaration),
so their mutants are one set, named after `Leg`. The tests that compare a declaration with its
hand-written table are left out of the runs: they would report every mutant by reading the
declaration, and the question here is whether BEHAVIOUR notices.

    python tests/mutation/mutate.py              # every mutant, two at a time
    python tests/mutation/mutate.py --list       # the mutants only
    python tests/mutation/mutate.py --only Ladder --only "Trade: entering" --jobs 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
TESTS = [
    "tests/tables/test_pair_rows.py",
    "tests/tables/test_trade_rows.py",
    "tests/tables/test_leg_rows.py",
    "tests/tables/test_account_rows.py",
    "tests/test_transition_tables.py",
    "tests/supervisor/test_protection.py",
    "tests/supervisor/test_fix_cases.py",
    "tests/supervisor/test_incidents.py",
]
# a first, quicker run: the row tests of the mutant's own machine (most mutants die there); a
# mutant that survives it runs every file of TESTS
FIRST = {
    "Leg": "tests/tables/test_leg_rows.py",
    "EntryLeg": "tests/tables/test_leg_rows.py",
    "OcaPair": "tests/tables/test_pair_rows.py",
    "Trade": "tests/tables/test_trade_rows.py",
    "Ladder": "tests/tables/test_trade_rows.py",
    "Milestones": "tests/tables/test_trade_rows.py",
    "Account": "tests/tables/test_account_rows.py",
}
# the declaration-reading tests: every mutant changes a declaration, so they would catch them all
READS_THE_DECLARATION = "not declaration and not disputed and not diff_reports"
NEVER = "mutation_never_holds"  # the guard method a "never" mutant's transition asks
BASELINE = "baseline"  # the child key that mutates nothing


@attrs.frozen
class Mutant:
    machine: str
    source: str
    event: str
    index: int  # position among the source state's declared transitions
    guard: str  # as the tables spell it
    target: str
    drop: str | None  # the conjunct removed, or None: the guard never holds

    @property
    def name(self) -> str:
        how = f"drop {self.drop}" if self.drop is not None else "never"
        return f"{self.machine}: {self.source} --{self.event} [{self.guard}]--> {self.target} / {how}"

    @property
    def key(self) -> str:
        return f"{self.machine}|{self.source}|{self.index}|{self.drop or ''}"


def mutants() -> Iterator[Mutant]:
    from machines import MACHINES

    seen: set[int] = set()
    for name, machine in MACHINES.items():
        for state in machine.states:
            for index, t in enumerate(state.transitions):
                conds = [str(c) for c in t.cond]
                if not conds or id(t) in seen:
                    continue
                seen.add(id(t))
                event = str(t.event)
                guard = " and ".join(conds)
                for conjunct in conds:
                    yield Mutant(name, state.id, event, index, guard, t.target.id, conjunct)
                yield Mutant(name, state.id, event, index, guard, t.target.id, None)


def apply(key: str) -> Mutant:
    """Patch the declared transition `key` names, in memory, before any machine is built."""
    from statemachine.callbacks import CallbackGroup, CallbackPriority

    from machines import MACHINES

    found = {m.key: m for m in mutants()}[key]
    machine = MACHINES[found.machine]
    state = next(s for s in machine.states if s.id == found.source)
    t = state.transitions.transitions[found.index]
    specs = t._specs  # python-statemachine keeps a transition's callbacks in one spec list
    if found.drop is not None:
        specs.items = [s for s in specs.items if not (s.group is CallbackGroup.COND and str(s) == found.drop)]
    else:
        setattr(machine, NEVER, lambda self, *args, **kwargs: False)
        t.cond.add(NEVER, priority=CallbackPriority.INLINE, expected_value=True)
    return found


def child(key: str, files: list[str]) -> int:
    import pytest

    if key != BASELINE:
        apply(key)
    # in this process: the mutant is patched in memory, so no worker processes (`-n 0`)
    return int(pytest.main(["-x", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", READS_THE_DECLARATION, *files]))


@attrs.frozen
class Outcome:
    mutant: Mutant
    killed: bool
    seconds: float
    first_failure: str


def run_child(key: str, files: list[str]) -> subprocess.CompletedProcess[str]:
    # this checkout's packages, whatever another install on the path holds
    path = os.pathsep.join([str(ROOT / "tests"), str(ROOT)])
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", key, *files],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def run_one(m: Mutant) -> Outcome:
    start = time.perf_counter()
    failed: list[str] = []
    for files in ([FIRST[m.machine]], TESTS):
        proc = run_child(m.key, files)
        # exit 1: a test failed (-x stops at the first); 2: collection failed (a setup the tests drive
        # no longer reaches its state); anything else but 0 is a broken run
        if proc.returncode not in (0, 1, 2):
            raise RuntimeError(f"{m.name}: pytest exited {proc.returncode}\n{proc.stdout[-2000:]}")
        failed = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        if proc.returncode != 0:
            return Outcome(m, True, time.perf_counter() - start, failed[0] if failed else "")
    return Outcome(m, False, time.perf_counter() - start, "")


def report(outcomes: list[Outcome]) -> str:
    killed = [o for o in outcomes if o.killed]
    survived = [o for o in outcomes if not o.killed]
    lines = [f"mutants: {len(outcomes)}, killed: {len(killed)}, survived: {len(survived)}"]
    by_machine: dict[str, list[int]] = {}
    for o in outcomes:
        counts = by_machine.setdefault(o.mutant.machine, [0, 0])
        counts[0 if o.killed else 1] += 1
    lines += [f"  {machine}: killed {k}, survived {s}" for machine, (k, s) in by_machine.items()]
    lines += [f"SURVIVED {o.mutant.name}" for o in survived]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[],
                        help="run the mutants whose name contains this text (repeatable: any of them)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--verbose", action="store_true", help="print each mutant's outcome as it ends")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args, files = parser.parse_known_args(argv)
    if args.child:
        return child(args.child, files)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    chosen = [m for m in mutants() if not args.only or any(text in m.name for text in args.only)]
    if not chosen:
        parser.error(f"--only {args.only!r} matches no mutant")
    if args.list:
        print("\n".join(m.name for m in chosen))
        return 0
    start = time.perf_counter()
    # the tests must pass on the machines as they are, or every mutant would look killed
    baseline = run_child(BASELINE, TESTS)
    if baseline.returncode != 0:
        print(f"the tests fail without a mutant: nothing to measure\n{baseline.stdout[-3000:]}")
        return 3
    outcomes: list[Outcome] = []

    def done(o: Outcome) -> Outcome:
        if args.verbose:
            print(f"{'killed  ' if o.killed else 'SURVIVED'} {o.seconds:5.1f}s {o.mutant.name}  {o.first_failure}",
                  flush=True)
        return o

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda m: done(run_one(m)), chosen))
    print(report(outcomes))
    print(f"({time.perf_counter() - start:.0f}s, {args.jobs} at a time)")
    return 1 if any(not o.killed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
