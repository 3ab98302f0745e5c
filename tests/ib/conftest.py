"""Fixtures for the IB adapter: an `IBBroker` connected to a `FakeClient` (no socket), the `Tws`
that speaks IB's side, and a clock that moves only when told.

`connected` is the fixture end-to-end tests build on: it yields a `Connected` (the adapter and what
drives its broker) for each backend in `BACKENDS`. Today that is the in-process fake; the
TWS-protocol simulator joins as one more backend (an adapter connected over loopback to a
simulator on a free port), and every test written against `Connected` runs on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import attrs
import pytest
from ib_async import IB
from ib_fakes import FakeClient, FakeExchange, Tws, fake_ib

from broker.ib import IBBroker


class FakeClock:
    def __init__(self, start: float = 1_710_426_600.0) -> None:  # 2024-03-14 14:30 UTC
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@attrs.frozen
class Connected:
    broker: IBBroker
    ib: IB
    fake: FakeClient  # for tests on the in-process fake only (`rig`)
    tws: Tws
    clock: FakeClock
    # let the broker answer: nothing to do for the in-process fake (it answers within the call);
    # a backend over a socket runs its event loop a little here
    pump: Callable[[], None] = lambda: None


def _fake_backend(*, exchange: bool = False) -> Iterator[Connected]:
    ib, fake = fake_ib()
    clock = FakeClock()
    broker = IBBroker(ib, clock=clock, environ={})
    tws = Tws(ib, fake)
    if exchange:
        FakeExchange(tws)
    yield Connected(broker, ib, fake, tws, clock)
    broker.close()


BACKENDS: dict[str, Callable[[], Iterator[Connected]]] = {"fake": lambda: _fake_backend(exchange=True)}


@pytest.fixture(params=sorted(BACKENDS))
def connected(request: pytest.FixtureRequest) -> Iterator[Connected]:
    """A connected adapter with a broker that answers: tests written only against the port."""
    yield from BACKENDS[request.param]()


@pytest.fixture
def rig() -> Iterator[Connected]:
    """The in-process fake with no exchange: tests that script IB's messages one by one."""
    yield from _fake_backend()


@pytest.fixture
def sync_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The event loop ib_async's blocking calls (`query()`, `qualify()`) run on when no loop runs,
    made here and closed after the test (ib_async would make one and leave it open)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()
