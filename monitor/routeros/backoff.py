"""Exponential backoff of connection attempts to one router, shared by every task that connects.

A wrong password retried every poll fills the router's log and can trip a brute-force blacklist
rule on the router; a dead router behind 500 ``via:`` hosts must not get 500 connects per
interval. ``ConnectGate`` holds the last failure and when the next attempt is allowed; while
closed, ``check()`` re-raises that failure without touching the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..errors import RouterError

BACKOFF_CAP = 300.0  # five minutes


class ConnectGate:
    """``check()`` before connecting, ``failed(exc)`` / ``succeeded()`` after. Only failures whose
    ``kind`` is in ``kinds`` (all when None) close the gate."""

    def __init__(self, *, first: float, cap: float = BACKOFF_CAP, kinds: Iterable[str] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.first = first
        self.cap = cap
        self.kinds = frozenset(kinds) if kinds is not None else None
        self._clock = clock
        self.failures = 0
        self.retry_at = 0.0
        self.last_error: RouterError | None = None

    @property
    def closed(self) -> bool:
        return self.last_error is not None and self._clock() < self.retry_at

    def check(self) -> None:
        """Raise the last failure again while backing off."""
        if self.closed:
            assert self.last_error is not None
            raise self.last_error

    def failed(self, exc: RouterError) -> tuple[float, bool] | None:
        """Record a failure; returns (seconds until the next attempt, first failure of this kind in the
        streak — log/report it only then), or None when this kind of failure does not back off."""
        if self.kinds is not None and exc.kind not in self.kinds:
            return None
        self.failures += 1
        delay = min(self.cap, self.first * 2 ** (self.failures - 1))
        self.retry_at = self._clock() + delay
        first = self.last_error is None or self.last_error.kind != exc.kind
        self.last_error = exc
        return delay, first

    def succeeded(self) -> bool:
        """Reset; True when the gate had been failing (log the recovery once)."""
        was = self.last_error is not None
        self.failures, self.retry_at, self.last_error = 0, 0.0, None
        return was

    def reopen(self) -> None:
        """Allow the next attempt now (e.g. the router was seen back by another task)."""
        self.retry_at = 0.0
