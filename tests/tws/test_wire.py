"""Framing, the handshake's version range, field spelling, and IB's execution id corrections."""

from __future__ import annotations

import struct

import pytest

from broker.tws.records import exec_base, ib_exec_id
from broker.tws.wire import (
    MAX_MESSAGE_BYTES,
    SERVER_VERSION,
    Framer,
    ProtocolError,
    encode,
    format_field,
    frame,
    negotiate,
    parse_version_range,
)


def test_messages_are_framed_whichever_way_the_bytes_arrive() -> None:
    stream = b"API\0" + frame(b"v157..178") + encode([71, 2, 3, ""]) + encode([49, 1])
    for chunk in (1, 3, 7, len(stream)):
        framer = Framer()
        messages: list[list[str]] = []
        for start in range(0, len(stream), chunk):
            messages += framer.feed(stream[start : start + chunk])
        assert messages == [["v157..178"], ["71", "2", "3", ""], ["49", "1"]]


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1", b"AP!", b"API\0" + struct.pack(">I", MAX_MESSAGE_BYTES + 1)])
def test_a_stream_that_cannot_be_framed_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        Framer().feed(data)


@pytest.mark.parametrize(("text", "expected"), [("v157..178", (157, 178)), ("v176", (176, 176)),
                                                ("v100..200 +PACEAPI", (100, 200))])
def test_version_ranges(text: str, expected: tuple[int, int]) -> None:
    assert parse_version_range(text) == expected
    assert negotiate(*expected) == SERVER_VERSION


@pytest.mark.parametrize(("low", "high"), [(100, 175), (177, 178)])
def test_a_range_without_the_simulators_version_is_refused(low: int, high: int) -> None:
    with pytest.raises(ProtocolError, match="176 only"):
        negotiate(low, high)


@pytest.mark.parametrize("text", ["157..178", "vabc", "v178..157", ""])
def test_a_malformed_version_range_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_version_range(text)


@pytest.mark.parametrize(("value", "spelled"), [(None, ""), (True, "1"), (False, "0"), (100.0, "100"),
                                                (100.66, "100.66"), (7, "7"), ("DU1", "DU1"),
                                                (float("inf"), "Infinite"), (1.7976931348623157e308,
                                                                             "1.7976931348623157e+308")])
def test_field_spelling(value: object, spelled: str) -> None:
    assert format_field(value) == spelled  # type: ignore[arg-type]


@pytest.mark.parametrize(("sim", "ib"), [("0000000a.00000003.01.01", "0000000a.00000003.01.01"),
                                         ("0000000a.00000003.01.01.01", "0000000a.00000003.01.02"),
                                         ("0000000a.00000003.01.01.01.01", "0000000a.00000003.01.03"),
                                         ("odd-id", "odd-id")])
def test_the_exchanges_correction_ids_become_ibs(sim: str, ib: str) -> None:
    assert ib_exec_id(sim) == ib
    if sim != "odd-id":
        assert exec_base(ib) == "0000000a.00000003.01"  # a correction replaces what it corrects
