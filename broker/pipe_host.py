"""The broker's side of `broker.pipe`: serves one `BrokerPort` to a supervisor in another process.

How it works: `serve()` reads the supervisor's messages in order and answers each at once:
`execute` runs the command on the broker (no answer: its outcome comes back as events), `poll`
answers with the broker's new events, `query` with its truth (or the error, if the broker is
disconnected). Every answer carries the broker's clock. The first message with any other op (a
driver's "done", "hello", ...) ends `serve()` and is returned: the driver decides what happens
next (step the market, send the next message, stop).

`observe`, when given, is called with every message served and its index, after the broker has
acted on it and sent its answer (`last_reply`); a crash test kills the supervisor process from
there (e.g. right after the bytes of a `PlaceOrder` reached the broker, before the supervisor's
journal was flushed). Events polled from the broker are answered once: when the supervisor dies
they are lost with its connection, as with IB, and the restarted one learns the facts from
`query()`.
"""

from __future__ import annotations

from collections.abc import Callable

from broker.pipe import LineChannel, Message, ProtocolError
from supervisor import codec
from supervisor.port import BrokerPort, CancelOrder, ModifyOrder, PlaceOrder

Observer = Callable[[int, Message], None]


class PipeHost:
    def __init__(
        self, broker: BrokerPort, clock: Callable[[], float], channel: LineChannel, *, observe: Observer | None = None
    ) -> None:
        self.broker = broker
        self.clock = clock
        self.channel = channel
        self.observe = observe
        self.served = 0  # messages read from the supervisor, all kinds
        self.last_reply: Message | None = None  # the answer to the last poll or query

    def send(self, message: Message) -> None:
        """A driver's message to the supervisor, stamped with the broker's clock."""
        self.channel.send({**message, "now": self.clock()})

    def serve(self) -> Message:
        """Answer port calls until the supervisor sends something else; return that message."""
        while True:
            message = self.channel.receive()
            index = self.served
            self.served += 1
            op = message["op"]
            self.last_reply = None
            if op == "execute":
                command = codec.decode(message["command"])
                if not isinstance(command, (PlaceOrder, ModifyOrder, CancelOrder)):
                    raise ProtocolError(f"execute carries a {type(command).__name__}, not a command")
                self.broker.execute(command)
            elif op == "poll":
                events = [codec.encode(event) for event in self.broker.poll()]
                self._answer({"op": "events", "now": self.clock(), "events": events})
            elif op == "query":
                self._answer_query(message.get("since"))
            if self.observe is not None:
                self.observe(index, message)
            if op not in ("execute", "poll", "query"):
                return message

    def _answer_query(self, since: object) -> None:
        executions_since = float(since) if isinstance(since, (int, float)) else None
        try:
            truth = self.broker.query(executions_since=executions_since)
        except ConnectionError as exc:
            self._answer({"op": "truth", "now": self.clock(), "error": str(exc)})
            return
        self._answer({"op": "truth", "now": self.clock(), "truth": codec.encode(truth)})

    def _answer(self, reply: Message) -> None:
        self.last_reply = reply
        self.channel.send(reply)
