"""The operator's controls on the command line: risk limits, the entry's TTL and the time exit.

How it works: `control_options` adds the same options to `run`, `breakout arm` and `console`:
`--max-risk`, `--max-position`, `--max-trades-per-day`, `--max-daily-loss`, `--max-open-trades`,
`--roll-hour` and `--risk FILE.toml` (the `RiskPolicy`: the file first, the flags override it),
`--entry-ttl SECONDS` and `--flatten-at HH:MM` (exchange time). `controls_from(values)` takes them
out of a command's keyword arguments and checks them: a bad value is exit 2 naming the option and
the value (click's own types, or the `RiskPolicyError` of a file or a limit), and nothing is sent.
`Controls.desk(...)` puts a `supervisor.risk_desk.RiskDesk` in front of a supervisor; over a
journal with a history, its risk book is rebuilt from that journal (`RiskBook.replay`), so the
day's counters and a pulled kill switch survive a restart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs
import click

from broker.cli import options as opt
from supervisor.risk import RiskBook, RiskPolicy, RiskPolicyError
from supervisor.risk_desk import FlattenableSupervisor, RiskDesk

F = TypeVar("F", bound=Callable[..., Any])

# option -> the RiskPolicy field it sets
LIMIT_OPTIONS = {
    "--max-risk": "max_risk_per_trade", "--max-position": "max_position",
    "--max-trades-per-day": "max_trades_per_day", "--max-daily-loss": "max_daily_loss",
    "--max-open-trades": "max_open_trades", "--roll-hour": "roll_hour",
}
_OPTION_OF_FIELD = {field: option for option, field in LIMIT_OPTIONS.items()}
_KEYS = ("max_risk", "max_position", "max_trades_per_day", "max_daily_loss", "max_open_trades", "roll_hour",
         "risk_file", "entry_ttl", "flatten_at")

_OPTIONS = (
    click.option("--max-risk", type=opt.POSITIVE_PRICE, default=None,
                 help="risk: most a trade may lose at its stop, in currency (qty x |entry - stop| x multiplier)"),
    click.option("--max-position", type=opt.Count(1), default=None,
                 help="risk: most units held per symbol on a side, counting working entries"),
    click.option("--max-trades-per-day", type=opt.Count(1), default=None, help="risk: most trades armed per day"),
    click.option("--max-daily-loss", type=opt.POSITIVE_PRICE, default=None,
                 help="risk: the day's net realized loss that stops new entries (the account goes to reducing)"),
    click.option("--max-open-trades", type=opt.Count(1), default=None, help="risk: most trades live at once"),
    click.option("--roll-hour", type=opt.Count(0, 23), default=None,
                 help="risk: the exchange-time hour the day's counters roll at  [default: 0]"),
    click.option("--risk", "risk_file", type=click.Path(dir_okay=False), default=None,
                 help="risk: limits from a TOML file (keys as RiskPolicy's fields); the flags above override it"),
    click.option("--entry-ttl", type=opt.POSITIVE_SECONDS, default=None,
                 help="cancel an entry still not filled completely this many seconds after it was sent "
                      "(shares already held keep their exits)"),
    click.option("--flatten-at", default=None, metavar="HH:MM",
                 help="time exit (exchange time): every live trade is flattened with reduce-only orders"),
)


def control_options(command: F) -> F:
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


@attrs.frozen
class Controls:
    policy: RiskPolicy
    entry_ttl: float | None = None
    flatten_at: dt.time | None = None

    def flatten_time(self, day_of: float, timezone: str) -> float | None:
        """`--flatten-at` on the exchange day that `day_of` falls in, as a timestamp."""
        if self.flatten_at is None:
            return None
        zone = ZoneInfo(timezone)
        day = dt.datetime.fromtimestamp(day_of, zone).date()
        return dt.datetime.combine(day, self.flatten_at, tzinfo=zone).timestamp()

    def desk(self, supervisor: FlattenableSupervisor, clock: Callable[[], float], *, day_of: float, timezone: str,
             history: Iterable[Any] = (), record: Callable[[object], object] | None = None) -> RiskDesk:
        """A RiskDesk in front of `supervisor`; `history`: journal records its book is rebuilt from."""
        risk = RiskBook.replay(self.policy, history)
        return RiskDesk(supervisor, risk, clock, entry_ttl=self.entry_ttl,
                        flatten_at=self.flatten_time(day_of, timezone), record=record)

    def factory(self, clock: Callable[[], float], *, day_of: float, timezone: str
                ) -> Callable[[Any, list[Any]], RiskDesk]:
        """For `Desk.open(risk=...)`: a RiskDesk over the desk's recorder, journaling through it."""
        def make(recorder: Any, records: list[Any]) -> RiskDesk:
            return self.desk(recorder, clock, day_of=day_of, timezone=timezone, history=records,
                             record=recorder.journal.append_call)

        return make


def controls_from(values: dict[str, Any]) -> Controls:
    """Take the control options out of a command's keyword arguments (exit 2 naming a bad one)."""
    given = {key: values.pop(key, None) for key in _KEYS}
    base = None
    if given["risk_file"] is not None:
        try:
            base = RiskPolicy.from_toml(given["risk_file"])
        except RiskPolicyError as exc:
            raise click.BadParameter(str(exc), param_hint="--risk") from None
    limits = {field: given[option.lstrip("-").replace("-", "_")] for option, field in LIMIT_OPTIONS.items()}
    try:
        policy = RiskPolicy.from_options(limits, base=base)
    except RiskPolicyError as exc:
        raise click.BadParameter(exc.reason, param_hint=_OPTION_OF_FIELD.get(exc.field.lstrip("-").replace("-", "_"),
                                                                            exc.field)) from None
    return Controls(policy, given["entry_ttl"], parse_time_of_day(given["flatten_at"], "--flatten-at"))


def parse_time_of_day(text: str | None, option: str) -> dt.time | None:
    if text is None:
        return None
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time of day HH:MM", param_hint=option) from None


def any_given(values: Mapping[str, Any]) -> bool:
    return any(values.get(key) is not None for key in _KEYS)
