"""Abuse limits for the registration page: a sliding window per key (client address, number)."""

from __future__ import annotations

from collections import deque


class WindowLimit:
    """At most ``count`` hits per ``window`` seconds per key; ``now`` is passed in (driven in tests).
    Keys with no recent hits are forgotten, so many addresses cannot grow it without bound."""

    def __init__(self, count: int, window: float, *, max_keys: int = 10_000):
        self.count, self.window, self.max_keys = count, window, max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        """Count a hit for ``key`` when it is within the limit; False (nothing counted) when over."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.count:
            return False
        hits.append(now)
        if len(self._hits) > self.max_keys:
            self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) > self.max_keys:  # still full: drop the oldest keys
            del self._hits[next(iter(self._hits))]
