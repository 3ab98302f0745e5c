"""tests/ib_e2e: the IB adapter against the TWS simulator over loopback. Every test starts its own
simulator on 127.0.0.1 port 0 in a thread and stops it by its handle (`ib_wire.gateway`); the
client side runs in the test's own event loop (`asyncio.run`), made and closed by the test."""
