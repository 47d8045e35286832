"""One check in the engine: its target, its echoes' outcomes and the CheckResult they make."""

from __future__ import annotations

import socket
from collections.abc import Callable

from ..probe import CheckResult

OnDone = Callable[[CheckResult], None]
_pton = socket.inet_pton


class Check:
    """One check of one address: ``count`` echoes, each answered, failed or timed out."""

    __slots__ = ("address", "resolved", "family", "packed", "dest", "count", "timeout", "interval",
                 "sent", "open", "outcomes", "on_done")

    def __init__(self, address: str, count: int, timeout: float, interval: float, on_done: OnDone):
        self.address = address
        self.resolved: str | None = None
        self.family = socket.AF_INET
        self.packed = b""
        self.dest: tuple = ()
        self.count = count
        self.timeout = timeout
        self.interval = interval
        self.sent = 0
        self.open = count
        self.outcomes: tuple[float | str, ...] = ()  # an RTT in ms or a failure reason per echo
        self.on_done = on_done

    def result(self) -> CheckResult:
        """The CheckResult of this (complete) check."""
        outcomes = self.outcomes
        if len(outcomes) == 1 and outcomes[0].__class__ is float:  # the common case: one echo, answered
            rtts = outcomes
        else:
            rtts = tuple(o for o in outcomes if o.__class__ is float)
        if rtts:  # lost echoes besides replies are not a failed check: ``loss`` says how many
            result = CheckResult(self.address, self.sent, len(rtts), rtts, None, self.resolved)  # type: ignore[arg-type]
        else:
            specific = [o for o in outcomes if o != "timeout"]
            result = CheckResult(self.address, self.sent, 0, (), str(specific[0]) if specific else "timeout",
                                 self.resolved)
        return result


# An echo in flight: (check, key, token, sent_at). It is pending while ``engine._pending[key] is echo``.
Echo = tuple


def literal_target(address: str) -> tuple[int, bytes, tuple] | None:
    """(family, packed address, sockaddr) for an IP literal, None for a name."""
    try:
        return socket.AF_INET, _pton(socket.AF_INET, address), (address, 0)
    except OSError:
        pass
    try:
        return socket.AF_INET6, _pton(socket.AF_INET6, address), (address, 0, 0, 0)
    except (OSError, ValueError):
        return None
