# The gateway itself, sans-IO (h11's shape): bytes in, bytes out, no socket and no event loop.
# A `Session` is one client connection: its framer, its negotiated version, its client id and the
# bytes waiting to be written (`outgoing`; `closing` when the connection must end after them).
# `receive(session, data)` frames the bytes, parses each message (broker/tws/parse.py) and serves
# it; `step()` moves the market clock one price point and sends what followed (quotes and bars,
# the exchange's reports, late commissions, outage notices). The caller (broker/tws/server.py)
# only moves bytes: after every call it writes each session's `outgoing` and closes the closing.
# The connection's life, as TWS leads it:
# - handshake: "API\0" + "v<min>..<max>" -> "<version>", "<time>"; startApi (71) with a client id
#   -> managedAccounts (15), nextValidId (9), the data-farm notices (2104, 2106, 2158), and 1100
#   when the exchange is unreachable at that moment; a client id already connected gets 326 and
#   the connection ends, as does one client more than `client_limit` (502);
# - then requests, each answered or refused with an IB error naming the field (never a crash); an
#   unknown message id gets error 320 and the connection stays up;
# - the sim's disconnect fault is IB's connectivity loss: error 1100 to every client when it starts
#   and 1102 when it ends ("notice"), or every socket dropped at its start ("drop").
from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
from zoneinfo import ZoneInfo

import attrs

from broker.tws import replies, views
from broker.tws import replies_data as data
from broker.tws.contracts import Contracts
from broker.tws.desk import OrderDesk, Out
from broker.tws.exchange import SimExchange
from broker.tws.feeds import Feeds
from broker.tws.parse import parse_request
from broker.tws.requests import (
    Cancel,
    CancelOrderRequest,
    PlaceOrderRequest,
    ReqAccountSummary,
    ReqAccountUpdates,
    ReqAccountUpdatesMulti,
    ReqContractDetails,
    ReqExecutions,
    ReqHistoricalData,
    ReqIds,
    ReqMktData,
    ReqOpenOrders,
    ReqRealTimeBars,
    Request,
    RequestError,
    Simple,
    StartApi,
    Unsupported,
)
from broker.tws.wire import Field, Framer, ProtocolError, encode, negotiate, parse_version_range
from supervisor.port import ExecutionReported

log = logging.getLogger("broker.tws")

FARM_NOTICES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
LOST = (1100, "Connectivity between IB and Trader Workstation has been lost.")
RESTORED = (1102, "Connectivity between IB and Trader Workstation has been restored - data maintained.")
IN_USE = "Unable to connect as the client id is already in use. Retry with a unique client id."


@attrs.define(eq=False)
class Session:
    id: int
    framer: Framer = attrs.field(factory=Framer)
    version: int | None = None
    client_id: int | None = None
    outgoing: bytearray = attrs.field(factory=bytearray)
    closing: bool = False
    positions: bool = False  # reqPositions: updates follow every execution until cancelPositions
    account_updates: bool = False
    market_data_type: int = 1

    def send(self, fields: list[Field]) -> None:
        if not self.closing:
            self.outgoing += encode(fields)


class TwsEngine:
    def __init__(self, exchange: SimExchange, *, account: str = "DU1234567", commission_delay: float = 0.0,
                 client_limit: int = 32, outage: str = "notice") -> None:
        if outage not in ("notice", "drop"):
            raise ValueError(f"outage must be 'notice' or 'drop', got {outage!r}")
        self.exchange = exchange
        self.account = account
        self.client_limit = client_limit
        self.outage = outage
        self.contracts = Contracts(exchange.config)
        self.desk = OrderDesk(exchange, self.contracts, account, commission_delay)
        self.feeds = Feeds(exchange, self.contracts)
        self.tz = ZoneInfo(exchange.config.timezone)
        self.sessions: dict[int, Session] = {}
        self._ids = itertools.count(1)
        self._was_connected = exchange.connected()

    # -- connections ---------------------------------------------------------------------------

    def open_session(self) -> Session:
        session = Session(next(self._ids))
        self.sessions[session.id] = session
        return session

    def close_session(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self.feeds.drop(session.id)

    def clients(self) -> dict[int, Session]:
        return {s.client_id: s for s in self.sessions.values() if s.client_id is not None and not s.closing}

    def receive(self, session: Session, payload: bytes) -> None:
        try:
            messages = session.framer.feed(payload)
        except ProtocolError as exc:
            log.warning("session %d: %s; closing it", session.id, exc)
            session.closing = True
            return
        for fields in messages:
            if session.closing:
                return
            if session.version is None:
                self._handshake(session, fields)
                continue
            try:
                request = parse_request(fields, session.version)
                if session.client_id is None and not isinstance(request, StartApi):
                    raise RequestError(321, f"Error validating request: message {fields[0]} before startApi (71)")
                self._serve(session, request)
            except RequestError as problem:
                log.info("session %d: error %d: %s", session.id, problem.code, problem.message)
                session.send(replies.error(problem.req_id, problem.code, problem.message))
            except Exception:  # a bug here must not take the gateway down: say so and carry on
                log.exception("session %d: failed to serve %s", session.id, fields[:3])
                session.send(replies.error(-1, 320, f"Error reading request: the simulator failed on message "
                                                    f"{fields[0] if fields else '?'}; see its log"))

    def _handshake(self, session: Session, fields: list[str]) -> None:
        try:
            low, high = parse_version_range(fields[0] if fields else "")
            session.version = negotiate(low, high)
        except ProtocolError as exc:
            log.warning("session %d: %s; closing it", session.id, exc)
            session.closing = True
            return
        stamp = dt.datetime.fromtimestamp(self.exchange.now(), self.tz).strftime("%Y%m%d %H:%M:%S %Z")
        session.send([session.version, stamp])

    def _start(self, session: Session, request: StartApi) -> None:
        if request.client_id in self.clients():
            session.send(replies.error(-1, 326, IN_USE))
            session.closing = True
            return
        if len(self.clients()) >= self.client_limit:
            session.send(replies.error(-1, 502, f"Couldn't connect to TWS: the simulator serves at most "
                                                f"{self.client_limit} API clients at once"))
            session.closing = True
            return
        session.client_id = request.client_id
        session.send(data.managed_accounts(self.account))
        session.send(data.next_valid_id(self.desk.next_order_id(request.client_id)))
        for code, text in FARM_NOTICES:
            session.send(replies.error(-1, code, text))
        if not self.exchange.connected():
            session.send(replies.error(-1, *LOST))

    # -- requests ------------------------------------------------------------------------------

    def _serve(self, session: Session, request: Request) -> None:
        if isinstance(request, StartApi):
            if session.client_id is None:
                self._start(session, request)
            return
        cid = session.client_id
        assert cid is not None
        if isinstance(request, PlaceOrderRequest):
            self._deliver(self.desk.place(cid, request))
            self.pump()
        elif isinstance(request, CancelOrderRequest):
            self._deliver(self.desk.cancel(cid, request.order_id))
            self.pump()
        elif isinstance(request, ReqOpenOrders):
            everyone = request.all_clients or cid == 0
            self._send_all(session, views.open_orders(self.desk, None if everyone else cid))
        elif isinstance(request, ReqExecutions):
            self._send_all(session, views.executions(self.desk, request))
        elif isinstance(request, ReqIds):
            session.send(data.next_valid_id(self.desk.next_order_id(cid)))
        elif isinstance(request, ReqContractDetails):
            contract = self.contracts.resolve(request.contract, request.req_id)
            day = dt.datetime.fromtimestamp(self.exchange.now(), self.tz).strftime("%Y%m%d")
            session.send(self.contracts.details_fields(request.req_id, contract, day))
            session.send(data.contract_details_end(request.req_id))
        elif isinstance(request, ReqMktData):
            self._send_all(session, self.feeds.quotes(session.id, request, session.market_data_type))
        elif isinstance(request, ReqHistoricalData):
            self._send_all(session, self.feeds.historical(session.id, request))
        elif isinstance(request, ReqRealTimeBars):
            self._send_all(session, self.feeds.realtime(session.id, request))
        elif isinstance(request, Cancel):
            self.feeds.cancel(session.id, request.kind, request.req_id)
        elif isinstance(request, ReqAccountUpdates | ReqAccountSummary | ReqAccountUpdatesMulti):
            self._account(session, request)
        elif isinstance(request, Simple):
            self._simple(session, request)
        elif isinstance(request, Unsupported):
            log.warning("session %d: message id %d is not supported", session.id, request.msg_id)
            session.send(replies.error(request.req_id, 320, f"Error reading request: message id {request.msg_id} "
                                                            "is not supported by the TWS simulator"))

    def _simple(self, session: Session, request: Simple) -> None:
        kind = request.kind
        if kind == "positions":
            session.positions = True
            self._send_all(session, views.positions(self.desk))
        elif kind == "cancelPositions":
            session.positions = False
        elif kind == "completedOrders":
            self._send_all(session, views.completed_orders(self.desk))
        elif kind == "managedAccounts":
            session.send(data.managed_accounts(self.account))
        elif kind == "currentTime":
            session.send(data.current_time(self.exchange.now()))
        elif kind == "globalCancel":
            self._deliver(self.desk.global_cancel())
            self.pump()
        elif kind == "marketDataType":
            session.market_data_type = request.value if request.value in (1, 2, 3, 4) else 1
        # autoOpenOrders: every order is reported to the client that placed it; nothing to bind

    def _account(self, session: Session, request: ReqAccountUpdates | ReqAccountSummary | ReqAccountUpdatesMulti,
                 ) -> None:
        if isinstance(request, ReqAccountUpdates):
            session.account_updates = request.subscribe
            if request.subscribe:
                self._send_all(session, views.account_updates(self.desk))
        elif isinstance(request, ReqAccountSummary):
            wanted = {tag.strip() for tag in request.tags.split(",")}
            for tag, value, ccy in views.account_values(self.desk):
                if tag in wanted or "$LEDGER:ALL" in wanted:
                    session.send(data.account_summary(request.req_id, self.account, tag, value, ccy))
            session.send(data.account_summary_end(request.req_id))
        else:
            for tag, value, ccy in views.account_values(self.desk):
                session.send(data.account_update_multi(request.req_id, self.account, tag, value, ccy))
            session.send(data.account_update_multi_end(request.req_id))

    # -- the clock -----------------------------------------------------------------------------

    def step(self) -> bool:
        """Move the market one price point and send everything that followed. False once the data
        has ended (the first call past the end still finishes the day: DAY orders expire)."""
        if self.exchange.ended:
            return False
        point = self.exchange.step()
        self._connectivity()
        if point is not None:
            for session_id, fields in self.feeds.on_point(point):
                if (session := self.sessions.get(session_id)) is not None:
                    session.send(fields)
        self.pump()
        # commissions held back come due with the clock; when the data ends, all of them
        self._deliver(self.desk.release_late(self.exchange.now() if point is not None else math.inf))
        return point is not None

    def pump(self) -> None:
        """Hand what the exchange reported to its clients (and keep position subscribers current)."""
        batch = self.exchange.poll()
        self._deliver(self.desk.translate(batch))
        traded = sorted({sym for sym, event in batch if isinstance(event, ExecutionReported)})
        if not traded:
            return
        for session in self.sessions.values():
            if session.positions:
                self._send_all(session, views.position_updates(self.desk, traded))
            if session.account_updates:
                for symbol in traded:
                    self._send_all(session, views.portfolio(self.desk, symbol))
                for tag, value, ccy in views.account_values(self.desk):
                    session.send(data.account_value(tag, value, ccy, self.account))

    def _connectivity(self) -> None:
        connected = self.exchange.connected()
        if connected == self._was_connected:
            return
        self._was_connected = connected
        for session in self.sessions.values():
            if session.client_id is None:
                continue
            if not connected and self.outage == "drop":
                session.closing = True
            elif session.version is not None:
                session.send(replies.error(-1, *(RESTORED if connected else LOST)))

    def _deliver(self, outs: list[Out]) -> None:
        clients = self.clients()
        for client_id, fields in outs:
            session = clients.get(client_id)
            if session is not None:
                session.send(fields)
            # a client that is not connected hears nothing; it asks again when it comes back

    @staticmethod
    def _send_all(session: Session, messages: list[list[Field]]) -> None:
        for fields in messages:
            session.send(fields)
