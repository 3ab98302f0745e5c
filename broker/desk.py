"""`Desk`: breakout watchers on one broker connection, with the supervisor and the journal behind them.

How it works. The desk owns a `JournalRecorder` (the supervisor, every input and output journaled),
a `Runner` carrying events and commands between it and the broker, and one `Watch` per armed
breakout. Whoever drives it (the sim driver below, or a live loop) hands it market data:
`on_bar(symbol, bar)` for completed 1-minute bars, `on_open` for a bar's first price, `on_fast_bar`
for second bars; and calls `pump()` so broker events reach the supervisor. A bar goes only to the
watchers it concerns: the watching ones are kept in a `WatcherBook` by symbol and, for fast entry,
by the threshold a second bar's close must reach (found by bisection, not by asking every watcher).

- Arming journals the watcher (`{"watcher": {"event": "armed", "setup": ...}}`) and the symbol's bars
  seen so far; automatic take-profits are computed then, from that history. A market entry's trade is
  armed in the supervisor at once (its machines are built off the trigger path); a limit entry's
  price is the ask at the trigger, so its trade is armed when it fires.
- Every completed bar of a watched symbol is journaled (`{"bar": {...}}`) before any watcher sees
  it: the journal holds what each watcher saw, so a restart rebuilds it exactly, and `chart` finds
  the day's bars.
- A trigger prices the entry (`strategies.breakout.entry`); a refusal is journaled and nothing is
  sent. Otherwise `{"watcher": {"event": "fired"}}` is journaled and FLUSHED before the entry goes
  to the broker: a watcher whose fire is in the journal is never armed again, so a crash can lose
  a trigger that was never sent, but can never send one twice.
- `Desk.open(...)` over an existing journal restores the supervisor (every trade) and re-arms the
  watchers that had not ended, replaying their journaled bars into them. One that would have fired
  on a replayed bar fired while nothing could send it: it ends as `missed` (a breakout is not
  chased late). Fast (second) bars are not journaled: a resumed watcher replays the minute bars.
  After a restart, `catch_up()` reconciles the restored trades with the broker's truth (what
  happened while the process was down: missed fills, vanished orders, positions).
- Market-data health (broker/desk_health.py): each watched symbol's bar stream is monitored on the
  desk's clock (`check_health()`, called by the driver as time passes) and asked for again through
  the market-data port after a stall. Every bar a watcher sees goes through its `FreshBars`: a stale
  bar is shown to no watcher. Health events are emitted and journaled (`{"health": {...}}`); a
  restart does not replay a bar journaled as stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from broker.desk_health import BarSubscriber, HealthEvent, StreamHealth, health_record, stale_bars
from broker.desk_watch import DeskError, MarketSource, Watch, WatcherEvent
from strategies.breakout import (
    BreakoutSetup,
    EntryPrice,
    Expired,
    Failed,
    Signal,
    Trigger,
    price_entry,
)
from strategies.breakout.book import WatcherBook
from strategies.health import FreshBars, HealthPolicy, StaleBarIgnored
from supervisor.events import SupervisorEvent
from supervisor.journal import Kind
from supervisor.journal_recorder import JournalRecorder
from supervisor.market import Bar
from supervisor.plan import EntryType, PlanError
from supervisor.policy import Policy
from supervisor.port import BrokerPort
from supervisor.risk_desk import RiskDesk, RiskRefusedError
from supervisor.runner import Runner

RiskFactory = Callable[[JournalRecorder, list[Any]], RiskDesk]

_META: tuple[Kind, ...] = ("meta",)


DeskEvent = SupervisorEvent | WatcherEvent | HealthEvent
Listener = Callable[[DeskEvent], None]


class Desk:
    def __init__(self, recorder: JournalRecorder, broker: BrokerPort, market: MarketSource,
                 risk: RiskDesk | None = None, *, bars: BarSubscriber | None = None,
                 health: HealthPolicy | None = None) -> None:
        self.recorder = recorder
        # the calls that decide go through the risk desk when there is one (it wraps the recorder)
        self.risk = risk
        self.supervisor: RiskDesk | JournalRecorder = risk if risk is not None else recorder
        self.broker = broker
        self.market = market
        self.watches: dict[str, Watch] = {}
        self._watching: WatcherBook[str] = WatcherBook()  # the watches still watching, by symbol and level
        self._listeners: list[Listener] = []
        self._bars_journaled: dict[str, float] = {}  # symbol -> start of the last bar journaled
        self.resumed: list[WatcherEvent] = []  # what a restart re-armed (for a listener that came later)
        self.health = StreamHealth(health or HealthPolicy(),
                                   bars if bars is not None else market if isinstance(market, BarSubscriber) else None,
                                   self._health_note)
        self.runner = Runner(self.supervisor, broker, on_event=self._emit)

    @classmethod
    def open(cls, journal: str | Path, broker: BrokerPort, market: MarketSource, policy: Policy | None = None,
             *, session: dict[str, Any] | None = None, risk: RiskFactory | None = None,
             bars: BarSubscriber | None = None, health: HealthPolicy | None = None) -> Desk:
        """Open (or create) the journal, restore every trade and re-arm the watchers that had not ended.
        `risk(recorder, records)` puts a RiskDesk in front (its book rebuilt from the records)."""
        recorder = JournalRecorder.open(journal, market.now, policy)
        controls = risk(recorder, list(recorder.journal.records())) if risk is not None else None
        desk = cls(recorder, broker, market, controls, bars=bars, health=health)
        if session is not None and recorder.journal.last_seq == 0:
            recorder.journal.append("meta", {"session": session})
        desk._resume()
        return desk

    # -- listeners -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self, event: DeskEvent) -> None:
        for listener in self._listeners:
            listener(event)

    def _note(self, watch: Watch, kind: str, time: float, detail: str = "", **extra: Any) -> None:
        record = {"event": kind, "trade_id": watch.trade_id, "symbol": watch.symbol, "time": time,
                  "detail": detail, **extra}
        self.recorder.journal.append("meta", {"watcher": record})
        self._emit(WatcherEvent(trade_id=watch.trade_id, symbol=watch.symbol, kind=kind, time=time, detail=detail))

    def _health_note(self, event: HealthEvent, **extra: Any) -> None:
        self.recorder.journal.append("meta", {"health": health_record(event, **extra)})
        self._emit(event)

    # -- arming ----------------------------------------------------------------------------------
    def arm(self, setup: BreakoutSetup) -> Watch:
        """Arm a watcher (raises PlanError naming a field, or DeskError; nothing is sent either way)."""
        if setup.trade_id in self.watches or setup.trade_id in {t.trade_id for t in self.recorder.trades()}:
            raise DeskError(f"trade id {setup.trade_id!r} is already used in this journal: give another --trade-id")
        history = [attrs.evolve(bar, symbol=setup.symbol) for bar in self.market.history()]
        setup = setup.with_auto_levels(history)
        reference = setup.reference_plan()
        refusal = self.risk.check(reference) if self.risk is not None else None
        if refusal is not None:  # before anything is journaled or sent
            raise RiskRefusedError(refusal)
        watch = Watch(setup, setup.watcher())
        self._journal_bars(setup.symbol, history)
        watch.armed_seq = self.recorder.journal.last_seq + 1
        self._note(watch, "armed", self.market.now(), setup=setup.to_record())
        if setup.entry is EntryType.MARKET:
            self.runner.execute(self.supervisor.arm(reference))
            watch.prearmed = True
        self.watches[setup.trade_id] = watch
        self._watch(watch)
        return watch

    def _watch(self, watch: Watch) -> None:
        """A watcher starts watching: its bars through `FreshBars`, its symbol's stream monitored."""
        watch.fresh = FreshBars(watch.watcher, self.health.policy)
        self._watching.add(watch.trade_id, watch.symbol, watch.watcher)
        self.health.watch(watch.symbol, self.market.now())

    def _journal_bars(self, symbol: str, bars: Iterable[Bar]) -> None:
        last = self._bars_journaled.get(symbol, -math.inf)
        for bar in bars:
            if bar.time > last:
                self.recorder.journal.append("meta", {"bar": {
                    "symbol": symbol, "time": bar.time, "open": bar.open, "high": bar.high, "low": bar.low,
                    "close": bar.close, "volume": bar.volume, "seconds": bar.seconds}})
                last = bar.time
        self._bars_journaled[symbol] = last

    # -- market data ------------------------------------------------------------------------------
    def followed_symbols(self) -> set[str]:
        """Symbols whose bars go to the journal (every symbol a watcher was armed on)."""
        return set(self._bars_journaled)

    def watched_symbols(self) -> set[str]:
        return self._watching.symbols()

    def _of(self, trade_ids: list[str]) -> list[Watch]:
        watches = self.watches
        return [watches[trade_id] for trade_id in trade_ids]

    def on_bar(self, symbol: str, bar: Bar) -> None:
        watching = self._of(self._watching.of_symbol(symbol))
        if symbol in self._bars_journaled or watching:
            self._journal_bars(symbol, [bar])
        now = self.market.now()
        self.health.heard(symbol, bar, now)
        stale: list[tuple[str, StaleBarIgnored]] = []
        for watch in watching:
            assert watch.fresh is not None
            seen = watch.fresh.on_bar(bar, now)
            if isinstance(seen, StaleBarIgnored):
                stale.append((watch.trade_id, seen))
            else:
                self._handle(watch, seen)
        self.health.ignored(stale, bar)

    def on_open(self, symbol: str, time: float, price: float) -> None:
        for watch in self._of(self._watching.of_symbol(symbol)):
            self._handle(watch, watch.watcher.on_open(time, price))

    def on_fast_bar(self, symbol: str, bar: Bar) -> None:
        """A second bar: only the watchers whose fast threshold its close reaches are asked (the book's
        bisection); the others cannot fire on it and a fast bar changes nothing else in a watcher."""
        now = self.market.now()
        self.health.heard(symbol, bar, now)
        stale: list[tuple[str, StaleBarIgnored]] = []
        for watch in self._of(self._watching.fast_candidates(symbol, bar.close)):
            assert watch.fresh is not None
            ignored = watch.fresh.stale(bar, now)
            if ignored is not None:
                stale.append((watch.trade_id, ignored))
            else:
                self._handle(watch, watch.watcher.on_fast_bar(bar))
        self.health.ignored(stale, bar)

    def streams_started(self) -> None:
        """The bar streams start now (after a restart's catch-up): no stall counts from before."""
        self.health.subscribed(self.market.now())

    def check_health(self) -> None:
        """Time passed: each watched symbol's bar stream is checked (a stall noticed, its bars asked
        for again, or given up on; see broker/desk_health.py)."""
        self.health.check(self.market.now(), self._watching.symbols())

    def end_of_data(self) -> None:
        """The stream is over: every watcher still watching expires (nothing was sent for it)."""
        now = self.market.now()
        for watch in [w for w in self.watches.values() if w.active]:
            self._handle(watch, watch.watcher.end_of_data(now))

    def pump(self) -> int:
        return self.runner.pump()

    # -- signals ----------------------------------------------------------------------------------
    def _handle(self, watch: Watch, signal: Signal | None) -> None:
        if signal is None:
            return
        if isinstance(signal, Trigger):
            self._fire(watch, signal)
            return
        kind = "expired" if isinstance(signal, Expired) else "failed"
        detail = (f"no breakout in {signal.bars_watched} bars: nothing sent" if isinstance(signal, Expired)
                  else f"{signal.reason}: nothing sent" if isinstance(signal, Failed) else "")
        self._end(watch, kind, signal.time, detail)

    def _end(self, watch: Watch, kind: str, time: float, detail: str) -> None:
        watch.status, watch.detail = kind, detail
        self._watching.remove(watch.trade_id)
        self._note(watch, kind, time, detail)
        if watch.prearmed:
            self.runner.execute(self.supervisor.expire(watch.trade_id))

    def _fire(self, watch: Watch, trigger: Trigger) -> None:
        now = self.market.now()
        setup = watch.setup
        priced = price_entry(setup, self.market.latest_quote(setup.symbol), now, trigger.price)
        if isinstance(priced, EntryPrice):
            try:
                plan = setup.plan(priced.price)
            except PlanError as exc:
                priced = f"{exc.field}={exc.value!r} {exc.reason} (entry {priced.basis})"
        if isinstance(priced, EntryPrice) and self.risk is not None:
            refusal = self.risk.entry_refusal(setup.trade_id) or (None if watch.prearmed else self.risk.check(plan))
            if refusal is not None:
                priced = f"refused by the risk policy: {refusal}"
        if not isinstance(priced, EntryPrice):
            self._end(watch, "refused", now, f"{trigger.rule} at {trigger.price:g}, but {priced}: nothing sent")
            return
        watch.status = "fired"
        self._watching.remove(watch.trade_id)
        watch.detail = f"{trigger.rule} at {trigger.price:g}; entry {priced.basis}"
        self._note(watch, "fired", now, watch.detail, price=trigger.price, rule=trigger.rule,
                   entry_price=priced.price, bars_watched=trigger.bars_watched)
        self.recorder.flush()  # the fire is on disk before the entry leaves: never sent twice
        commands = [] if watch.prearmed else self.supervisor.arm(plan)
        commands += self.supervisor.trigger(setup.trade_id, source_time=min(trigger.time, now))
        self.runner.execute(commands)

    # -- operator requests ------------------------------------------------------------------------
    def cancel(self, targets: Sequence[str]) -> list[str]:
        """`breakout cancel SYMBOL...|ALL`: stop the matching watchers; a fired trade whose entry is
        still working gets it cancelled (shares already held keep their exits). Returns what was done."""
        every = any(t.upper() == "ALL" for t in targets)
        wanted = {t.upper() for t in targets}
        done: list[str] = []
        now = self.market.now()
        for watch in self.watches.values():
            if not (every or watch.symbol.upper() in wanted or watch.trade_id.upper() in wanted):
                continue
            if watch.active:
                self._end(watch, "cancelled", now, "cancelled by the operator: nothing sent")
                done.append(f"{watch.trade_id}: watcher cancelled, nothing sent")
            elif watch.status == "fired":
                trade = self.recorder.trade(watch.trade_id)
                entry = trade.leg("entry")
                if entry.state in ("pending", "sent", "working", "partially_filled"):
                    self.runner.execute(self.supervisor.cancel(watch.trade_id))
                    done.append(f"{watch.trade_id}: entry cancel requested ({entry.filled_qty} executed keep "
                                f"their exits)")
        if not done:
            raise DeskError(f"nothing to cancel for {' '.join(targets)}: no watcher watching, no entry working")
        return done

    # -- restart ------------------------------------------------------------------------------------
    def _resume(self) -> None:
        bars: dict[str, list[tuple[int, Bar]]] = {}
        stale = stale_bars(record.value for record in self.recorder.journal.records(kinds=_META))
        for record in self.recorder.journal.records(kinds=_META):
            value = record.value
            if not isinstance(value, dict):
                continue
            if "bar" in value:
                b = value["bar"]
                bar = Bar(b["time"], b["open"], b["high"], b["low"], b["close"], volume=b["volume"],
                          seconds=b["seconds"], symbol=b["symbol"])
                bars.setdefault(b["symbol"], []).append((record.seq, bar))
                self._bars_journaled[b["symbol"]] = max(self._bars_journaled.get(b["symbol"], -math.inf), bar.time)
            elif "watcher" in value:
                note = value["watcher"]
                if note["event"] == "armed":
                    setup = BreakoutSetup.from_record(note["setup"])
                    self.watches[setup.trade_id] = Watch(setup, setup.watcher(), armed_seq=record.seq)
                elif note["trade_id"] in self.watches:
                    watch = self.watches[note["trade_id"]]
                    watch.status, watch.detail = note["event"], note.get("detail", "")
        held = {t.trade_id: t for t in self.recorder.trades()}
        for watch in self.watches.values():
            trade = held.get(watch.trade_id)
            watch.prearmed = trade is not None and trade.leg("entry").state == "armed"
            if not watch.active:
                continue
            self._watch(watch)
            resumed = WatcherEvent(trade_id=watch.trade_id, symbol=watch.symbol, kind="resumed",
                                   time=self.market.now(), detail="re-armed from the journal")
            self.resumed.append(resumed)
            self._emit(resumed)
            for seq, bar in bars.get(watch.symbol, []):
                if seq > watch.armed_seq and (watch.symbol, bar.time) not in stale:
                    signal = watch.watcher.on_bar(bar)
                    if isinstance(signal, Trigger):
                        self._end(watch, "missed", bar.end,
                                  f"{signal.rule} at {signal.price:g} on a bar journaled before the restart; "
                                  f"the entry was never sent (not chased late)")
                    else:
                        self._handle(watch, signal)
                    if not watch.active:
                        break

    def catch_up(self) -> bool:
        """After a restart: reconcile the restored trades with the broker's truth. False when the
        broker cannot answer now (the runner reconciles again after the reconnect)."""
        if not self.recorder.trades():
            return True
        try:
            self.runner.reconcile()
        except ConnectionError:
            return False
        return True

    # -- reads ----------------------------------------------------------------------------------------
    def working_orders(self) -> list[str]:
        return [ref for trade in self.recorder.trades() for ref in trade.working_orders]

    def close(self) -> None:
        self.recorder.close()
