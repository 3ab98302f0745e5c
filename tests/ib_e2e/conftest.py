"""tests/ib_e2e: the IB adapter against the TWS simulator over loopback. Every test starts its own
simulator on 127.0.0.1 port 0 in a thread and stops it by its handle (`ib_wire.gateway`); the
client side runs in the test's own event loop (`asyncio.run`, or the command's own).

ib_async's synchronous calls make an event loop for the main thread whenever none is set (and never
close it); `asyncio.run` (a test's, or a command's) leaves none set when it ends. So each test gets
a fresh loop here, and every loop left set afterwards is closed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest


def _close(loop: asyncio.AbstractEventLoop) -> None:
    if loop.is_closed():
        return
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture(autouse=True)
def client_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    left = None
    with contextlib.suppress(RuntimeError):  # none set: asyncio.run ended last
        left = asyncio.get_event_loop_policy().get_event_loop()
    _close(loop)
    if left is not None and left is not loop:
        _close(left)
    asyncio.set_event_loop(None)
