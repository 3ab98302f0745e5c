"""Benchmarks of issue 10: the figures `order-supervisor bench` measures and the journal latency report.

One module per figure family, each measuring its figure beside its reference in this process:
`order_path` (signal to wire, fill to protected: a real ib_async client against the TWS
simulator over loopback, `wire` is that rig), `core_figures` (the supervisor alone: events per
second, memory, arm, one bare state-machine transition), `journal_figures` (append, replay),
`watchers` (1,000 breakout watchers on second bars); `suite` runs them, `figures` holds the
values and prints them, `script` is the scripted exchange the socket-free figures use, and
`latency` reads a journal's latency stamps for `order-supervisor latency`.

Nothing here is imported by the supervisor; timings never appear in unit tests.
"""

NAMES = ("signal_to_wire", "fill_to_protected", "fill_to_protected_two_piece", "supervisor_event",
         "memory_per_trade", "arm", "journal_append", "journal_replay", "watchers_lag")
