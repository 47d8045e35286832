"""The running subscription pollers, one supervised task per router, and how a reload changes them.

``apply(config)`` compares what each router's poller runs with (the router's settings, the
``subscriptions:`` block, the time zone) against the new config: unchanged pollers keep running,
removed ones stop, changed ones are replaced, new ones start. A poller is only stopped between two
rounds (each round runs under its lock), so a warning that reached the outbox is always saved as
sent; the replacement takes over the old poller's records (levels sent this period, maximum
counters, and anything a locked database kept from being saved) — no warning twice, none lost.
``prepare`` builds the new pollers first, so a bad setting fails the reload before anything stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from ..events import Event
from .poller import SubscriptionPoller
from .store import SubscriptionStore

log = structlog.get_logger("pantau.subscriptions")

STOP_WAIT = 30.0  # a round in flight (a slow router) gets this long to finish before it is cancelled


@dataclass
class _Running:
    poller: SubscriptionPoller
    key: tuple[Any, ...]  # what it was built from: (router config, subscriptions config, time zone)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def wanted(config: Any) -> dict[str, tuple[Any, ...]]:
    """Router name → (router config, subscriptions config, time zone) of every poller ``config`` asks for."""
    settings = config.settings
    subs = settings.subscriptions
    if subs is None:
        return {}
    return {r.name: (r, subs, settings.timezone) for r in settings.routers if subs.follows(r)}


class SubscriptionPollers:
    def __init__(self, supervisor: Any, *, emit: Callable[[Event], Awaitable[None]], state_path: str,
                 make: Callable[..., SubscriptionPoller] = SubscriptionPoller, stop_wait: float = STOP_WAIT):
        self.supervisor, self.emit, self.state_path = supervisor, emit, state_path
        self.make, self.stop_wait = make, stop_wait
        self.store: SubscriptionStore | None = None
        self.bot_store: Any = None  # the bot's store: on_expiry's audit rows and isolir records
        self.running: dict[str, _Running] = {}

    def prepare(self, config: Any) -> dict[str, _Running]:
        """The pollers to start or replace for ``config`` (raises ConfigError; nothing changes yet)."""
        fresh: dict[str, _Running] = {}
        for name, key in wanted(config).items():
            current = self.running.get(name)
            if current is not None and current.key == key:
                continue
            if self.store is None:
                self.store = SubscriptionStore(self.state_path)
            router, subs, tz = key
            if subs.on_expiry != "none" and self.bot_store is None:  # also when a reload switches it on
                from ..bot.store import BotStore

                self.bot_store = BotStore(self.state_path)
            fresh[name] = _Running(self.make(router, subs, timezone=tz, emit=self.emit, store=self.store,
                                             bot_store=self.bot_store), key)
        return fresh

    async def apply(self, config: Any, fresh: dict[str, _Running] | None = None) -> dict[str, list[str]]:
        """Start, stop and replace pollers so they match ``config``; returns the router names by change."""
        fresh = self.prepare(config) if fresh is None else fresh
        keep = wanted(config)
        changes: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
        for name in [n for n in self.running if n not in keep]:
            await self._stop(self.running.pop(name))
            changes["removed"].append(name)
        for name, entry in fresh.items():
            old = self.running.pop(name, None)
            if old is not None:
                await self._stop(old)
                entry.poller.take_over(old.poller)  # the same router: what was said stays said
            changes["changed" if old is not None else "added"].append(name)
            self.running[name] = entry
            self.supervisor.spawn(f"subscriptions:{name}", lambda e=entry: self._run(e))
        if any(changes.values()):
            log.info("subscriptions.reloaded", **{k: sorted(v) for k, v in changes.items()},
                     running=sorted(self.running))
        return changes

    async def _run(self, entry: _Running) -> None:
        while True:
            async with entry.lock:  # a reload waits for the round to finish (and its records saved)
                await entry.poller.check_once()
            await entry.poller.wait_round()

    async def _stop(self, entry: _Running) -> None:
        name = entry.poller.router.name
        try:
            await asyncio.wait_for(entry.lock.acquire(), self.stop_wait)
        except TimeoutError:  # a stuck round: cancelled; its unsaved records may repeat a warning
            log.warning("subscriptions.stop_interrupted", router=name, waited_s=self.stop_wait)
            await self.supervisor.cancel(f"subscriptions:{name}")
            return
        try:
            await self.supervisor.cancel(f"subscriptions:{name}")
        finally:
            entry.lock.release()

    def close(self) -> None:
        for store in (self.store, self.bot_store):
            if store is not None:
                store.close()
