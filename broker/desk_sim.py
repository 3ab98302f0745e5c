"""`SimDriver`: drives a `Desk` on the simulated exchange, one price point at a time.

Each `step()` moves the exchange to its next price point, pumps the broker's events into the
supervisor, and hands the market data that point produced to the desk: a bar's first price
(`on_open`, when it falls on a minute), and a completed bar. Bars shorter than a minute (a file of 1-
or 5-second bars) go to `on_fast_bar` and are aggregated (`MinuteBars`) into the 1-minute bars the
rules read; 1-minute bars go to `on_bar` directly. Every symbol the desk follows gets the same
bars (the simulated day prices any symbol). After the market data of a step, the desk checks its
bar streams' health (`check_health`, on the exchange's clock): a stall (fault `stall:WHEN:SECONDS`)
is noticed there and the desk's re-subscriptions go to the exchange, whose answer (the withheld
bars, `replayed`) comes first at the step the stall is over. `finish()` runs at the end of data:
watchers still watching expire, and the exchange is pumped until nothing more arrives.
"""

from __future__ import annotations

import attrs

from broker.desk import Desk
from broker.sim_market import SimExchange
from strategies.breakout import MinuteBars
from supervisor.market import Bar

_MAX_DRAIN_STEPS = 50  # after the end of data: this many steps at most until two quiet pumps


class SimDriver:
    def __init__(self, desk: Desk, exchange: SimExchange) -> None:
        self.desk = desk
        self.exchange = exchange
        self._minutes = MinuteBars()
        self.finished = False

    def _symbols(self) -> list[str]:
        return sorted(self.desk.watched_symbols() | set(self.desk.followed_symbols()))

    def step(self) -> bool:
        """One price point. False once the data is over (then `finish()` has run)."""
        if self.finished:
            return False
        more = self.exchange.step()
        self.desk.pump()
        opened = self.exchange.opened
        if opened is not None and opened[0] % 60 == 0:
            for symbol in self._symbols():
                self.desk.on_open(symbol, *opened)
        closed = self.exchange.last_closed
        arrived = [*self.exchange.replayed, *([closed] if closed is not None else [])]
        for bar in arrived:
            minutes: list[Bar]
            if bar.seconds < 60:
                for symbol in self._symbols():
                    self.desk.on_fast_bar(symbol, attrs.evolve(bar, symbol=symbol))
                minutes = self._minutes.push(bar)
            else:
                minutes = [bar]
            for minute in minutes:
                for symbol in self._symbols():
                    self.desk.on_bar(symbol, attrs.evolve(minute, symbol=symbol))
        if arrived:
            self.desk.pump()
        if more:
            self.desk.check_health()  # decides nothing for the broker: no pump needed
        if not more:
            self.finish()
        return more

    def run_until(self, time: float) -> None:
        while not self.finished and self.exchange.now() < time:
            self.step()

    def skip_to(self, time: float) -> None:
        """Move the replay to `time` without handing its bars to the desk: a restarted process
        catching up to where its journal stopped (the watchers saw those bars before)."""
        while not self.finished and self.exchange.now() < time:
            if not self.exchange.step():
                self.finish()
            self.desk.pump()
        self.desk.streams_started()  # the bars flow to the desk from here: no stall counts from before

    def run_bars(self, count: int) -> None:
        """Step until `count` bars have closed (or the data ends)."""
        closed = 0
        while closed < count and self.step():
            closed += self.exchange.last_closed is not None

    def run(self) -> None:
        while self.step():
            pass

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        for minute in self._minutes.flush():
            for symbol in self._symbols():
                self.desk.on_bar(symbol, attrs.evolve(minute, symbol=symbol))
        self.desk.end_of_data()
        quiet = 0
        for _ in range(_MAX_DRAIN_STEPS):
            self.exchange.step()  # at the end of data: lets every pending latency and expiry come due
            quiet = quiet + 1 if self.desk.pump() == 0 else 0
            if quiet >= 2:
                break
