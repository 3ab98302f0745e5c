"""The single-fire breakout watcher: bars in, at most one signal out, long and short mirrored."""

from __future__ import annotations

import attrs
import pytest

from strategies.breakout import BreakoutWatcher, Expired, Trigger
from supervisor.plan import PlanError, Side, TradePlan


@attrs.frozen
class B:
    time: float
    high: float
    low: float
    close: float
    open: float = 100.0

    @property
    def end(self) -> float:
        return self.time + 60.0


def plan(side: Side = Side.LONG) -> TradePlan:
    long = side is Side.LONG
    return TradePlan(trade_id="t", symbol="SIM", side=side, quantity=10, entry_price=100.0,
                     take_profits=(101.0,) if long else (99.0,), stop_losses=(99.0,) if long else (101.0,))


def feed(watcher: BreakoutWatcher, *bars: tuple[float, float, float]) -> list[Trigger | Expired | None]:
    return [watcher.on_bar(B(60.0 * i, h, lo, c)) for i, (h, lo, c) in enumerate(bars)]


@pytest.mark.parametrize(
    ("side", "confirm", "bar", "fires"),
    [
        (Side.LONG, "close", (100.6, 100.0, 100.5), True),  # close at the level: fires
        (Side.LONG, "close", (100.9, 100.0, 100.49), False),  # a wick through it is not enough
        (Side.LONG, "touch", (100.5, 100.0, 100.1), True),
        (Side.SHORT, "close", (99.9, 99.4, 99.5), True),
        (Side.SHORT, "close", (99.9, 99.1, 99.51), False),
        (Side.SHORT, "touch", (99.9, 99.5, 99.8), True),
    ],
)
def test_fires_on_the_confirming_price(side: Side, confirm: str, bar: tuple[float, float, float],
                                       fires: bool) -> None:
    level = 100.5 if side is Side.LONG else 99.5
    watcher = BreakoutWatcher(plan(side), level, confirm)  # type: ignore[arg-type]
    signal = watcher.on_bar(B(0.0, *bar))
    assert isinstance(signal, Trigger) is fires


def test_it_fires_once_with_the_bar_that_confirmed() -> None:
    watcher = BreakoutWatcher(plan(), 100.5)
    signals = feed(watcher, (100.2, 99.9, 100.1), (100.7, 100.1, 100.6), (100.9, 100.5, 100.8))
    assert signals == [None, Trigger("t", 100.5, 100.6, 120.0, 2), None]
    assert watcher.done


def test_it_expires_after_max_bars_and_then_stays_quiet() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, max_bars=2)
    signals = feed(watcher, (100.2, 99.9, 100.1), (100.3, 100.0, 100.2), (101.0, 100.5, 100.9))
    assert signals == [None, Expired("t", 2, 120.0), None]


def test_bars_before_the_start_are_not_watched() -> None:
    watcher = BreakoutWatcher(plan(), 100.5, start=120.0, max_bars=1)
    signals = feed(watcher, (100.6, 100.0, 100.5), (100.6, 100.0, 100.5), (100.6, 100.0, 100.5))
    assert signals == [None, None, Trigger("t", 100.5, 100.5, 180.0, 1)]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"level": 0.0}, "level"),
    ({"level": 100.5, "confirm": "wick"}, "confirm"),
    ({"level": 100.5, "max_bars": 0}, "max_bars"),
    ({"level": float("inf")}, "level"),
    ({"level": float("nan")}, "level"),
])
def test_bad_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(PlanError) as caught:
        BreakoutWatcher(plan(), **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_strategies_never_import_a_broker() -> None:
    from test_import_rules import violations

    assert violations("strategies") == []
