"""Token buckets for the outbox's rate limits (per notifier and per recipient).

A rate is written ``"N/period"`` (``"1/5s"``, ``"20/1m"``, ``"1/s"``): at most N messages per
period, with a burst of up to N. Several rates apply together (all must have a token).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog

from ..config.durations import parse_duration
from ..errors import ConfigError
from .phone import mask_recipient

__all__ = ["LaneBuckets", "Rate", "TokenBucket", "acquire", "parse_rate", "parse_rates"]

#: (messages, per_seconds)
Rate = tuple[int, float]

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\S+)\s*$")


def parse_rate(text: str) -> Rate:
    """``"20/1m"`` → ``(20, 60.0)``; ``"1/s"`` means ``"1/1s"``. Raises ValueError naming the text."""
    m = _RATE_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"invalid rate {text!r} (write e.g. '1/5s' or '20/1m')")
    count, period_text = int(m.group(1)), m.group(2)
    if period_text.isalpha():
        period_text = "1" + period_text
    try:
        period = parse_duration(period_text)
    except ValueError:
        raise ValueError(f"invalid rate {text!r}: bad period {m.group(2)!r}") from None
    if count <= 0 or period <= 0:
        raise ValueError(f"invalid rate {text!r}: count and period must be greater than 0")
    return count, period


def parse_rates(items: Sequence[str] | None) -> list[Rate] | None:
    """Parse a config list. ``None`` or ``[]`` → ``None`` (use the notifier's own default);
    ``["off"]`` → ``[]`` (no limit); otherwise the list of rates."""
    if not items:
        return None
    if any(isinstance(i, str) and i.strip().lower() == "off" for i in items):
        if len(items) != 1:
            raise ValueError("'off' cannot be combined with other rates")
        return []
    return [parse_rate(i) for i in items]


class TokenBucket:
    """Capacity ``count`` tokens, refilled at ``count / period`` per second; starts full."""

    def __init__(self, count: int, period: float, clock: Callable[[], float]):
        if count <= 0 or period <= 0:
            raise ValueError("count and period must be greater than 0")
        self.capacity = float(count)
        self.per_second = count / period
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def __repr__(self) -> str:
        return f"TokenBucket({self.capacity:g}/{self.capacity / self.per_second:g}s)"

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)  # a wall clock stepping back never adds tokens
        self._tokens = min(self.capacity, self._tokens + elapsed * self.per_second)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.per_second

    def is_full(self) -> bool:
        """True when the bucket has refilled completely (it can be forgotten without effect)."""
        self._refill()
        return self._tokens >= self.capacity

    def take(self) -> None:
        self._refill()
        self._tokens -= 1.0


async def acquire(buckets: Iterable[TokenBucket], sleep: Callable[[float], Awaitable[object]]) -> float:
    """Wait until every bucket has a token, then take one from each (all or nothing, so a token
    is never held while waiting for another). Returns the time waited by the clock of the
    buckets (0 when none). Only the caller waits: other tasks keep running."""
    buckets = list(buckets)
    if not buckets:
        return 0.0
    waited = 0.0
    while True:
        wait = max(b.wait_time() for b in buckets)
        if wait <= 0:
            for b in buckets:
                b.take()
            return waited
        # a hair extra so float rounding does not make us spin on a 1e-12 s wait
        wait += 1e-6
        waited += wait
        await sleep(wait)


class LaneBuckets:
    """The outbox's buckets: one set per notifier (shared by its lanes) and one per lane
    (notifier, recipient), from the notifiers' ``rate_limit`` config or their own defaults."""

    def __init__(self, configs: Mapping[str, Any], notifiers: Mapping[str, Any], clock: Callable[[], float]):
        self._notifiers, self._clock = notifiers, clock
        problems: list[str] = []
        self._recipient_rates: dict[str, list[Rate] | None] = {}
        self._notifier_buckets: dict[str, list[TokenBucket]] = {}
        for name, cfg in configs.items():
            for level in ("per_recipient", "per_notifier"):
                try:
                    rates = parse_rates(getattr(cfg.rate_limit, level))
                except ValueError as exc:
                    problems.append(f"notifiers.{name}.rate_limit.{level}: {exc}")
                    continue
                if level == "per_recipient":
                    self._recipient_rates[name] = rates
                else:
                    self._notifier_buckets[name] = [TokenBucket(n, p, clock) for n, p in rates or []]
        if problems:
            raise ConfigError(problems)
        self._recipient_buckets: dict[tuple[str, str | None], list[TokenBucket]] = {}

    def buckets(self, notifier: str, recipient: str | None) -> list[TokenBucket]:
        key = (notifier, recipient)
        buckets = self._recipient_buckets.get(key)
        if buckets is None:
            rates = self._recipient_rates.get(notifier)
            if rates is None:
                rates = self._default_rates(notifier, recipient)
            buckets = self._recipient_buckets[key] = [TokenBucket(n, p, self._clock) for n, p in rates]
        return buckets + self._notifier_buckets.get(notifier, [])

    def adopt(self, old: LaneBuckets, kept: set[str]) -> None:
        """On reload: notifiers in ``kept`` (unchanged) keep their buckets, so a reload is no burst."""
        for name in kept:
            self._recipient_rates[name] = old._recipient_rates.get(name)
            self._notifier_buckets[name] = old._notifier_buckets.get(name, [])
        self._recipient_buckets = {k: v for k, v in old._recipient_buckets.items() if k[0] in kept}

    def forget_idle(self, notifier: str, recipient: str | None) -> None:
        """Drop a lane's buckets once they are full again (an idle lane costs no memory)."""
        buckets = self._recipient_buckets.get((notifier, recipient))
        if buckets is not None and all(b.is_full() for b in buckets):
            del self._recipient_buckets[(notifier, recipient)]

    def _default_rates(self, notifier: str, recipient: str | None) -> list[Rate]:
        fn = getattr(self._notifiers[notifier], "rate_limit", None)
        if fn is None:
            return []
        try:
            return [(int(n), float(p)) for n, p in fn(recipient)]
        except Exception as exc:
            structlog.get_logger("pantau.outbox").error(
                "outbox.rate_limit_failed", notifier=notifier, recipient=mask_recipient(recipient),
                error=f"{type(exc).__name__}: {exc}")
            return []
