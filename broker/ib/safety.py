"""Paper by default: the guard that refuses live trading unless it is enabled twice.

How it works: IB's live sockets are TWS 7496 and IB Gateway 4001 (paper: 7497 and 4002), and IB
paper accounts start with "D" (DU1234567; live accounts start with U, F, I...). A live port, or an
account that is not a paper account, is refused with `LiveTradingRefusedError` unless live trading is
enabled by BOTH the flag (`allow_live=True`, CLI `--live`) AND the environment variable
`ORDER_SUPERVISOR_LIVE=1`; the message names both. The adapter checks the port before it opens a
socket, the accounts as soon as IB tells them (and again after every reconnect), and the account of
every order before anything of a batch is written: a refusal sends nothing.

Account ids are never logged in full: `mask_account` keeps the last three characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

LIVE_PORTS = frozenset({7496, 4001})  # TWS live, IB Gateway live
PAPER_PORTS = frozenset({7497, 4002})  # TWS paper, IB Gateway paper
LIVE_ENV = "ORDER_SUPERVISOR_LIVE"
HOW_TO_ENABLE = f"enable live trading with allow_live=True (CLI --live) AND the environment variable {LIVE_ENV}=1"


class LiveTradingRefusedError(RuntimeError):
    """A live port or a live account without both switches. Nothing was sent."""


def mask_account(account: str) -> str:
    """`DU1234567` -> `******567`: enough to tell accounts apart in a log, not to name one."""
    if len(account) <= 3:
        return "*" * len(account)
    return "*" * (len(account) - 3) + account[-3:]


def is_paper_account(account: str) -> bool:
    return account.startswith("D")


@attrs.frozen
class LiveGuard:
    """Decides whether a port or an account may be traded. `allow_live` is the flag; `environ` the
    process environment (injected, so tests never touch the real one)."""

    allow_live: bool = False
    environ: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def live_enabled(self) -> bool:
        return self.allow_live and self.environ.get(LIVE_ENV, "") == "1"

    def _missing(self) -> str:
        missing = []
        if not self.allow_live:
            missing.append("allow_live is False")
        if self.environ.get(LIVE_ENV, "") != "1":
            missing.append(f"{LIVE_ENV} is {self.environ.get(LIVE_ENV, 'unset')!r}")
        return " and ".join(missing)

    def check_port(self, port: int) -> None:
        if port in LIVE_PORTS and not self.live_enabled:
            raise LiveTradingRefusedError(
                f"live trading refused: port {port} is a live IB port (paper: 7497 TWS, 4002 Gateway); "
                f"{HOW_TO_ENABLE} ({self._missing()})"
            )

    def check_accounts(self, accounts: Iterable[str], what: str = "account") -> None:
        live = [a for a in accounts if a and not is_paper_account(a)]
        if live and not self.live_enabled:
            shown = ", ".join(mask_account(a) for a in live)
            raise LiveTradingRefusedError(
                f"live trading refused: {what} {shown} is not a paper account (paper accounts start with 'D'); "
                f"{HOW_TO_ENABLE} ({self._missing()})"
            )
