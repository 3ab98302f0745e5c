"""The compact checkpoint: a closed trade's checkpoint as the recorder writes it (packed), its
round trip field for field, the tagged form of older journals still loading, and errors that name
the type and field."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from broker.bench.journal_figures import TEMPLATE, _template
from supervisor import codec
from supervisor.checkpoint import LegState, PackedCheckpoint, PairState, TradeCheckpoint, stored
from supervisor.codec import CodecError
from supervisor.codec_compact import pack, unpack
from supervisor.journal_recorder import JournalRecorder
from supervisor.journal_store import Row, read_rows
from supervisor.port import Instrument


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    return _template(tmp_path_factory.mktemp("compact"))


def checkpoint_of(rows: list[Row]) -> TradeCheckpoint:
    (row,) = [r for r in rows if r[1] == "checkpoint"]
    assert row[8] == "PackedCheckpoint"
    assert row[4] == TEMPLATE  # the trade id is still lifted into its column
    return stored(codec.decode(json.loads(row[9])))


def test_the_recorder_writes_a_packed_checkpoint_that_is_the_trades_whole_state(rows: list[Row]) -> None:
    checkpoint = checkpoint_of(rows)
    assert checkpoint.state == "closed"
    assert len(checkpoint.legs) == 7
    text = json.dumps(codec.encode(PackedCheckpoint.of(checkpoint)), separators=(",", ":"))
    tagged = json.dumps(codec.encode(checkpoint), separators=(",", ":"))
    assert len(text) * 2 < len(tagged)  # the point: far less to read and decode
    assert stored(codec.decode(json.loads(text))) == checkpoint  # exact, every field


def test_a_tagged_checkpoint_of_an_older_journal_loads_the_same(rows: list[Row], tmp_path: Path) -> None:
    checkpoint = checkpoint_of(rows)
    assert stored(codec.decode(json.loads(json.dumps(codec.encode(checkpoint))))) == checkpoint


def test_a_restart_loads_the_packed_checkpoint_as_the_trade_was(tmp_path: Path) -> None:
    rows = _template(tmp_path)
    path = next(tmp_path.glob("*.sqlite"))
    assert [r[0] for r in read_rows(path)] == [r[0] for r in rows]
    recorder = JournalRecorder.open(path, lambda: 1_710_500_000.0)
    trade = recorder.trade(TEMPLATE)
    recorder.close()
    assert trade.state == "closed"
    assert {leg.name: (leg.state, leg.filled_qty) for leg in trade.legs} == {
        state.name: (state.state, state.filled) for state in checkpoint_of(rows).legs
    }


def test_values_with_only_plain_fields_are_shared_within_one_checkpoint(rows: list[Row]) -> None:
    checkpoint = checkpoint_of(rows)
    instruments = {id(leg.command.instrument) for leg in checkpoint.legs} | {id(checkpoint.plan.instrument)}
    assert len(instruments) == 1


def test_a_shorter_list_takes_the_defaults_of_the_fields_added_later(rows: list[Row]) -> None:
    leg = checkpoint_of(rows).legs[0]
    defaults = [f.name for f in attrs.fields(LegState) if f.default is not attrs.NOTHING]
    packed = pack(leg)[: -len(defaults)]
    assert unpack(LegState, packed) == attrs.evolve(leg, **{
        name: attrs.fields_dict(LegState)[name].default for name in defaults})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["SIM", "XYZ", "SMART", "USD", 1.0, 0.01, "", 0, ""], r"Instrument\.sec_type: expected a SecType value"),
        (["SIM", "STK", 3, "USD", 1.0, 0.01, "", 0, ""], r"Instrument\.exchange: expected a string, got 3"),
        (["SIM", "STK", "SMART", "USD", 1.0, 0.01, "", 0, "", "extra"], r"Instrument: expected a packed Instrument"),
        ({"symbol": "SIM"}, r"Instrument: expected a packed Instrument"),
    ],
)
def test_bad_packed_data_is_refused_naming_the_type_and_field(data: object, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        unpack(Instrument, data)


def test_a_bad_item_in_a_tuple_of_plain_values_is_named() -> None:
    with pytest.raises(CodecError, match=r"PairState\.retired\[1\]: expected a string, got 3"):
        unpack(PairState, ["p1", 1, "tp1", "sl1", 10, 10, 1, "closed", ["a", 3]])
    assert unpack(PairState, ["p1", 1, "tp1", "sl1", 10, 10, 1, "closed", ["a"]]).retired == ("a",)


def test_a_missing_required_field_is_named(rows: list[Row]) -> None:
    with pytest.raises(CodecError, match="missing field 'role'"):
        unpack(LegState, ["entry"])


def test_a_packed_checkpoint_under_another_trades_id_is_refused(rows: list[Row]) -> None:
    checkpoint = checkpoint_of(rows)
    with pytest.raises(CodecError, match="holds a checkpoint of"):
        PackedCheckpoint("someone-else", PackedCheckpoint.of(checkpoint).fields).unpacked()
