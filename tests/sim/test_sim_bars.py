"""Market data: CSV loading (errors name the line), the intra-bar price path, the bar width."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import T0, bars, drain, of, order

from broker.sim import Bar, MarketDataError, SimBroker, load_bars, load_quotes
from supervisor.port import Action, ExecutionReported, OrderType

HEADER = "timestamp,open,high,low,close,volume\n"
ROW1 = "2024-03-14T09:30:00-04:00,100,101,99.5,100.5,1200\n"
ROW2 = "2024-03-14T09:31:00-04:00,100.5,100.9,100.1,100.2,900\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(text)
    return path


def test_bars_load_with_their_offset_and_inferred_width(tmp_path: Path) -> None:
    loaded = load_bars(write(tmp_path, HEADER + ROW1 + ROW2))
    assert loaded == [Bar(T0, 100, 101, 99.5, 100.5, 1200, 60.0), Bar(T0 + 60, 100.5, 100.9, 100.1, 100.2, 900, 60.0)]


def test_one_second_bars_are_one_second_wide(tmp_path: Path) -> None:
    text = HEADER + ROW1 + ROW1.replace("09:30:00", "09:30:01")
    assert [b.seconds for b in load_bars(write(tmp_path, text))] == [1.0, 1.0]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (ROW1, 1, "expected the header"),
        (HEADER + ROW1 + "2024-03-14T09:31:00-04:00,100,oops,99,100,1\n", 3, "oops"),
        (HEADER + ROW1 + "2024-03-14T09:31:00,100,101,99,100,1\n", 3, "no UTC offset"),
        (HEADER + ROW1 + "not a time,100,101,99,100,1\n", 3, "not a time"),
        (HEADER + "2024-03-14T09:30:00-04:00,100,101,99\n", 2, "expected 6 fields"),
        (HEADER + ROW1 + ROW2 + "2024-03-14T09:31:00-04:00,100,101,99,100,1\n", 4, "not after"),
        (HEADER + ROW1 + "2024-03-14T09:31:00-04:00,100,99,99.5,100,1\n", 3, "do not bracket"),
        (HEADER + ROW1 + "2024-03-14T09:31:00-04:00,100,101,99,100,-5\n", 3, "volume"),
        (HEADER, 1, "no data rows"),
    ],
)
def test_a_bad_row_is_an_error_naming_its_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(MarketDataError) as caught:
        load_bars(path)
    assert caught.value.line == line
    assert f"{path}:{line}:" in str(caught.value)
    assert words in str(caught.value)


def test_quotes_load_and_a_crossed_quote_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text("timestamp,bid,ask\n2024-03-14T09:30:00-04:00,99.98,100.02\n2024-03-14T09:30:05-04:00,100.1,100\n")
    with pytest.raises(MarketDataError, match=r"quotes.csv:3: .*bid 100.1 above ask 100"):
        load_quotes(path)
    path.write_text("timestamp,bid,ask\n2024-03-14T09:30:00-04:00,99.98,100.02\n")
    assert [(q.bid, q.ask) for q in load_quotes(path)] == [(99.98, 100.02)]


@pytest.mark.parametrize(
    ("ohlc", "path"),
    [
        ((100, 101, 99, 100.5), (100, 99, 101, 100.5)),  # equidistant: the low first
        ((100, 100.2, 98, 99), (100, 100.2, 98, 99)),  # high nearer
        ((100, 103, 99.9, 102), (100, 99.9, 103, 102)),  # low nearer
    ],
)
def test_the_intra_bar_path_is_open_nearer_extreme_other_extreme_close(
    ohlc: tuple[float, float, float, float], path: tuple[float, ...]
) -> None:
    (bar,) = bars(ohlc)
    assert bar.path() == path
    assert bar.point_times() == (T0, T0 + 15, T0 + 30, T0 + 45)


def test_a_stop_and_a_target_in_one_bar_are_decided_by_the_path() -> None:
    # long 100 from the first bar; then a bar reaching both the stop (99) and the target (101.5):
    # its low is nearer to its open, so the stop fills and the target is cancelled (OCA)
    def run(ohlc: tuple[float, float, float, float]) -> list[ExecutionReported]:
        sim = SimBroker(bars((100, 100, 100, 100), ohlc))
        sim.execute(order("t:entry"))
        sim.step()
        for o in (
            order("t:tp", Action.SELL, kind=OrderType.LIMIT, limit=101.5, oca_group="x", oca_type=1),
            order("t:sl", Action.SELL, kind=OrderType.STOP, stop=99.0, oca_group="x", oca_type=1),
        ):
            sim.execute(o)
        return of(ExecutionReported, drain(sim))

    low_first = run((100, 101.6, 98.9, 100))  # open 100: low 1.1 away, high 1.6 away
    high_first = run((100, 101.6, 98.3, 100))  # open 100: high 1.6 away, low 1.7 away
    assert [(e.order_ref, e.price) for e in low_first] == [("t:entry", 100.0), ("t:sl", 99.0)]
    assert [(e.order_ref, e.price) for e in high_first] == [("t:entry", 100.0), ("t:tp", 101.5)]
