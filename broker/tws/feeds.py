# Market data subscriptions, served from the exchange's price points (broker/tws/market.py) as the
# clock passes them. Each subscription is keyed by (session, request id):
# - quotes (`reqMktData`): on subscribing the current bid/ask/last/volume/high/low/open (a snapshot
#   ends with tickSnapshotEnd); then at every price point bid, ask, last and volume. There is no
#   order book: the quote is the last price one tick either side (the exchange fills market orders
#   at the last price, see broker/sim/orders.py);
# - historical bars (`reqHistoricalData`): the bars of the window asked for, built from the points
#   already passed; with keepUpToDate the bar being formed is updated at every point, and a new
#   bar starts when the clock enters the next bucket (IB's historicalDataUpdate);
# - real-time bars (`reqRealTimeBars`, 5 seconds): each 5-second window is sent once the clock has
#   passed its end (a window with no price point is flat at the last price, volume 0).
from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import attrs

from broker.sim.orders import round_to_tick
from broker.tws import replies_data as data
from broker.tws.contracts import Contracts
from broker.tws.exchange import SimExchange
from broker.tws.market import (
    Buckets,
    Point,
    aggregate,
    bar_size_seconds,
    duration_seconds,
    flat,
    format_bar_time,
    parse_ib_time,
)
from broker.tws.requests import ReqHistoricalData, ReqMktData, ReqRealTimeBars, RequestError
from broker.tws.wire import Field

Key = tuple[int, int]  # (session id, request id)
QUOTE_SIZE = 100.0
RT_SECONDS = 5.0


def _invalid(req_id: int, field: str, value: object, problem: str) -> RequestError:
    return RequestError(321, f"Error validating request.-'{field}' : cause - {problem} (got {value!r})", req_id)


def _hmds(req_id: int, field: str, value: object, problem: str) -> RequestError:
    """A historical request TWS refuses: 162, which ends the client's request (321 would not)."""
    return RequestError(162, f"Historical Market Data Service error message: '{field}' {problem} (got {value!r})",
                        req_id)


@attrs.define
class _Bars:
    buckets: Buckets
    use_rth: bool
    format_date: int
    current: list[Point] = attrs.field(factory=list)
    start: float | None = None


@attrs.define
class _RealTime:
    start: float
    use_rth: bool
    last_price: float
    pending: list[Point] = attrs.field(factory=list)


class Feeds:
    def __init__(self, exchange: SimExchange, contracts: Contracts) -> None:
        self.exchange = exchange
        self.contracts = contracts
        self.tz = ZoneInfo(exchange.config.timezone)
        self._in_rth: Callable[[float], bool] = exchange.config.session.in_regular_hours
        self._quotes: dict[Key, int] = {}  # -> market data type
        self._bars: dict[Key, _Bars] = {}
        self._realtime: dict[Key, _RealTime] = {}

    # -- subscribing ---------------------------------------------------------------------------

    def quotes(self, session: int, request: ReqMktData, data_type: int) -> list[list[Field]]:
        self.contracts.resolve(request.contract, request.req_id)
        out = [data.market_data_type(request.req_id, data_type), *self._quote(request.req_id, full=True)]
        if request.snapshot:
            return [*out, data.tick_snapshot_end(request.req_id)]
        self._quotes[(session, request.req_id)] = data_type
        return out

    def historical(self, session: int, request: ReqHistoricalData) -> list[list[Field]]:
        rid = request.req_id
        self.contracts.resolve(request.contract, rid)
        try:
            size = bar_size_seconds(request.bar_size)
        except ValueError as exc:
            raise _hmds(rid, "barSizeSetting", request.bar_size, str(exc)) from None
        try:
            span = duration_seconds(request.duration)
        except ValueError as exc:
            raise _hmds(rid, "durationStr", request.duration, str(exc)) from None
        if request.format_date not in (1, 2):
            raise _hmds(rid, "formatDate", request.format_date, "1 (local time) or 2 (epoch seconds)")
        now = self.exchange.now()
        end = now
        if request.end:
            if request.keep_up_to_date:
                raise _hmds(rid, "endDateTime", request.end, "keepUpToDate needs an empty endDateTime")
            try:
                end = min(parse_ib_time(request.end, self.tz), now)
            except ValueError as exc:
                raise _hmds(rid, "endDateTime", request.end, str(exc)) from None
        buckets = Buckets(size, self.tz)
        points = [p for p in self.exchange.visited_points() if p.time <= end and (p.rth or not request.use_rth)]
        bars = buckets.bars(points, since=end - span)
        dated = [(format_bar_time(b.start, size, request.format_date, self.tz), b) for b in bars]
        start_text = format_bar_time(end - span, 1, 1, self.tz)
        out = [data.historical_data(rid, start_text, format_bar_time(end, 1, 1, self.tz), dated)]
        if request.keep_up_to_date:
            sub = _Bars(buckets, request.use_rth, request.format_date)
            if points:
                sub.start = buckets.start(points[-1].time)
                sub.current = [p for p in points if buckets.start(p.time) == sub.start]
            self._bars[(session, rid)] = sub
        return out

    def realtime(self, session: int, request: ReqRealTimeBars) -> list[list[Field]]:
        self.contracts.resolve(request.contract, request.req_id)
        if request.bar_size != RT_SECONDS:
            raise _invalid(request.req_id, "barSize", request.bar_size, "real-time bars are 5 seconds")
        start = Buckets(RT_SECONDS, self.tz).start(self.exchange.now())
        visited = self.exchange.visited_points()
        before = [p for p in visited if p.time < start]
        last = before[-1].price if before else self.exchange.bars[0].open
        pending = [p for p in visited if p.time >= start]
        self._realtime[(session, request.req_id)] = _RealTime(start, request.use_rth, last, pending)
        return []

    def cancel(self, session: int, kind: str, req_id: int) -> None:
        key = (session, req_id)
        if kind == "mktData":
            self._quotes.pop(key, None)
        elif kind == "historicalData":
            self._bars.pop(key, None)
        elif kind == "realTimeBars":
            self._realtime.pop(key, None)

    def drop(self, session: int) -> None:
        """A session ended: its subscriptions end with it."""
        self._quotes = {k: v for k, v in self._quotes.items() if k[0] != session}
        self._bars = {k: v for k, v in self._bars.items() if k[0] != session}
        self._realtime = {k: v for k, v in self._realtime.items() if k[0] != session}

    # -- the clock passed a point --------------------------------------------------------------

    def on_point(self, point: Point) -> list[tuple[int, list[Field]]]:
        out: list[tuple[int, list[Field]]] = []
        for (session, rid), _ in self._quotes.items():
            out += [(session, message) for message in self._quote(rid, full=False)]
        for (session, rid), sub in self._realtime.items():
            out += [(session, message) for message in self._advance_realtime(rid, sub, point)]
        for (session, rid), bars in self._bars.items():
            if bars.use_rth and not point.rth:
                continue
            start = bars.buckets.start(point.time)
            if start != bars.start:
                bars.start, bars.current = start, []
            bars.current.append(point)
            date = format_bar_time(start, bars.buckets.seconds, bars.format_date, self.tz)
            out.append((session, data.historical_update(rid, date, aggregate(bars.current, start))))
        return out

    def _quote(self, rid: int, *, full: bool) -> list[list[Field]]:
        visited = self.exchange.visited_points()
        last = self.exchange.last_price()
        tick = self.exchange.config.tick_size
        last_size = max(round(visited[-1].volume), 1) if visited else 0
        out = [
            data.tick_price(rid, data.BID, round_to_tick(max(last - tick, tick), tick), QUOTE_SIZE),
            data.tick_price(rid, data.ASK, round_to_tick(last + tick, tick), QUOTE_SIZE),
            data.tick_price(rid, data.LAST, last, last_size),
            data.tick_size(rid, data.VOLUME, round(sum(p.volume for p in visited))),
        ]
        if full and visited:
            prices = [p.price for p in visited]
            out += [data.tick_price(rid, data.HIGH, max(prices), 0), data.tick_price(rid, data.LOW, min(prices), 0),
                    data.tick_price(rid, data.OPEN, prices[0], 0)]
        return out

    def _advance_realtime(self, rid: int, sub: _RealTime, point: Point) -> list[list[Field]]:
        out: list[list[Field]] = []
        while sub.start + RT_SECONDS <= point.time:
            end = sub.start + RT_SECONDS
            inside = [p for p in sub.pending if p.time < end]
            sub.pending = [p for p in sub.pending if p.time >= end]
            bar = aggregate(inside, sub.start) if inside else flat(sub.start, sub.last_price)
            sub.last_price = bar.close
            if not sub.use_rth or self._in_rth(sub.start):
                out.append(data.realtime_bar(rid, bar))
            sub.start = end
        sub.pending.append(point)
        return out
