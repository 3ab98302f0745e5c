"""`--targets-crossed keep|drop|shift` on `breakout arm` (and `targets_crossed=` as a token) and on the
console's `breakout` verb: a market entry that fills past TP1 (the next bar gaps through it) gets
the ladder each answer gives; a bad value exits 2 naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_clean_exit, invoke, minute, write_bars

from broker.audit import read_journal
from supervisor import events as ev
from supervisor.port import PlaceOrder

# a close above 100.5 at 10:02, priced below TP1 (101); the next bar opens at 101.5: the market
# entry fills through TP1
GAP = [
    f"{minute(0)},100.00,100.20,99.90,100.10,1000",
    f"{minute(1)},100.10,100.40,100.00,100.30,1000",
    f"{minute(2)},100.30,100.70,100.30,100.60,1000",
    f"{minute(3)},101.50,101.80,101.40,101.50,1000",
    f"{minute(4)},101.50,103.00,101.40,102.90,1000",
    f"{minute(5)},102.90,103.10,102.80,103.00,1000",
]
SETUP = ["SIM", "level=100.5", "qty=100", "tp=101-102.5", "sl=99.95", "entry=market", "rth=off"]

# what goes out after the entry's fill at 101.5 (70/30 by default), for each answer
EXITS = {
    "keep": {"tp1": (70, 101.0), "sl1": (70, 99.95), "tp2": (30, 102.5), "sl2": (30, 99.95)},
    "drop": {"tp1": (100, 102.5), "sl1": (100, 99.95)},
    "shift": {"tp1": (70, 102.0), "sl1": (70, 99.95), "tp2": (30, 103.5), "sl2": (30, 99.95)},
}


def first_exits(journal: Path) -> dict[str, tuple[int, float | None]]:
    """Each exit as first placed: quantity and price (limit for a target, stop for a stop)."""
    out: dict[str, tuple[int, float | None]] = {}
    for r in read_journal(journal):
        c = r.value
        if r.kind == "command" and isinstance(c, PlaceOrder) and c.order_ref.split(":")[1][:2] in ("tp", "sl"):
            out.setdefault(c.order_ref.split(":")[1], (c.quantity, c.limit_price or c.stop_price))
    return out


def crossed_events(journal: Path) -> list[ev.TargetsCrossed]:
    return [r.value for r in read_journal(journal)
            if r.kind == "supervisor_event" and isinstance(r.value, ev.TargetsCrossed)]


@pytest.mark.parametrize("answer", ["keep", "drop", "shift"])
def test_each_answer_places_its_own_ladder(tmp_path: Path, answer: str) -> None:
    bars = write_bars(tmp_path / "gap.csv", GAP)
    journal = tmp_path / "j.sqlite"
    result = invoke("breakout", "arm", *SETUP, "--bars", str(bars), "--targets-crossed", answer,
                    "--journal", str(journal))
    assert result.exit_code in (0, 4), result.output  # shift leaves 30 held when the day's data ends
    assert "Traceback" not in result.output
    assert f"crossed targets: {answer}" in result.output  # the plan printed says so
    [crossed] = crossed_events(journal)
    assert (crossed.fill_price, crossed.crossed, crossed.action) == (101.5, (1,), answer)
    assert first_exits(journal) == EXITS[answer]


def test_the_token_style_and_the_default(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "gap.csv", GAP)
    token = tmp_path / "token.sqlite"
    assert_clean_exit(invoke("breakout", "arm", *SETUP, "targets_crossed=keep", "--bars", str(bars),
                             "--journal", str(token)), 0)
    assert first_exits(token) == EXITS["keep"]
    default = tmp_path / "default.sqlite"
    result = invoke("breakout", "arm", *SETUP, "--bars", str(bars), "--journal", str(default))
    assert_clean_exit(result, 0)
    assert "crossed targets" not in result.output
    assert first_exits(default) == EXITS["drop"]  # the supervisor's policy: drop


@pytest.mark.parametrize(("args", "named"), [
    (("--targets-crossed", "sell"), "'sell' is not one of 'keep', 'drop', 'shift'"),
    (("targets_crossed=sell",), "'sell' is not one of"),
    (("targets_crossed=keep", "--targets-crossed", "drop"), "given as targets_crossed=keep"),
])
def test_a_bad_answer_exits_2_naming_the_option(args: tuple[str, ...], named: str) -> None:
    result = invoke("breakout", "arm", *SETUP, *args)
    assert_clean_exit(result, 2)
    text = " ".join(result.output.split())
    assert "--targets-crossed" in text
    assert named in text
    assert "watcher" not in text


def test_the_console_takes_the_answer_per_watcher(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "gap.csv", GAP)
    journal = tmp_path / "day.sqlite"
    base = "breakout SIM level=100.5 qty=100 tp=101-102.5 sl=99.95 entry=market rth=off"
    script = [f"{base} targets_crossed=keep trade_id=k", f"{base} trade_id=d", f"{base} targets_crossed=shift",
              f"{base} targets_crossed=sell", "run", "trades", "quit", "y"]
    result = invoke("console", "--bars", str(bars), "--journal", str(journal), input="\n".join(script) + "\n")
    assert_clean_exit(result, 0)
    assert "error: Invalid value for --targets-crossed: 'sell' is not one of 'keep', 'drop', 'shift'" in " ".join(
        result.output.split())
    actions = {e.trade_id: e.action for e in crossed_events(journal)}
    assert actions == {"k": "keep", "d": "drop", "sim-100.5": "shift"}
    placed = {c.order_ref for r in read_journal(journal) if r.kind == "command"
              for c in [r.value] if isinstance(c, PlaceOrder)}
    assert {"k:tp1", "k:tp2", "d:tp1", "sim-100.5:tp2"} <= placed
    assert "d:tp2" not in placed  # drop: the crossed level's shares went to the next, one level left
