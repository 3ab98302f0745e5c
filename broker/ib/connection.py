"""The adapter's connection: connect once with a timeout, reconnect on loss, refuse what is live.

How it works: `IBConnection` owns the link to TWS or IB Gateway when the adapter opened it, and only
watches it when a bot handed in an `ib_async.IB` it already holds (then the bot reconnects it;
the adapter never opens a second connection behind its back).

- `connect()` checks the port with the live guard BEFORE any socket opens, then runs the injected
  connector (default: `IB.connectAsync` with the configured timeout) and races it against IB's
  error 326: a client id already in use fails at once with `ClientIdInUseError` naming the id, instead
  of waiting for the handshake to time out.
- Every time IB says the connection is up (`connectedEvent`, also after a bot's own reconnect)
  the managed accounts go through the live guard again: a Gateway that came back logged in to a
  live account is refused (an adapter-owned connection is dropped; a bot's is left alone, and the
  adapter refuses every command from then on).
- On a socket loss the adapter says `ConnectionLost`; an adapter-owned connection then reconnects
  on the `Backoff` schedule (bounded, exponential, jittered by the injected rng, slept with the
  injected sleep) and says `ConnectionRestored` once it is up again (the runner reconciles then).
  A schedule with `max_attempts` that runs out ends in a `BrokerNotice` 502.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from ib_async import IB
from loguru import logger

from broker.ib.backoff import Backoff
from broker.ib.safety import LiveGuard, LiveTradingRefusedError, mask_account


@attrs.frozen
class IBConfig:
    host: str = "127.0.0.1"
    port: int = 7497  # TWS paper (IB Gateway paper: 4002)
    client_id: int = 1
    account: str = ""  # the account orders go to ("" : the only managed one)
    timeout: float = 4.0  # seconds for the connection, and for each request of broker truth
    allow_live: bool = False  # one of the two switches for live trading (safety.py)
    backoff: Backoff = attrs.field(factory=Backoff)


class ClientIdInUseError(ConnectionError):
    """IB error 326: another API client holds this client id on this TWS/Gateway."""


Connector = Callable[[IB, IBConfig], Awaitable[Any]]


async def connect_ib(ib: IB, config: IBConfig) -> None:
    await ib.connectAsync(config.host, config.port, config.client_id, timeout=config.timeout,
                          account=config.account)


class IBConnection:
    def __init__(self, ib: IB, config: IBConfig, guard: LiveGuard, *, owned: bool, connector: Connector,
                 rng: random.Random, sleep: Callable[[float], Awaitable[Any]],
                 on_up: Callable[[bool], None], on_down: Callable[[], None],
                 on_gave_up: Callable[[str], None]) -> None:
        self.ib = ib
        self.config = config
        self.guard = guard
        self.owned = owned
        self.refusal: LiveTradingRefusedError | None = None
        self._connector = connector
        self._rng = rng
        self._sleep = sleep
        self._on_up, self._on_down, self._on_gave_up = on_up, on_down, on_gave_up
        self._ever_up = ib.isConnected()
        self._closing = False
        self._connecting = False
        self._failed: asyncio.Future[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        if self._ever_up:
            self._check_live()
            if self.refusal is not None:
                raise self.refusal
        ib.connectedEvent += self._connected
        ib.disconnectedEvent += self._disconnected

    @property
    def up(self) -> bool:
        return self.ib.isConnected()

    @property
    def reconnect_task(self) -> asyncio.Task[None] | None:
        return self._reconnect_task if self.reconnecting else None

    @property
    def reconnecting(self) -> bool:
        return self._reconnect_task is not None and not self._reconnect_task.done()

    def where(self) -> str:
        return f"{self.config.host}:{self.config.port} (client id {self.config.client_id})"

    # -- connecting ----------------------------------------------------------------------------
    async def connect(self) -> None:
        if not self.owned:
            raise RuntimeError("this IBBroker uses the bot's own IB connection: connect that one, the adapter "
                               "never opens a second")
        self._closing = False
        self.guard.check_port(self.config.port)
        if self.config.account:
            self.guard.check_accounts([self.config.account], "IBConfig.account")
        loop = asyncio.get_running_loop()
        self._failed = loop.create_future()
        self._connecting = True
        attempt = asyncio.ensure_future(self._connector(self.ib, self.config))
        try:
            await asyncio.wait({attempt, self._failed}, return_when=asyncio.FIRST_COMPLETED)
            if not attempt.done():
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
                self.ib.disconnect()
                self._failed.result()  # raises ClientIdInUseError
            try:
                attempt.result()
            except (TimeoutError, ConnectionError, OSError) as exc:
                if self._failed.done() and self._failed.exception() is not None:
                    raise self._failed.exception() from exc  # type: ignore[misc]
                raise
        finally:
            self._connecting = False
            if not self._failed.done():
                self._failed.cancel()
            self._failed = None
        if self.refusal is not None:
            raise self.refusal

    def client_id_in_use(self, message: str) -> None:
        """IB error 326 arrived: fail the connect in progress at once."""
        error = ClientIdInUseError(f"client id {self.config.client_id} is already in use at {self.config.host}:"
                              f"{self.config.port} (IB error 326: {message}); pick another IBConfig.client_id")
        logger.error(str(error))
        if self._failed is not None and not self._failed.done():
            self._failed.set_exception(error)

    def close(self) -> None:
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        self.ib.connectedEvent -= self._connected
        self.ib.disconnectedEvent -= self._disconnected
        if self.owned:
            self.ib.disconnect()

    # -- what IB tells ---------------------------------------------------------------------------
    def _check_live(self) -> None:
        accounts = [self.config.account] if self.config.account else list(self.ib.client.getAccounts())
        try:
            self.guard.check_port(self.ib.client.port)
            self.guard.check_accounts(accounts)
        except LiveTradingRefusedError as refused:
            self.refusal = refused
            logger.error(str(refused))

    def _connected(self) -> None:
        self._check_live()
        if self.refusal is not None:
            if self.owned:
                self._closing = True
                self.ib.disconnect()
            return
        shown = ", ".join(mask_account(a) for a in self.ib.client.getAccounts())
        logger.info("IB connected to {}, accounts {}", self.where(), shown)
        first, self._ever_up = not self._ever_up, True
        self._on_up(first)

    def _disconnected(self) -> None:
        if self._connecting:
            return  # a failed attempt: the attempt's caller handles it
        self._on_down()
        if self.owned and not self._closing and self.refusal is None and not self.reconnecting:
            logger.warning("IB connection to {} lost: reconnecting", self.where())
            self._reconnect_task = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        attempts = 0
        for delay in self.config.backoff.delays(self._rng):
            attempts += 1
            await self._sleep(delay)
            if self._closing:
                return
            try:
                await self.connect()
                return
            except LiveTradingRefusedError:
                return
            except (TimeoutError, ConnectionError, OSError) as exc:
                logger.warning("IB reconnect attempt {} to {} failed: {!r}", attempts, self.where(), exc)
        self._on_gave_up(f"gave up reconnecting to {self.where()} after {attempts} attempts")
