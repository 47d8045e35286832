"""The durable outbox: the dispatch stage between the routes and the notifiers.

``enqueue`` writes one row per (event × notifier × recipient) to SQLite in one committed
transaction before anything is sent. One worker task per *lane* — a (notifier, recipient) pair —
sends that lane's messages strictly in enqueue order (head-of-line: an ``up`` never overtakes its
``down``), so a slow or failing notifier or recipient never delays another. Transient failures are
retried with exponential backoff and jitter until the notifier's ``max_age``; then the message is a
dead letter (kept, logged, requeued by ``pantau outbox retry``). Rate limits are sliding windows per
notifier and per recipient (with a margin for jitter); a backlog of more than ``digest.after`` messages for one recipient
becomes one ``send_digest`` summary when the notifier supports it. The lanes themselves live in
outbox_lane.py. See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import functools
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog
import tenacity

from ..errors import ConfigError
from ..events import Event
from ..logs import register_secrets
from ..redaction import collect_secrets
from ..statedb import is_transient
from .delivery_stats import DeliveryStats
from .notify import Notifier, NotifierConfig
from .outbox_lane import LaneLoop, _Lane
from .outbox_queries import OutboxQueries
from .outbox_store import OutboxStore
from .phone import mask_recipient
from .ratelimit import LaneBuckets

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


class Outbox(OutboxQueries, LaneLoop):
    """Durable, ordered, rate-limited delivery to notifiers (see the module docstring).

    ``clock`` (epoch seconds) and ``sleep`` drive every delay — backoff, ``retry_after``, rate
    windows, ``max_age``, digest windows — so tests can run on a short time scale. ``rng`` (0..1)
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
        self._unrecorded: dict[tuple[str, str | None], list[int]] = {}  # see outbox_lane._record_sent
        self._recorders: dict[tuple[str, str | None], asyncio.Task] = {}
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
        # successes of the lanes are committed as sent before the database closes
        await asyncio.gather(*self._recorders.values(), return_exceptions=True)
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
