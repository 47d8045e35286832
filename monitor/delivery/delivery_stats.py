"""Counters of delivery attempts per notifier, kept in memory for ``/metrics``.

The outbox records one line per attempt (cheap: a dict lookup and a few additions); the metrics
collector reads them at scrape time. Only notifier names (from the config) are keys: bounded.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

# delivery latency buckets in seconds: chat APIs answer in 0.1-2 s, a slow gateway in 10 s+
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class NotifierDeliveryStats:
    attempts: int = 0
    sent: int = 0  # attempts that delivered (a digest counts once)
    failed: int = 0  # attempts that failed (retried or dead)
    rate_limited: int = 0  # failures the peer answered with HTTP 429
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0


class DeliveryStats:
    def __init__(self) -> None:
        self.by_notifier: dict[str, NotifierDeliveryStats] = {}

    def record(self, notifier: str, *, ok: bool, latency_s: float, status: int | None = None) -> None:
        stats = self.by_notifier.get(notifier)
        if stats is None:
            stats = self.by_notifier[notifier] = NotifierDeliveryStats()
        stats.attempts += 1
        if ok:
            stats.sent += 1
        else:
            stats.failed += 1
            stats.rate_limited += status == 429
        stats.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS, latency_s)] += 1
        stats.latency_sum += latency_s
