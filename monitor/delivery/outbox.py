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
from ..logs import redact, register_secrets
from ..redaction import collect_secrets
from ..statedb import is_transient
from .delivery_stats import DeliveryStats
from .notify import Notifier, NotifierConfig
from .outbox_queries import OutboxQueries
from .outbox_store import Message, OutboxStore
from .phone import mask_phones, mask_recipient
from .ratelimit import LaneBuckets, acquire

__all__ = ["Outbox", "OutboxClosed"]

log = structlog.get_logger("pantau.outbox")
Spawn = Callable[..., "asyncio.Task[None]"]  # spawn(name, factory, transient=...): the engine's supervisor


def _plain_spawn(name: str, factory: Callable[[], Awaitable[None]], **_: Any) -> asyncio.Task[None]:
    return asyncio.create_task(factory(), name=name)

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
    digest_retry: list[int] | None = None  # ids of a digest that failed: retried as the same digest

    @property
    def key(self) -> tuple[str, str | None]:
        return self.notifier, self.recipient


class Outbox(OutboxQueries):
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
                 keep_dead: float | None = None, poll_interval: float = 30.0,
                 spawn: Spawn | None = None, db_retry_max: float = 5.0):
        self._path = Path(path)
        self._notifiers = dict(notifiers)
        self._configs = {name: _config_of(name, notifier, configs) for name, notifier in self._notifiers.items()}
        register_secrets(collect_secrets(list(self._configs.values())))  # errors are scrubbed with them
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._wait = tenacity.wait_exponential(multiplier=backoff_initial, max=backoff_max)
        self._digest_max = max(2, digest_max)
        self._keep_sent, self._keep_dead = keep_sent, keep_dead
        self._poll_interval = poll_interval
        self._spawn = spawn or _plain_spawn
        self._db_retry_max = db_retry_max
        self._lane_seq = 0

        self._limits = LaneBuckets(self._configs, self._notifiers, clock)  # ConfigError on a bad rate

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
            # running, a locked DB is waited out by retries (state writer, _db_retry), not inside SQLite
            await self._db(self._store.db.execute, "PRAGMA busy_timeout=2000")
        except (sqlite3.Error, OSError) as exc:
            self._executor.shutdown(wait=False)
            raise ConfigError([f"state.path: cannot open the outbox database {str(self._path)!r}: "
                               f"{type(exc).__name__}: {exc}"]) from None
        pruned = await self._db(self._prune)
        counts = await self._db(self._store.counts)
        self._started = True
        log.info("outbox.started", path=str(self._path), pending=counts["pending"],
                 dead=counts["dead"], pruned=pruned)
        await self._resume()
        self._sweeper = self._spawn("outbox:sweep", self._sweep)

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

    # -- public operations ---------------------------------------------------------------------

    async def enqueue(self, event: Event, notifier_names: Iterable[str]) -> int:
        """Durably queue ``event`` for each named notifier (one row per recipient), committed
        before this returns and before any attempt. Replaying the same event is a no-op.
        Returns the number of new messages."""
        if not self._started or self._closing:
            raise OutboxClosed("the outbox is not running")
        targets = self.targets(event, notifier_names)
        if not targets:
            return 0
        added = await self._db(self._store.add, event, targets, now=self._clock())
        log.debug("outbox.enqueued", event_id=event.id, event_type=event.type, messages=len(targets),
                  new=added)
        if not self._closing:
            for name, recipient in targets:
                self._wake(name, recipient)
        return added

    def targets(self, event: Event, notifier_names: Iterable[str]) -> list[tuple[str, str | None]]:
        """The (notifier, recipient) messages ``event`` becomes."""
        targets: list[tuple[str, str | None]] = []
        for name in dict.fromkeys(notifier_names):
            notifier = self._notifiers.get(name)
            if notifier is None:
                log.error("outbox.unknown_notifier", notifier=name, event_id=event.id)
                continue
            targets.extend((name, r) for r in self._recipients(name, notifier, event))
        return targets

    async def commit(self, entries: Sequence[Any]) -> int:
        """Commit (event, notifier names, state op) entries in ONE transaction (the engine's
        :class:`~monitor.state_writer.StateWriter` calls this), then wake the lanes. A database
        fault raises (sqlite3.OperationalError): the caller keeps the entries and retries."""
        if not self._started or self._closing:
            raise OutboxClosed("the outbox is not running")
        rows, woken = [], []
        for event, names, op in entries:
            targets = self.targets(event, names) if event is not None and names else []
            rows.append((event, targets, op))
            woken.extend(targets)
        added = await self._db(self._store.apply, rows, now=self._clock())
        for name, recipient in dict.fromkeys(woken):
            self._wake(name, recipient)
        return added

    # -- internals -----------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a store call on the outbox's single database thread (FIFO, so calls are ordered)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def _db_retry(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``_db`` waiting out a locked/full/failing database: a lane records what the peer said."""
        delay = 0.1
        while True:
            try:
                return await self._db(fn, *args, **kwargs)
            except Exception as exc:
                if not is_transient(exc) or self._closing:
                    raise
                log.warning("outbox.db_retry", error=f"{type(exc).__name__}: {exc}", retry_in_s=delay)
                await self._sleep(delay)
                delay = min(self._db_retry_max, delay * 2)

    def _prune(self) -> int:
        now = self._clock()
        return self._store.prune(sent_before=now - self._keep_sent,
                                 dead_before=None if self._keep_dead is None else now - self._keep_dead)

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
                pruned = await self._db(self._prune)
                if pruned:
                    log.info("outbox.pruned", count=pruned)
            except Exception as exc:
                if not is_transient(exc):
                    raise  # a bug: the supervisor logs it and restarts the sweep
                log.warning("outbox.sweep_failed", error=f"{type(exc).__name__}: {exc}")

    def _wake(self, name: str, recipient: str | None) -> None:
        if self._closing:
            return
        key = (name, recipient)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(name, recipient)
            self._lane_seq += 1
            lane.task = self._spawn(f"outbox:{name}:{mask_recipient(recipient)}#{self._lane_seq}",
                                    functools.partial(self._run_lane, lane), transient=True)
        lane.wake.set()

    def _backoff(self, attempt: int) -> float:
        """Exponential (tenacity) with equal jitter: uniformly in [base/2, base]."""
        base = self._wait(SimpleNamespace(attempt_number=attempt))
        return base / 2 + self._rng() * base / 2

    async def _run_lane(self, lane: _Lane) -> None:
        cfg = self._configs[lane.notifier]
        # rows read per lane step: a digest needs the ready run behind the head, else the head alone
        can_digest = cfg.digest.enabled and getattr(self._notifiers[lane.notifier], "send_digest", None) is not None
        batch_limit = max(self._digest_max, cfg.digest.after + 1) if can_digest else 1
        crashed = True  # until the loop ends normally or is cancelled: a bug, restarted by the supervisor
        try:
            while not self._closing and self._configs.get(lane.notifier) is cfg:  # else reloaded
                lane.wake.clear()
                rows = await self._db_retry(self._store.head, lane.notifier, lane.recipient, batch_limit)
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
                if await acquire(self._limits.buckets(lane.notifier, lane.recipient), self._sleep) > 0:
                    # more may have queued up while we waited for a token: they can join a digest
                    rows = await self._db_retry(self._store.head, lane.notifier, lane.recipient, batch_limit)
                    if not rows or rows[0].id != head.id:
                        continue
                if self._closing or self._configs.get(lane.notifier) is not cfg:
                    break
                batch = self._digest_batch(lane, rows, self._clock())
                await self._deliver(lane, batch or [head], digest=batch is not None)
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
            error, retryable, retry_after, partial = str(exc), exc.retryable, exc.retry_after, exc.partial
            self.stats.record(lane.notifier, ok=False, latency_s=time.perf_counter() - started, status=exc.status)
        except Exception as exc:  # a plugin bug or an untranslated library error: retry it
            error, retryable, retry_after, partial = f"{type(exc).__name__}: {exc}", True, None, False
            self.stats.record(lane.notifier, ok=False, latency_s=time.perf_counter() - started)
        else:
            self.stats.record(lane.notifier, ok=True, latency_s=time.perf_counter() - started)
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            await self._db_retry(self._store.mark_sent, [m.id for m in msgs], now=self._clock())
            lane.sending = False
            log.info("delivery.digest" if digest else "delivery.sent", latency_ms=latency_ms, **fields)
            return
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
            return
        delay = self._backoff(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if now + delay >= head.age_from + cfg.max_age:
            await self._db_retry(self._store.mark_dead, ids, error=f"max_age exceeded; last error: {error}", now=now)
            log.error("delivery.dead", latency_ms=latency_ms, error=error, reason="max_age exceeded", **fields)
            return
        await self._db_retry(self._store.mark_retry, ids, error=error, next_attempt_at=now + delay)
        log.warning("delivery.failed", latency_ms=latency_ms, error=error, retry_in_s=round(delay, 3),
                    retry_after=retry_after, **fields)

    async def _dead(self, lane: _Lane, msgs: list[Message], reason: str, *, attempted: bool) -> None:
        await self._db_retry(self._store.mark_dead, [m.id for m in msgs], error=reason, now=self._clock(),
                             attempted=attempted)
        for m in msgs:
            log.error("delivery.dead", notifier=lane.notifier, recipient=mask_recipient(lane.recipient),
                      event_id=m.event_id, event_type=m.event_type, attempt=m.attempts, error=reason,
                      reason=reason.split(";")[0])
