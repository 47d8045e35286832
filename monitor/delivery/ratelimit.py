"""Rate limits of the outbox (per notifier and per recipient).

A rate is written ``"N/period"`` (``"1/5s"``, ``"20/1m"``, ``"1/s"``): at most N messages in any
window of that period (a burst of up to N is allowed), kept with a small margin for jitter (see
:data:`MARGIN_SHARE`). Several rates apply together (all must have room).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog

from ..config.durations import parse_duration
from ..errors import ConfigError
from .phone import mask_recipient

__all__ = ["LaneBuckets", "Rate", "RateWindow", "acquire", "parse_rate", "parse_rates", "try_take"]

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


#: The outbox schedules against a peer's limit with this much slack: a window of ``period`` is
#: kept for ``period + max(MARGIN_MIN, MARGIN_SHARE × period)``, so a request that reaches the peer
#: up to that much later than the outbox took its slot (network, the peer's own queue, a busy host)
#: still finds room at a peer that enforces the same rate — with a token bucket or a sliding window.
#: Why, with W = period + margin and requests reaching the peer 0..D ≤ margin after their slot: any
#: L seconds of slots hold at most N·(⌊L/W⌋ + 1) requests, and A seconds of arrivals come from at
#: most A + D seconds of slots. A sliding-window peer sees at most N in A < period (A + D < W). A
#: token-bucket peer (N, N/period) takes N + N·A/period; with q = ⌊(A + D)/W⌋ ≥ 1, q·W ≤ A + D
#: gives q·period ≤ A + D − q·margin ≤ A, so N·(q + 1) ≤ N + N·A/period.
MARGIN_SHARE = 0.05
MARGIN_MIN = 0.1


class RateWindow:
    """At most ``count`` messages in any window of ``period`` seconds (plus the margin): a sliding
    log of the last ``count`` send times. Unlike a token bucket it never lets more than ``count``
    through in one period, so it conforms to a peer that counts either way.

    The window starts empty (a burst of ``count`` is allowed at once). A wall clock stepping back
    shifts the log with it: it neither frees slots nor stalls for the size of the step."""

    def __init__(self, count: int, period: float, clock: Callable[[], float], *, margin: bool = True):
        if count <= 0 or period <= 0:
            raise ValueError("count and period must be greater than 0")
        self.count, self.period = count, period
        self.window = period + (max(MARGIN_MIN, MARGIN_SHARE * period) if margin else 0.0)
        self._clock = clock
        self._times: deque[float] = deque()

    def __repr__(self) -> str:
        return f"RateWindow({self.count}/{self.period:g}s, kept {self.window:g}s)"

    def _expire(self) -> float:
        now, times = self._clock(), self._times
        if times and now < times[-1]:  # the clock stepped back: move the log with it
            shift = times[-1] - now
            self._times = times = deque(t - shift for t in times)
        while times and times[0] + self.window <= now:
            times.popleft()
        return now

    def wait_time(self) -> float:
        """Seconds until one more message may go (0 when it may go now)."""
        now = self._expire()
        times = self._times
        return 0.0 if len(times) < self.count else times[len(times) - self.count] + self.window - now

    def is_idle(self) -> bool:
        """True when nothing sent is still in the window (it can be forgotten without effect)."""
        self._expire()
        return not self._times

    def take(self) -> None:
        self._times.append(self._expire())
        if len(self._times) > self.count:
            self._times.popleft()


def try_take(buckets: Sequence[RateWindow]) -> bool:
    """Take a slot from every window if all have room now (the outbox's path without awaiting);
    False, taking nothing, when any of them is full."""
    for b in buckets:
        if b.wait_time() > 0:
            return False
    for b in buckets:
        b.take()
    return True


async def acquire(buckets: Iterable[RateWindow], sleep: Callable[[float], Awaitable[object]]) -> float:
    """Wait until every window has room, then take a slot in each (all or nothing, so a slot is
    never held while waiting for another). Returns the time waited by the clock of the windows
    (0 when none). Only the caller waits: other tasks keep running."""
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
    """The outbox's rate windows: one set per notifier (shared by its lanes) and one per lane
    (notifier, recipient), from the notifiers' ``rate_limit`` config or their own defaults."""

    def __init__(self, configs: Mapping[str, Any], notifiers: Mapping[str, Any], clock: Callable[[], float]):
        self._notifiers, self._clock = notifiers, clock
        problems: list[str] = []
        self._recipient_rates: dict[str, list[Rate] | None] = {}
        self._notifier_buckets: dict[str, list[RateWindow]] = {}
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
                    self._notifier_buckets[name] = [RateWindow(n, p, clock) for n, p in rates or []]
        if problems:
            raise ConfigError(problems)
        self._recipient_buckets: dict[tuple[str, str | None], list[RateWindow]] = {}

    def buckets(self, notifier: str, recipient: str | None) -> list[RateWindow]:
        key = (notifier, recipient)
        buckets = self._recipient_buckets.get(key)
        if buckets is None:
            rates = self._recipient_rates.get(notifier)
            if rates is None:
                rates = self._default_rates(notifier, recipient)
            buckets = self._recipient_buckets[key] = [RateWindow(n, p, self._clock) for n, p in rates]
        return buckets + self._notifier_buckets.get(notifier, [])

    def adopt(self, old: LaneBuckets, kept: set[str]) -> None:
        """On reload: notifiers in ``kept`` (unchanged) keep their windows, so a reload is no burst."""
        for name in kept:
            self._recipient_rates[name] = old._recipient_rates.get(name)
            self._notifier_buckets[name] = old._notifier_buckets.get(name, [])
        self._recipient_buckets = {k: v for k, v in old._recipient_buckets.items() if k[0] in kept}

    def forget_idle(self, notifier: str, recipient: str | None) -> None:
        """Drop a lane's windows once nothing is left in them (an idle lane costs no memory)."""
        buckets = self._recipient_buckets.get((notifier, recipient))
        if buckets is not None and all(b.is_idle() for b in buckets):
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
