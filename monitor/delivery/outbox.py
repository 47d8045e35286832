"""The durable outbox: the dispatch stage between the routes and the notifiers.

``enqueue`` writes one row per (event × notifier × recipient) to SQLite in one committed
transaction before anything is sent. One worker task per *lane* — a (notifier, recipient) pair —
sends that lane's messages strictly in enqueue order (head-of-line: an ``up`` never overtakes its
``down``), so a slow or failing notifier or recipient never delays another. Transient failures are
retried with exponential backoff and jitter until the notifier's ``max_age``; then the message is a
dead letter (kept, logged, requeued by ``pantau outbox retry``). Rate limits are token buckets per
notifier and per recipient; a backlog of more than ``digest.after`` messages for one recipient
becomes one ``send_digest`` summary when the notifier supports it. See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import functools
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import structlog
import tenacity

from ..errors import ConfigError, NotifyError
from ..events import Event
from .delivery_stats import DeliveryStats
from .notify import Notifier, NotifierConfig
from .outbox_store import Message, OutboxStore
from .phone import mask_recipient
from .ratelimit import Rate, TokenBucket, acquire, parse_rates

__all__ = ["Outbox", "OutboxClosed"]

log = structlog.get_logger("pantau.outbox")

def _config_of(name: str, notifier: Notifier, configs: Mapping[str, NotifierConfig]) -> NotifierConfig:
    """The delivery knobs: from ``configs``, else the notifier's own ``config``, else defaults."""
    config = configs.get(name) or getattr(notifier, "config", None)
    return config if isinstance(config, NotifierConfig) else NotifierConfig(name=name, type="unknown")


class OutboxClosed(RuntimeError):
    """``enqueue`` was called before ``start`` or after ``aclose``."""


@dataclass(eq=False)
class _Lane:
    notifier: str
    recipient: str | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    sending: bool = False
    task: asyncio.Task | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        return self.notifier, self.recipient


class Outbox:
    """Durable, ordered, rate-limited delivery to notifiers (see the module docstring).

    ``clock`` (epoch seconds) and ``sleep`` drive every delay — backoff, ``retry_after``, token
    buckets, ``max_age``, digest windows — so tests can run on a short time scale. ``rng`` (0..1)
    jitters the backoff.
    """

    def __init__(self, path: str | Path, notifiers: Mapping[str, Notifier],
                 configs: Mapping[str, NotifierConfig], *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rng: Callable[[], float] = random.random,
                 backoff_initial: float = 1.0, backoff_max: float = 300.0,
                 digest_max: int = 50, keep_sent: float = 7 * 86400.0,
                 poll_interval: float = 30.0):
        self._path = Path(path)
        self._notifiers = dict(notifiers)
        self._configs = {name: _config_of(name, notifier, configs) for name, notifier in self._notifiers.items()}
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._wait = tenacity.wait_exponential(multiplier=backoff_initial, max=backoff_max)
        self._digest_max = max(2, digest_max)
        self._keep_sent = keep_sent
        self._poll_interval = poll_interval

        problems: list[str] = []
        self._recipient_rates: dict[str, list[Rate] | None] = {}
        self._notifier_buckets: dict[str, list[TokenBucket]] = {}
        for name, cfg in self._configs.items():
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

        self._lanes: dict[tuple[str, str | None], _Lane] = {}
        self._store: OutboxStore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._sweeper: asyncio.Task | None = None
        self._orphans_logged: set[str] = set()
        self._started = False
        self._closing = False
        self.stats = DeliveryStats()  # per-notifier attempts, 429s, latency: read by /metrics

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the database, resume every pending message (after a crash too), start workers."""
        if self._started:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pantau-outbox-db")
        try:
            self._store = await self._db(OutboxStore, self._path)
        except (sqlite3.Error, OSError) as exc:
            self._executor.shutdown(wait=False)
            raise ConfigError([f"state.path: cannot open the outbox database {str(self._path)!r}: "
                               f"{type(exc).__name__}: {exc}"]) from None
        pruned = await self._db(self._store.prune, sent_before=self._clock() - self._keep_sent)
        counts = await self._db(self._store.counts)
        self._started = True
        log.info("outbox.started", path=str(self._path), pending=counts["pending"],
                 dead=counts["dead"], pruned=pruned)
        await self._resume()
        self._sweeper = asyncio.create_task(self._sweep(), name="outbox:sweep")

    async def aclose(self, grace: float = 2.0) -> None:
        """Stop accepting; give sends already in flight ``grace`` seconds to finish and be
        recorded; cancel the rest and close the database. Pending rows stay for the next start."""
        if self._closing or not self._started:
            self._closing = True
            return
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        lanes = list(self._lanes.values())
        busy = [lane.task for lane in lanes if lane.sending and lane.task is not None]
        for lane in lanes:
            if not lane.sending and lane.task is not None:
                lane.task.cancel()
        if busy:
            await asyncio.wait(busy, timeout=grace)
        interrupted = 0
        tasks = [t for t in [self._sweeper, *(lane.task for lane in lanes)] if t is not None]
        for task in tasks:
            if not task.done():
                interrupted += 1
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._store is not None:
            await self._db(self._store.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        log.info("outbox.closed", interrupted=interrupted)

    async def __aenter__(self) -> Outbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- public operations ---------------------------------------------------------------------

    async def enqueue(self, event: Event, notifier_names: Iterable[str]) -> int:
        """Durably queue ``event`` for each named notifier (one row per recipient), committed
        before this returns and before any attempt. Replaying the same event is a no-op.
        Returns the number of new messages."""
        if not self._started or self._closing:
            raise OutboxClosed("the outbox is not running")
        targets: list[tuple[str, str | None]] = []
        for name in dict.fromkeys(notifier_names):
            notifier = self._notifiers.get(name)
            if notifier is None:
                log.error("outbox.unknown_notifier", notifier=name, event_id=event.id)
                continue
            targets.extend((name, r) for r in self._recipients(name, notifier, event))
        if not targets:
            return 0
        added = await self._db(self._store.add, event, targets, now=self._clock())
        log.debug("outbox.enqueued", event_id=event.id, event_type=event.type, messages=len(targets),
                  new=added)
        if not self._closing:
            for name, recipient in targets:
                self._wake(name, recipient)
        return added

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

    # -- internals -----------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a store call on the outbox's single database thread (FIFO, so calls are ordered)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def _recipients(self, name: str, notifier: Notifier, event: Event) -> list[str | None]:
        fn = getattr(notifier, "recipients", None)
        if fn is None:
            return [None]
        try:
            recipients = list(dict.fromkeys(fn(event)))
        except Exception as exc:
            log.error("outbox.recipients_failed", notifier=name, event_id=event.id,
                      error=f"{type(exc).__name__}: {exc}")
            return []
        if not recipients:
            log.debug("outbox.no_recipients", notifier=name, event_id=event.id, event_type=event.type)
        return recipients

    async def _resume(self) -> None:
        for name, recipient in await self._db(self._store.lanes):
            if name in self._notifiers:
                self._wake(name, recipient)
            elif name not in self._orphans_logged:
                self._orphans_logged.add(name)
                log.warning("outbox.orphaned", notifier=name,
                            hint="pending messages for a notifier that is not configured stay queued")

    async def _sweep(self) -> None:
        """Pick up rows requeued by another process (``pantau outbox retry``), prune old sent rows."""
        while True:
            await self._sleep(self._poll_interval)
            try:
                await self._resume()
                await self._db(self._store.prune, sent_before=self._clock() - self._keep_sent)
            except Exception as exc:  # keep sweeping; the database may be busy for a moment
                log.warning("outbox.sweep_failed", error=f"{type(exc).__name__}: {exc}")

    def _wake(self, name: str, recipient: str | None) -> None:
        if self._closing:
            return
        key = (name, recipient)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(name, recipient)
            lane.task = asyncio.create_task(self._run_lane(lane),
                                            name=f"outbox:{name}:{mask_recipient(recipient)}")
        lane.wake.set()

    def _buckets(self, lane: _Lane) -> list[TokenBucket]:
        buckets = self._recipient_buckets.get(lane.key)
        if buckets is None:
            rates = self._recipient_rates.get(lane.notifier)
            if rates is None:
                rates = self._notifier_default_rates(lane)
            buckets = self._recipient_buckets[lane.key] = [TokenBucket(n, p, self._clock) for n, p in rates]
        return buckets + self._notifier_buckets.get(lane.notifier, [])

    def _notifier_default_rates(self, lane: _Lane) -> list[Rate]:
        fn = getattr(self._notifiers[lane.notifier], "rate_limit", None)
        if fn is None:
            return []
        try:
            return [(int(n), float(p)) for n, p in fn(lane.recipient)]
        except Exception as exc:
            log.error("outbox.rate_limit_failed", notifier=lane.notifier,
                      recipient=mask_recipient(lane.recipient), error=f"{type(exc).__name__}: {exc}")
            return []

    def _backoff(self, attempt: int) -> float:
        """Exponential (tenacity) with equal jitter: uniformly in [base/2, base]."""
        base = self._wait(SimpleNamespace(attempt_number=attempt))
        return base / 2 + self._rng() * base / 2

    async def _run_lane(self, lane: _Lane) -> None:
        cfg = self._configs[lane.notifier]
        batch_limit = max(self._digest_max, cfg.digest.after + 1)
        try:
            while not self._closing:
                lane.wake.clear()
                rows = await self._db(self._store.head, lane.notifier, lane.recipient, batch_limit)
                if not rows:
                    if lane.wake.is_set():
                        continue
                    break  # idle: exit without awaiting, so a concurrent _wake sees no lane
                head, now = rows[0], self._clock()
                if now >= head.age_from + cfg.max_age:
                    reason = "max_age exceeded" + (f"; last error: {head.last_error}" if head.last_error else "")
                    await self._dead(lane, [head], reason, attempted=False)
                    continue
                if head.next_attempt_at > now:
                    await self._sleep(head.next_attempt_at - now)
                    continue
                if await acquire(self._buckets(lane), self._sleep) > 0:
                    # more may have queued up while we waited for a token: they can join a digest
                    rows = await self._db(self._store.head, lane.notifier, lane.recipient, batch_limit)
                    if not rows or rows[0].id != head.id:
                        continue
                if self._closing:
                    break
                batch = self._digest_batch(lane, rows, self._clock())
                await self._deliver(lane, batch or [head], digest=batch is not None)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not kill delivery for good: the sweep restarts the lane
            log.exception("outbox.lane_failed", notifier=lane.notifier,
                          recipient=mask_recipient(lane.recipient))
        finally:
            if self._lanes.get(lane.key) is lane:
                del self._lanes[lane.key]
            buckets = self._recipient_buckets.get(lane.key)
            if buckets is not None and all(b.is_full() for b in buckets):
                del self._recipient_buckets[lane.key]

    def _digest_batch(self, lane: _Lane, rows: Sequence[Message], now: float) -> list[Message] | None:
        """The ready run of messages from the head that were queued within ``digest.window`` of the
        head, when it is longer than ``digest.after`` and the notifier can send a digest."""
        cfg = self._configs[lane.notifier].digest
        if not cfg.enabled or getattr(self._notifiers[lane.notifier], "send_digest", None) is None:
            return None
        head, batch = rows[0], []
        for m in rows[: self._digest_max]:
            if m.next_attempt_at > now or m.created_at > head.created_at + cfg.window:
                break
            batch.append(m)
        return batch if len(batch) > cfg.after else None

    async def _deliver(self, lane: _Lane, msgs: list[Message], *, digest: bool) -> None:
        notifier = self._notifiers[lane.notifier]
        cfg = self._configs[lane.notifier]
        head = msgs[0]
        attempt = head.attempts + 1
        fields = dict(notifier=lane.notifier, recipient=mask_recipient(lane.recipient),
                      event_id=head.event_id, event_type=head.event_type, attempt=attempt)
        if digest:
            fields["count"] = len(msgs)
        try:
            events = [m.event() for m in msgs]
        except (ValueError, KeyError, TypeError) as exc:
            await self._dead(lane, msgs, f"unreadable payload: {type(exc).__name__}", attempted=False)
            return
        log.debug("delivery.attempt", **fields)
        lane.sending = True
        started = time.perf_counter()
        try:
            if digest:
                await notifier.send_digest(events, lane.recipient)
            else:
                await notifier.send(events[0], lane.recipient)
        except asyncio.CancelledError:
            lane.sending = False
            raise
        except NotifyError as exc:
            error, retryable, retry_after = str(exc), exc.retryable, exc.retry_after
            self.stats.record(lane.notifier, ok=False, latency_s=time.perf_counter() - started, status=exc.status)
        except Exception as exc:  # a plugin bug or an untranslated library error: retry it
            error, retryable, retry_after = f"{type(exc).__name__}: {exc}", True, None
            self.stats.record(lane.notifier, ok=False, latency_s=time.perf_counter() - started)
        else:
            self.stats.record(lane.notifier, ok=True, latency_s=time.perf_counter() - started)
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            await self._db(self._store.mark_sent, [m.id for m in msgs], now=self._clock())
            lane.sending = False
            log.info("delivery.digest" if digest else "delivery.sent", latency_ms=latency_ms, **fields)
            return
        lane.sending = False
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        now = self._clock()
        ids = [m.id for m in msgs]
        if not retryable:
            await self._db(self._store.mark_dead, ids, error=error, now=now)
            log.error("delivery.dead", latency_ms=latency_ms, error=error, reason="not retryable", **fields)
            return
        delay = self._backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if now + delay >= head.age_from + cfg.max_age:
            await self._db(self._store.mark_dead, ids, error=f"max_age exceeded; last error: {error}", now=now)
            log.error("delivery.dead", latency_ms=latency_ms, error=error, reason="max_age exceeded", **fields)
            return
        await self._db(self._store.mark_retry, ids, error=error, next_attempt_at=now + delay)
        log.warning("delivery.failed", latency_ms=latency_ms, error=error, retry_in_s=round(delay, 3),
                    retry_after=retry_after, **fields)

    async def _dead(self, lane: _Lane, msgs: list[Message], reason: str, *, attempted: bool) -> None:
        await self._db(self._store.mark_dead, [m.id for m in msgs], error=reason, now=self._clock(),
                       attempted=attempted)
        for m in msgs:
            log.error("delivery.dead", notifier=lane.notifier, recipient=mask_recipient(lane.recipient),
                      event_id=m.event_id, event_type=m.event_type, attempt=m.attempts, error=reason,
                      reason=reason.split(";")[0])
