"""The outbox's lanes: one task per (notifier, recipient) sending that lane's messages in order.

Kept apart from outbox.py (lifecycle, enqueue) so each stays readable. A lane step reads the
lane's oldest pending rows, then for each in turn: dead-letters it when too old, waits for its
retry time and for a rate-limit slot, sends it, and records the outcome. Without a digest the lane
claims up to ``_CLAIM`` rows per read and sends them one after the other; with a digest it reads
the ready run behind the head, as a digest needs (docs/delivery.md).

Recording a success is pipelined: a row is marked sent only after its own send succeeded, but the
commit of that mark (one fsync) runs on the database thread while the lane already sends the next
row. Marks waiting for their commit are grouped into one transaction. A lane never reads its rows
again, nor ends, before every mark it made is committed, and it stops sending when
``_UNRECORDED_MAX`` successes are still uncommitted (a stalled database), so after a crash at most
that many messages of a lane are sent again, in their order (docs/delivery.md, window 1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import structlog

from ..errors import NotifyError
from ..logs import redact
from .outbox_store import Message
from .phone import mask_phones, mask_recipient
from .ratelimit import acquire, try_take

log = structlog.get_logger("pantau.outbox")

#: rows a lane reads at once when no digest can apply
_CLAIM = 32
#: successes of one lane whose sent-mark may be waiting for its commit before the lane waits too
_UNRECORDED_MAX = 2

LaneKey = tuple[str, "str | None"]


@dataclass(eq=False)
class _Lane:
    notifier: str
    recipient: str | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    sending: bool = False
    task: asyncio.Task | None = None
    digest_retry: list[int] | None = None  # ids of a digest that failed: retried as the same digest

    @property
    def key(self) -> tuple[str, str | None]:
        return self.notifier, self.recipient


class LaneLoop:
    """The delivery loop of :class:`monitor.delivery.outbox.Outbox` (a mixin: the attributes below
    are the outbox's)."""

    _configs: Any
    _notifiers: Any
    _closing: bool
    _clock: Any
    _sleep: Any
    _rng: Any
    _wait: Any
    _digest_max: int
    _limits: Any
    _lanes: dict
    _store: Any
    _db_retry: Any
    _wake: Any
    stats: Any
    _unrecorded: dict[Any, list[int]]  # lane key → ids sent, their mark not yet handed to the database
    _recorders: dict[Any, asyncio.Task]  # lane key → the task committing those marks

    def _current(self, lane: _Lane, cfg: Any) -> bool:
        return not self._closing and self._configs.get(lane.notifier) is cfg  # else closing or reloaded

    async def _run_lane(self, lane: _Lane) -> None:
        cfg = self._configs[lane.notifier]
        can_digest = cfg.digest.enabled and getattr(self._notifiers[lane.notifier], "send_digest", None) is not None
        # rows read per lane step: a digest needs the ready run behind the head, else a claim of rows
        limit = max(self._digest_max, cfg.digest.after + 1) if can_digest else _CLAIM
        crashed = True  # until the loop ends normally or is cancelled: a bug, restarted by the supervisor
        try:
            while self._current(lane, cfg):
                lane.wake.clear()
                await self._recorded(lane.key)  # what this lane sent is recorded before it reads again
                rows = await self._db_retry(self._store.head, lane.notifier, lane.recipient, limit)
                if not rows:
                    if lane.wake.is_set():
                        continue
                    break  # idle: exit without awaiting, so a concurrent _wake sees no lane
                if can_digest:
                    await self._digest_step(lane, cfg, rows, limit)
                    continue
                for m in rows:
                    if not self._current(lane, cfg) or not await self._step(lane, cfg, m):
                        break
            crashed = False
        except asyncio.CancelledError:
            crashed = False
            raise
        finally:
            if not crashed and self._lanes.get(lane.key) is lane:
                del self._lanes[lane.key]
                if not self._closing and self._configs.get(lane.notifier) not in (None, cfg):
                    self._wake(lane.notifier, lane.recipient)  # its notifier was replaced on reload
            self._limits.forget_idle(lane.notifier, lane.recipient)

    async def _step(self, lane: _Lane, cfg: Any, m: Message) -> bool:
        """Send one claimed row. True: go on with the next claimed row; False: read again."""
        now = self._clock()
        if now >= m.age_from + cfg.max_age:
            reason = "max_age exceeded" + (f"; last error: {m.last_error}" if m.last_error else "")
            await self._dead(lane, [m], reason, attempted=False)
            return True
        if m.next_attempt_at > now:
            await self._sleep(m.next_attempt_at - now)
            return False
        buckets = self._limits.buckets(lane.notifier, lane.recipient)
        if not try_take(buckets):
            await acquire(buckets, self._sleep)
            if not self._current(lane, cfg):
                return False
        return await self._deliver(lane, [m], digest=False)

    async def _digest_step(self, lane: _Lane, cfg: Any, rows: list[Message], limit: int) -> None:
        head, now = rows[0], self._clock()
        if now >= head.age_from + cfg.max_age:
            reason = "max_age exceeded" + (f"; last error: {head.last_error}" if head.last_error else "")
            await self._dead(lane, [head], reason, attempted=False)
            return
        if head.next_attempt_at > now:
            await self._sleep(head.next_attempt_at - now)
            return
        if await acquire(self._limits.buckets(lane.notifier, lane.recipient), self._sleep) > 0:
            # more may have queued up while we waited for a slot: they can join a digest
            rows = await self._db_retry(self._store.head, lane.notifier, lane.recipient, limit)
            if not rows or rows[0].id != head.id:
                return
        if not self._current(lane, cfg):
            return
        batch = self._digest_batch(lane, rows, self._clock())
        await self._deliver(lane, batch or [head], digest=batch is not None)

    def _digest_batch(self, lane: _Lane, rows: Sequence[Message], now: float) -> list[Message] | None:
        """The ready run of messages from the head that were queued within ``digest.window`` of the
        head, when it is longer than ``digest.after`` and the notifier can send a digest."""
        cfg = self._configs[lane.notifier].digest
        if not cfg.enabled or getattr(self._notifiers[lane.notifier], "send_digest", None) is None:
            return None
        again = lane.digest_retry
        if again and [m.id for m in rows[: len(again)]] == again:
            return list(rows[: len(again)])  # the same digest: the notifier skips parts it already sent
        head, batch = rows[0], []
        for m in rows[: self._digest_max]:
            if m.next_attempt_at > now or m.created_at > head.created_at + cfg.window:
                break
            batch.append(m)
        return batch if len(batch) > cfg.after else None

    def _backoff(self, attempt: int) -> float:
        """Exponential (tenacity) with equal jitter: uniformly in [base/2, base]."""
        base = self._wait(SimpleNamespace(attempt_number=attempt))
        return base / 2 + self._rng() * base / 2

    async def _deliver(self, lane: _Lane, msgs: list[Message], *, digest: bool) -> bool:
        """One attempt. True when the messages are done with (sent or dead), False when retried."""
        notifier = self._notifiers[lane.notifier]
        cfg = self._configs[lane.notifier]
        head = msgs[0]
        attempt = head.attempts + 1
        fields = dict(notifier=lane.notifier, recipient=mask_recipient(lane.recipient),
                      event_id=head.event_id, event_type=head.event_type, attempt=attempt)
        if digest:
            fields["count"] = len(msgs)
        # a notifier that posts the event as stored takes the JSON as it is: no decode, no re-encode
        send_stored = None if digest else getattr(notifier, "send_stored", None)
        events = []
        if send_stored is None:
            try:
                events = [m.event() for m in msgs]
            except (ValueError, KeyError, TypeError) as exc:
                await self._dead(lane, msgs, f"unreadable payload: {type(exc).__name__}", attempted=False)
                return True
        log.debug("delivery.attempt", **fields)
        lane.sending = True
        started = time.perf_counter()
        try:
            if digest:
                await notifier.send_digest(events, lane.recipient)
            elif send_stored is not None:
                await send_stored(head.payload, event_id=head.event_id, event_type=head.event_type,
                                  recipient=lane.recipient)
            else:
                await notifier.send(events[0], lane.recipient)
        except asyncio.CancelledError:
            lane.sending = False
            raise
        except NotifyError as exc:
            error, retryable, retry_after, partial = str(exc), exc.retryable, exc.retry_after, exc.partial
            self.stats.record(lane.notifier, ok=False, latency_s=time.perf_counter() - started, status=exc.status)
        except Exception as exc:  # a plugin bug or an untranslated library error: retry it
            error, retryable, retry_after, partial = f"{type(exc).__name__}: {exc}", True, None, False
            self.stats.record(lane.notifier, ok=False, latency_s=time.perf_counter() - started)
        else:
            latency = time.perf_counter() - started
            self.stats.record(lane.notifier, ok=True, latency_s=latency)
            self._record_sent(lane.key, [m.id for m in msgs])
            lane.sending = False
            log.info("delivery.digest" if digest else "delivery.sent", latency_ms=round(latency * 1000, 1), **fields)
            if len(self._unrecorded.get(lane.key, ())) >= _UNRECORDED_MAX:
                await self._recorded(lane.key)  # the database is slower than the peer: wait for it
            return True
        lane.sending = False
        # a peer may echo a token or a subscriber's number: masked before the log line and SQLite
        error = mask_phones(redact(error))
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        now = self._clock()
        ids = [m.id for m in msgs]
        lane.digest_retry = ids if digest and retryable and partial else None  # see NotifyError.partial
        if not retryable:
            await self._db_retry(self._store.mark_dead, ids, error=error, now=now)
            log.error("delivery.dead", latency_ms=latency_ms, error=error, reason="not retryable", **fields)
            return True
        delay = self._backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if now + delay >= head.age_from + cfg.max_age:
            await self._db_retry(self._store.mark_dead, ids, error=f"max_age exceeded; last error: {error}", now=now)
            log.error("delivery.dead", latency_ms=latency_ms, error=error, reason="max_age exceeded", **fields)
            return True
        await self._db_retry(self._store.mark_retry, ids, error=error, next_attempt_at=now + delay)
        log.warning("delivery.failed", latency_ms=latency_ms, error=error, retry_in_s=round(delay, 3),
                    retry_after=retry_after, **fields)
        return False

    async def _dead(self, lane: _Lane, msgs: list[Message], reason: str, *, attempted: bool) -> None:
        await self._db_retry(self._store.mark_dead, [m.id for m in msgs], error=reason, now=self._clock(),
                             attempted=attempted)
        for m in msgs:
            log.error("delivery.dead", notifier=lane.notifier, recipient=mask_recipient(lane.recipient),
                      event_id=m.event_id, event_type=m.event_type, attempt=m.attempts, error=reason,
                      reason=reason.split(";")[0])

    # -- recording successes -------------------------------------------------------------------

    def _record_sent(self, key: Any, ids: list[int]) -> None:
        """Hand the ids of a success to the lane's recorder (which commits them, grouped)."""
        pending = self._unrecorded.get(key)
        if pending is None:
            self._unrecorded[key] = ids
        else:
            pending.extend(ids)
        if key not in self._recorders:  # a failed recorder stays until the lane has seen its error
            self._recorders[key] = asyncio.get_running_loop().create_task(
                self._record(key), name=f"outbox-record:{key[0]}:{mask_recipient(key[1])}")

    async def _record(self, key: Any) -> None:
        while ids := self._unrecorded.pop(key, None):
            await self._db_retry(self._store.mark_sent, ids, now=self._clock())
        # nothing left (and no await since the check): the next success starts a new recorder
        if self._recorders.get(key) is asyncio.current_task():
            del self._recorders[key]

    async def _recorded(self, key: Any) -> None:
        """Wait until every success of this lane is committed as sent. A recorder that failed (a
        database error that is not transient) raises here, in the lane: the supervisor logs it and
        restarts the lane, which sends the unrecorded rows again (at least once)."""
        task = self._recorders.get(key)
        if task is None:
            return
        try:
            await asyncio.shield(task)  # a lane cancelled meanwhile leaves the recorder running
        finally:
            if task.done() and self._recorders.get(key) is task:
                del self._recorders[key]
                if task.cancelled() or task.exception() is not None:
                    self._unrecorded.pop(key, None)
