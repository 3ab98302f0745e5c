"""What no real client should send, over a bare socket: every malformed or unsupported message is
answered with an IB-style error (320 unreadable, 321 invalid, naming the field and the value), the
connection stays up, and the gateway goes on serving; only a stream that cannot be framed (a wrong
greeting, no common version) is closed, and never takes the gateway down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ib_async import LimitOrder
from tws_helpers import RawClient, ServerThread, barrier, client, gateway, stock, written

from broker.sim import Faults, SimConfig, load_bars
from broker.sim_session import bundled_day
from broker.tws.engine import TwsEngine
from broker.tws.exchange import SimExchange
from broker.tws.wire import encode, frame, split_messages


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with gateway() as running:
        yield running


@pytest.fixture
def raw(server: ServerThread) -> Iterator[RawClient]:
    connection = RawClient(server.port)
    connection.handshake()
    yield connection
    connection.close()


def errors(messages: list[list[str]]) -> list[tuple[str, str, str]]:
    return [(m[2], m[3], m[4]) for m in messages if m[0] == "4"]


@pytest.mark.parametrize(("index", "value", "field"), [(17, "lots", "totalQuantity"), (19, "1O0.7", "lmtPrice")])
def test_a_bad_field_is_321_naming_it_and_the_connection_stays_up(raw: RawClient, index: int, value: str,
                                                                  field: str) -> None:
    fields = written("placeOrder", 21, stock("AAPL"), LimitOrder("BUY", 100, 100.7))
    fields[index] = value
    raw.send(*fields)
    ((req_id, code, message),) = errors(raw.barrier())
    assert (req_id, code) == ("21", "321")
    assert f"'{field}'" in message
    assert repr(value) in message


def test_a_truncated_message_is_320_naming_the_missing_field(raw: RawClient) -> None:
    raw.send(*written("placeOrder", 21, stock("AAPL"), LimitOrder("BUY", 100, 100.7))[:20])
    ((req_id, code, message),) = errors(raw.barrier())
    assert (req_id, code) == ("21", "320")
    assert "'auxPrice'" in message


def test_an_unknown_message_id_is_an_error_and_the_connection_stays_up(raw: RawClient) -> None:
    raw.send(250, 1, "whatever")
    raw.send_raw(frame(b""))  # an empty message
    raw.send("x1", 2)  # an id that is no number
    raw.send(81, 12, "AA")  # known to IB (reqMatchingSymbols), not served here: the error names its request
    found = errors(raw.barrier())
    assert [(req_id, code) for req_id, code, _ in found] == [("-1", "320"), ("-1", "320"), ("-1", "320"),
                                                             ("12", "320")]
    assert "message id 250 is not supported" in found[0][2]


def test_a_request_before_start_api_is_refused(server: ServerThread) -> None:
    raw = RawClient(server.port)
    try:
        raw.send_raw(b"API\0" + frame(b"v157..178"))
        assert raw.read() is not None  # version and time
        raw.send(61, 1)  # reqPositions before startApi
        raw.send(71, 2, 4, "")
        messages = raw.until(lambda m: m[0] == "9")
        assert errors(messages)[0][:2] == ("-1", "321")
        assert ["15", "1", "DU1234567"] in messages
    finally:
        raw.close()


@pytest.mark.parametrize("greeting", [b"GET / HTTP/1.1\r\n\r\n", b"API\0" + frame(b"v100..120"),
                                      b"API\0" + frame(b"hello")])
def test_a_stream_that_cannot_be_spoken_to_is_closed_and_the_gateway_serves_on(server: ServerThread,
                                                                               greeting: bytes) -> None:
    raw = RawClient(server.port)
    try:
        raw.send_raw(greeting)
        assert raw.read() is None  # closed by the gateway
    finally:
        raw.close()
    with client(server) as ib:
        barrier(ib)
        assert ib.isConnected()


def test_a_failure_inside_the_gateway_is_an_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    exchange = SimExchange(load_bars(bundled_day()), config=SimConfig(), faults=Faults())
    engine = TwsEngine(exchange)
    session = engine.open_session()
    engine.receive(session, b"API\0" + frame(b"v157..178") + encode([71, 2, 1, ""]))

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine.desk, "place", broken)
    session.outgoing.clear()
    engine.receive(session, encode(written("placeOrder", 1, stock("AAPL"), LimitOrder("BUY", 1, 1.0))))
    engine.receive(session, encode([49, 1]))
    replies = split_messages(bytes(session.outgoing))
    assert [m[:4] for m in replies if m[0] == "4"] == [["4", "2", "-1", "320"]]
    assert replies[-1][0] == "49"  # still serving
    assert not session.closing
