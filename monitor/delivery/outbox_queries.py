"""The outbox's read and requeue calls (``pantau outbox``, /metrics, the status page) and the late
failures a peer reports after "accepted" (reopen, fail_sent), run on the outbox's own database
thread so they are ordered with its writes."""

from __future__ import annotations

from typing import Any

import structlog

from .outbox_store import Message

log = structlog.get_logger("pantau.outbox")


class OutboxQueries:
    _store: Any
    _clock: Any
    _db: Any
    _resume: Any
    _wake: Any

    async def retry_dead(self, notifier: str | None = None) -> int:
        """Requeue dead letters (all, or one notifier's) and deliver them now."""
        n = await self._db(self._store.retry_dead, notifier, now=self._clock())
        log.info("outbox.requeued", notifier=notifier, count=n)
        await self._resume()
        return n

    async def list(self, status: str | None = None, notifier: str | None = None,
                   limit: int | None = None) -> list[Message]:
        """:meth:`OutboxStore.list` on the outbox's own database thread."""
        return await self._db(self._store.list, status, notifier, limit)

    async def counts(self, notifier: str | None = None) -> dict[str, int]:
        """:meth:`OutboxStore.counts` on the outbox's own database thread."""
        return await self._db(self._store.counts, notifier)

    async def counts_by_notifier(self) -> dict[str, dict[str, int]]:
        """:meth:`OutboxStore.counts_by_notifier` on the outbox's own database thread (/metrics)."""
        return await self._db(self._store.counts_by_notifier)

    async def reopen(self, event_id: str, notifier: str, recipient: str | None, *, error: str) -> bool:
        """A sent message reported failed later (e.g. a Cloud API status): deliver it again now."""
        done = await self._db(self._store.reopen_sent, event_id, notifier, recipient, error=error, now=self._clock())
        if done:
            self._wake(notifier, recipient)
        return done

    async def fail_sent(self, event_id: str, notifier: str, recipient: str | None, *, error: str) -> bool:
        """A sent message reported failed later, for good: a dead letter with the peer's reason."""
        return await self._db(self._store.reopen_sent, event_id, notifier, recipient, error=error,
                              now=self._clock(), dead=True)
