# How this machine works: `Cover` watches one trade's stop coverage and exit exposure, the two
# promises DESIGN.md makes about a position: every executed share under a working stop (after a
# grace period), and never more working exit quantity than the position (reduce-only). The
# supervisor measures the trade after each fact and tells the machine only when the measure changed
# (`became_*`), or when a stop died while it is short (`protection_lost`), or when a grace period
# it asked for ran out (`grace_elapsed`). Its transitions record intents: start a grace period,
# report a gap and repair it, shrink exits that exceed the position, report orphans.
#
#   clear (flat, nothing working) | covered | short -> gap (grace over: CoverageGap, repair) |
#   excess (exits above the position: shrink now) | orphaned -> orphan_reported (flat with exits
#   still working past the grace period: OrphanExitDetected, cancel if the policy says so)
from __future__ import annotations

from statemachine import State, StateMachine

from machines.cursor import Cursor, Intents
from machines.lifecycle import LegModel
from machines.trade import TradeModel


class Cover(StateMachine):
    validate_final_reachability = False
    catch_errors_as_events = False

    clear = State(initial=True)
    covered = State()
    short = State()
    gap = State()
    excess = State()
    orphaned = State()
    orphan_reported = State()

    became_clear = (
        covered.to(clear) | short.to(clear) | gap.to(clear) | excess.to(clear) | orphaned.to(clear)
        | orphan_reported.to(clear) | clear.to.itself(internal=True)
    )
    became_covered = (
        clear.to(covered) | short.to(covered) | gap.to(covered, on="report_covered") | excess.to(covered)
        | orphaned.to(covered) | orphan_reported.to(covered) | covered.to.itself(internal=True)
    )
    became_short = (
        clear.to(short, on="start_grace") | covered.to(short, on="start_grace") | excess.to(short, on="start_grace")
        | orphaned.to(short, on="start_grace") | orphan_reported.to(short, on="start_grace")
        | short.to.itself(internal=True) | gap.to.itself(internal=True)
    )
    became_excess = (
        clear.to(excess, on="shrink") | covered.to(excess, on="shrink") | short.to(excess, on="shrink")
        | gap.to(excess, on="shrink") | orphaned.to(excess, on="shrink") | orphan_reported.to(excess, on="shrink")
        # a refusal or a late fill while exits still exceed the position: shrink what is left
        | excess.to.itself(internal=True, on="shrink")
    )
    # flat with exits working: reduce-only cancels them at once; the grace period is for the
    # report (an exit still working after it is an orphan the broker would not let go)
    became_orphaned = (
        clear.to(orphaned, on=["start_grace", "shrink"]) | covered.to(orphaned, on=["start_grace", "shrink"])
        | short.to(orphaned, on=["start_grace", "shrink"]) | gap.to(orphaned, on=["start_grace", "shrink"])
        | excess.to(orphaned, on=["start_grace", "shrink"])
        | orphaned.to.itself(internal=True, on="shrink") | orphan_reported.to.itself(internal=True, on="shrink")
    )
    grace_elapsed = (
        short.to(gap, on="report_gap")
        | orphaned.to(orphan_reported, on="report_orphans")
        | clear.to.itself(internal=True) | covered.to.itself(internal=True) | gap.to.itself(internal=True)
        | excess.to.itself(internal=True) | orphan_reported.to.itself(internal=True)
    )
    # a stop of the trade ended (rejected, cancelled) or a repair was refused while coverage is short
    protection_lost = (
        gap.to.itself(internal=True, on="repair")
        | clear.to.itself(internal=True) | covered.to.itself(internal=True) | short.to.itself(internal=True)
        | excess.to.itself(internal=True) | orphaned.to.itself(internal=True)
        | orphan_reported.to.itself(internal=True)
    )

    def __init__(self, model: TradeModel | None = None) -> None:
        self.intents = Intents()
        super().__init__(Cursor("cover", model or TradeModel("(none)", LegModel(leg="entry", intended_qty=1), 1)))

    @property
    def m(self) -> TradeModel:
        target: TradeModel = self.model.target
        return target

    # -- actions: intents for the supervisor -------------------------------------------------
    def start_grace(self) -> None:
        self.intents.add("start_grace", self.m)

    def report_gap(self) -> None:
        self.intents.add("report_gap", self.m)
        self.intents.add("repair", self.m)

    def repair(self) -> None:
        self.intents.add("repair", self.m)

    def report_covered(self) -> None:
        self.intents.add("covered", self.m)

    def shrink(self) -> None:
        self.intents.add("shrink", self.m)

    def report_orphans(self) -> None:
        self.intents.add("report_orphans", self.m)
