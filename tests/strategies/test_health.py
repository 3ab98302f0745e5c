"""Market-data health: the bar stream monitor as scenario tables on an injected clock, stale bars
kept from watchers, stale quotes; and the monitor watching a simulated day with a `stall` fault."""

from __future__ import annotations

import math
from typing import Any

import pytest

from broker.sim import SimBroker, parse_fault
from broker.sim.bars import Bar
from strategies.breakout import BreakoutWatcher, Trigger
from strategies.health import (
    BarStreamMonitor,
    BarStreamRecovered,
    BarStreamRecoveryFailed,
    BarStreamRecoveryStarted,
    BarStreamStalled,
    FreshBars,
    HealthPolicy,
    MonitorOutput,
    QuoteStale,
    Resubscribe,
    StaleBarIgnored,
    StreamState,
    stale_quote,
)
from supervisor.market import Quote
from supervisor.plan import Side, TradePlan

T0 = 1_710_423_000.0  # 2024-03-14 09:30 New York


def bar(end: float, close: float = 100.0, seconds: float = 60.0) -> Bar:
    return Bar(T0 + end - seconds, close, close, close, close, 10.0, seconds, "SIM")


def show(outputs: list[MonitorOutput]) -> list[tuple[Any, ...]]:
    """Each output as (name, its telling figures), so a scenario reads as a table."""
    shown: list[tuple[Any, ...]] = []
    for out in outputs:
        if isinstance(out, BarStreamStalled):
            shown.append(("stalled", out.silent_for, out.limit))
        elif isinstance(out, BarStreamRecoveryStarted):
            shown.append(("recovery", out.attempt))
        elif isinstance(out, Resubscribe):
            shown.append(("resubscribe", out.symbol, out.bar_seconds, out.attempt))
        elif isinstance(out, BarStreamRecovered):
            shown.append(("recovered", out.attempts, out.stalled_for))
        elif isinstance(out, BarStreamRecoveryFailed):
            shown.append(("failed", out.attempts, out.silent_for))
    return shown


ATTEMPT = [("recovery", 1), ("resubscribe", "SIM", 60.0, 1)]

# (action, seconds after T0, what the monitor returns, its state after); 1-minute bars: stalled
# after 180 s without a bar, 30 s between attempts, at most 3 attempts.
Step = tuple[str, float, list[tuple[Any, ...]], StreamState]
SCENARIOS: dict[str, list[Step]] = {
    "quiet until the limit, then three attempts, then it gives up, until a bar comes": [
        ("bar", 60, [], StreamState.STREAMING),
        ("bar", 120, [], StreamState.STREAMING),
        ("check", 299, [], StreamState.STREAMING),
        ("check", 300, [("stalled", 180.0, 180.0), *ATTEMPT], StreamState.RECOVERING),
        ("check", 329, [], StreamState.RECOVERING),
        ("check", 330, [("recovery", 2), ("resubscribe", "SIM", 60.0, 2)], StreamState.RECOVERING),
        ("check", 360, [("recovery", 3), ("resubscribe", "SIM", 60.0, 3)], StreamState.RECOVERING),
        ("check", 389, [], StreamState.RECOVERING),
        ("check", 390, [("failed", 3, 270.0)], StreamState.FAILED),
        ("check", 900, [], StreamState.FAILED),
        ("bar", 960, [("recovered", 3, 660.0)], StreamState.STREAMING),
        ("check", 1100, [], StreamState.STREAMING),
    ],
    "the first attempt brings the bars back; the next stall starts over": [
        ("bar", 60, [], StreamState.STREAMING),
        ("check", 240, [("stalled", 180.0, 180.0), *ATTEMPT], StreamState.RECOVERING),
        ("bar", 250, [("recovered", 1, 10.0)], StreamState.STREAMING),
        ("check", 430, [("stalled", 180.0, 180.0), *ATTEMPT], StreamState.RECOVERING),
    ],
    "no bar at all since the subscription": [
        ("check", 179, [], StreamState.STREAMING),
        ("check", 180, [("stalled", 180.0, 180.0), *ATTEMPT], StreamState.RECOVERING),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_bar_stream_scenario(name: str) -> None:
    monitor = BarStreamMonitor("SIM", 60, started=T0)
    for i, (action, at, expected, state) in enumerate(SCENARIOS[name]):
        now = T0 + at
        outputs = monitor.on_bar(bar(at), now) if action == "bar" else monitor.check(now)
        assert (show(outputs), monitor.state) == (expected, state), f"step {i}: {action} at +{at}"
        assert len(show(outputs)) == len(outputs)  # nothing unnamed came out


def test_attempts_keep_their_cooldown_across_stalls() -> None:
    monitor = BarStreamMonitor("SIM", 60, started=T0, policy=HealthPolicy(cooldown=300.0))
    assert show(monitor.check(T0 + 180)) == [("stalled", 180.0, 180.0), *ATTEMPT]
    assert show(monitor.on_bar(bar(190), T0 + 190)) == [("recovered", 1, 10.0)]
    # stalled again 180 s later, but the last re-subscription was only 190 s ago
    assert show(monitor.check(T0 + 370)) == [("stalled", 180.0, 180.0)]
    assert show(monitor.check(T0 + 479)) == []
    assert show(monitor.check(T0 + 480)) == ATTEMPT


def test_short_bars_stall_at_the_floor_not_at_three_widths() -> None:
    monitor = BarStreamMonitor("SIM", 5, started=T0)
    assert monitor.limit == 30.0  # 3 x 5 s would be 15 s: real-time bars pause longer than that
    assert monitor.check(T0 + 29) == []
    assert show(monitor.check(T0 + 30))[0] == ("stalled", 30.0, 30.0)
    assert BarStreamMonitor("SIM", 5, started=T0, policy=HealthPolicy(stall_floor=0)).limit == 15.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("stall_multiple", 0), ("stall_floor", -1), ("cooldown", math.inf), ("max_attempts", 0),
     ("max_attempts", 1.5), ("bar_max_age", math.nan), ("quote_max_age", -0.1)],
)
def test_policy_fields_are_checked(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"HealthPolicy.{field} must be"):
        HealthPolicy(**{field: value})  # type: ignore[arg-type]


def test_monitor_needs_a_bar_width() -> None:
    with pytest.raises(ValueError, match="bar_seconds must be > 0, got 0"):
        BarStreamMonitor("SIM", 0, started=T0)


# -- freshness -------------------------------------------------------------------------------------
def breakout() -> BreakoutWatcher:
    plan = TradePlan(trade_id="t", symbol="SIM", side=Side.LONG, quantity=10, entry_price=100.7,
                     take_profits=(101.2,), stop_losses=(99.95,))
    return BreakoutWatcher(plan, 100.49)


def test_a_stale_bar_never_triggers_and_does_not_spend_the_watcher() -> None:
    watcher = breakout()
    fresh = FreshBars(watcher)  # bars older than 10 s on arrival are stale
    late = bar(120, close=100.60)
    ignored = fresh.on_bar(late, late.end + 45)  # a breakout bar replayed after a stall
    assert ignored == StaleBarIgnored(symbol="SIM", time=late.end + 45, bar_end=late.end, age=45.0, limit=10.0)
    assert not watcher.done
    assert watcher.bars_watched == 0
    on_time = bar(180, close=100.55)
    signal = fresh.on_bar(on_time, on_time.end + 10)  # 10 s is still fresh
    assert isinstance(signal, Trigger)
    assert signal.price == 100.55


def test_quotes_older_than_their_limit_are_stale() -> None:
    quote = Quote(T0, 100.0, 100.02, "SIM")
    assert stale_quote(quote, T0 + 5) is None
    assert stale_quote(quote, T0 + 5.5) == QuoteStale(symbol="SIM", time=T0 + 5.5, quote_time=T0, age=5.5, limit=5.0)
    assert stale_quote(quote, T0 + 60, policy=HealthPolicy(quote_max_age=60)) is None
    missing = stale_quote(None, T0, "SIM")
    assert missing is not None
    assert missing.quote_time is None
    assert missing.age == math.inf


# -- on the simulated exchange ---------------------------------------------------------------------
def test_the_monitor_sees_the_sims_stall_and_the_recovery() -> None:
    day = [bar(60 * (i + 1)) for i in range(30)]
    sim = SimBroker(day, faults=[parse_fault("stall:600:300")])  # no bar from 09:40 to 09:45
    monitor = BarStreamMonitor("SIM", 60, started=sim.now())
    seen: list[tuple[float, Any]] = []
    while sim.step():
        now = sim.now()
        if sim.last_closed is not None:
            seen += [(now - T0, o) for o in show(monitor.on_bar(sim.last_closed, now))]
        seen += [(now - T0, o) for o in show(monitor.check(now))]
    withheld = [b.end - T0 for b in sim.stalled_bars]
    assert withheld == [660.0, 720.0, 780.0, 840.0, 900.0]  # they close at +645 ... +885
    # the last bar heard closed at +585 (3/4 into its minute): stalled 180 s later
    assert seen == [
        (765.0, ("stalled", 180.0, 180.0)), (765.0, ("recovery", 1)), (765.0, ("resubscribe", "SIM", 60.0, 1)),
        (795.0, ("recovery", 2)), (795.0, ("resubscribe", "SIM", 60.0, 2)),
        (825.0, ("recovery", 3)), (825.0, ("resubscribe", "SIM", 60.0, 3)),
        (855.0, ("failed", 3, 270.0)),
        (945.0, ("recovered", 3, 180.0)),
    ]
