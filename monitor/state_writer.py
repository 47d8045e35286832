"""The one writer of the state database while pantau runs: events and state changes, in order,
atomically, and never lost to a passing database fault.

Sources hand over an event (with the notifiers its route names) and/or a state change (an ``Op``:
a function of the SQLite connection, e.g. "host X is DOWN since t", "session K is gone").
``submit`` never blocks and never fails: it appends to an in-memory queue. One task commits the
queue in transactions of at most ``batch`` entries — each event's outbox rows together with the
state changes submitted with it — so a ``kill -9`` at any instant leaves both or neither: no alert
repeated after a restart (state saved, alert lost), none orphaned (alert sent, state not saved).

A source submits an event and its state change in one synchronous step (no ``await`` between),
so they always land in the same batch: a batch is only ever cut between two steps (a step larger
than ``batch`` is committed whole). Bounded batches keep each transaction short — a burst of 1,000
session changes is several small commits, not one long one that everything after it waits for
(and whose Python work in the database thread competes with the event loop for the GIL).
A source applying a large delta awaits ``room()`` between its slices: its burst then waits at the
source, and what another source submits meanwhile is at most about one batch behind it.

While the database answers ``database is locked``, "disk full" or an I/O error, the batch is
retried with backoff (``state_db_unavailable`` once per outage, ``state_db_recovered`` after);
everything detected meanwhile waits in the queue, in order. The queue is bounded (``limit``);
beyond it new entries are dropped, counted and logged (``state_write_dropped``).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import structlog

from .events import Event
from .statedb import is_transient

__all__ = ["Entry", "Op", "StateWriter"]

log = structlog.get_logger("pantau.state")

Op = Callable[[sqlite3.Connection], Any]


class Entry(NamedTuple):
    event: Event | None
    notifiers: tuple[str, ...]
    op: Op | None


Commit = Callable[[Sequence[Entry]], Awaitable[Any]]


class StateWriter:
    def __init__(self, commit: Commit, *, limit: int = 10_000, batch: int = 200,
                 backoff: float = 0.25, max_backoff: float = 5.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self._commit = commit
        self.limit = limit
        self.batch = max(1, batch)
        self.backoff, self.max_backoff = backoff, max_backoff
        self._sleep, self._clock = sleep, clock
        self._pending: deque[Entry] = deque()
        self._steps: deque[int] = deque()  # the synchronous step each pending entry was submitted in
        self._step = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._drained = asyncio.Event()  # set when at most one batch is left (or the database fails)
        self._idle.set()
        self.dropped = 0
        self.failing_since: float | None = None
        self._dropping: bool | None = None  # the verdict for the current synchronous step

    def __len__(self) -> int:
        return len(self._pending)

    def submit(self, event: Event | None = None, notifiers: Sequence[str] = (), op: Op | None = None) -> bool:
        """Queue an event (for ``notifiers``) and/or a state change; False if dropped (queue full).
        Everything submitted in one synchronous step (an event and its state change) shares one
        verdict, so the bound never keeps one of a pair and drops the other."""
        if self._dropping is None:
            self._dropping = len(self._pending) >= self.limit
            self._step += 1
            asyncio.get_running_loop().call_soon(self._end_step)
        if self._dropping:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.error("state_write_dropped", dropped=self.dropped, limit=self.limit,
                          event_id=event.id if event else None, event_type=event.type if event else None)
            return False
        self._pending.append(Entry(event, tuple(notifiers), op))
        self._steps.append(self._step)
        self._idle.clear()
        self._wake.set()
        return True

    def _end_step(self) -> None:
        self._dropping = None

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is committed; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def room(self) -> None:
        """Wait while more than ``batch`` entries are queued and the database answers (during an
        outage nothing waits here: the queue and its bound behave as before)."""
        while len(self._pending) > self.batch and self.failing_since is None:
            self._drained.clear()
            await self._drained.wait()

    async def run(self) -> None:
        """Commit forever (a supervised task). A restart resumes with the queue as it was."""
        failures = 0
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._next_batch()
            try:
                await self._commit(batch)
            except Exception as exc:
                if not is_transient(exc):
                    await self._isolate(batch, exc)
                    continue
                failures += 1
                if self.failing_since is None:
                    self.failing_since = self._clock()
                    self._drained.set()  # sources waiting for room carry on: nothing drains now
                    log.error("state_db_unavailable", error=f"{type(exc).__name__}: {exc}", waiting=len(self._pending))
                delay = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
                log.debug("state_db_retry", attempt=failures, retry_in_s=delay, waiting=len(self._pending))
                await self._sleep(delay)
                continue
            for _ in batch:
                self._pop()
            if self.failing_since is not None:
                log.warning("state_db_recovered", waited_s=round(self._clock() - self.failing_since, 3),
                            committed=len(batch), attempts=failures, dropped=self.dropped)
                self.failing_since, failures = None, 0

    async def _isolate(self, batch: list[Entry], exc: Exception) -> None:
        """A non-transient error (a bug, a bad row): commit the batch entry by entry so only the
        broken entry is lost — logged with its traceback — and the others are kept."""
        log.error("state_write_failed", error=f"{type(exc).__name__}: {exc}", entries=len(batch))
        for entry in batch:
            try:
                await self._commit([entry])
            except Exception as one:
                if is_transient(one):
                    return  # the database went away meanwhile: the main loop waits it out
                log.error("state_write_rejected", error=f"{type(one).__name__}: {one}", exc_info=True,
                          event_id=entry.event.id if entry.event else None)
            self._pop()

    def _next_batch(self) -> list[Entry]:
        """The oldest ``batch`` entries, extended to the end of the last one's synchronous step."""
        n = min(len(self._pending), self.batch)
        if n < len(self._pending):
            steps = itertools.islice(self._steps, n - 1, None)
            last = next(steps)
            n += sum(1 for _ in itertools.takewhile(lambda step: step == last, steps))
        return list(itertools.islice(self._pending, n))

    def _pop(self) -> None:
        self._pending.popleft()
        self._steps.popleft()
        if len(self._pending) <= self.batch:
            self._drained.set()
