"""Pacing of the session watcher: polls at a fixed rate, and large deltas applied in slices.

``FixedRate`` starts poll cycles on a fixed grid (``start``, ``start + interval``, …) instead of
sleeping ``interval`` after a cycle ends, so a change is seen at most one interval plus one cycle's
own time after it happens, not interval + the previous cycle + this one (issue 13 item 4b). A
cycle that runs past the next start is followed at once and the grid moves there; such overruns
are counted (``late``) and the watcher logs them at most once a minute.

``Slicer`` hands the event loop back while a large delta is applied: every ``rows`` rows or after
``budget`` seconds of work, whichever comes first, ``await slicer.tick()`` yields once
(``asyncio.sleep(0)``), so another router's sentence, the state writer and the outbox lanes run
between slices instead of after a whole burst of 1,000 changes (issue 13 item 4a). Each row is
still applied in one synchronous step (event + state change), so slicing never splits a pair.
With ``room`` (the state writer's ``room``), a hand-over also waits while the writer has more than
one batch queued, so a burst queues at its own source and never in front of another router's change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["FixedRate", "Slicer"]


class FixedRate:
    """The start times of poll cycles; ``now`` is a monotonic clock reading (tests pass their own)."""

    def __init__(self, interval: float, now: float, *, report_every: float = 60.0):
        self.interval = interval
        self.late = 0  # cycles that ended after the next one was due
        self._next = now  # the current cycle started now
        self._report_every = report_every
        self._reported_at: float | None = None
        self._reported_late = 0

    def delay(self, now: float) -> float:
        """A cycle ended at ``now``: seconds to wait until the next one starts."""
        self._next += self.interval
        if now > self._next:  # overran: start at once and move the grid here
            self.late += 1
            self._next = now
        return self._next - now

    def report(self, now: float) -> bool:
        """True when a cycle overran since the last report and none was reported in the last
        ``report_every`` seconds."""
        if self.late == self._reported_late or (
                self._reported_at is not None and now - self._reported_at < self._report_every):
            return False
        self._reported_at, self._reported_late = now, self.late
        return True


class Slicer:
    """Yield to the event loop every ``rows`` rows or ``budget`` seconds of work (see the module
    docstring). ``yields`` counts the hand-overs (tests and the benchmark read it)."""

    def __init__(self, rows: int = 64, budget: float = 0.002,
                 clock: Callable[[], float] = time.perf_counter,
                 room: Callable[[], Awaitable[object]] | None = None):
        self.rows, self.budget, self._clock, self._room = rows, budget, clock, room
        self._count = 0
        self._since = clock()
        self.yields = 0

    async def tick(self) -> None:
        """One row done: hand over when this slice is full."""
        self._count += 1
        if self._count >= self.rows or self._clock() - self._since >= self.budget:
            await self.handover()

    async def handover(self) -> None:
        await asyncio.sleep(0)
        if self._room is not None:  # the state writer's backlog: the burst waits here, not in its queue
            await self._room()
        self.yields += 1
        self._count = 0
        self._since = self._clock()
