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
from ib_fakes import FakeClient, Tws, fake_ib

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
    fake: FakeClient | None  # None on a backend with a real socket
    tws: Tws | None
    clock: FakeClock


def _fake_backend() -> Iterator[Connected]:
    ib, fake = fake_ib()
    clock = FakeClock()
    broker = IBBroker(ib, clock=clock, environ={})
    yield Connected(broker, ib, fake, Tws(ib, fake), clock)
    broker.close()


BACKENDS: dict[str, Callable[[], Iterator[Connected]]] = {"fake": _fake_backend}


@pytest.fixture(params=sorted(BACKENDS))
def connected(request: pytest.FixtureRequest) -> Iterator[Connected]:
    yield from BACKENDS[request.param]()


@pytest.fixture
def rig() -> Iterator[Connected]:
    """The in-process fake only: tests that script IB's messages one by one."""
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
