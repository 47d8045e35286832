"""The engine: wires config → sources (hosts, routers) → detector → events → routes → outbox → notifiers.

``Engine.start()`` fails fast (ProbeError, ConfigError) before any loop runs; once running, every
loop degrades on its own (logs, retries) and never takes another down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Hashable
from typing import Any

import aiohttp
import structlog

from .config.model import Config
from .delivery.notify import NotifierContext
from .delivery.outbox import Outbox
from .delivery.routing import EventRouter
from .errors import ConfigError
from .events import Event
from .history.service import HistoryService
from .hosts.icmp.engine import IcmpEngine
from .hosts.icmp.scheduler import IcmpScheduler
from .hosts.loop import HostMonitor, echo_interval
from .hosts.open_probe import open_probe
from .hosts.probe import CheckResult, Probe
from .hosts.state import HostStateStore
from .logs import register_secrets
from .routeros.store import RouterStore
from .routeros.watcher import RouterWatcher
from .supervisor import Supervisor

log = structlog.get_logger("pantau.engine")


def secret_values(config: Config) -> list[str]:
    """Every secret the config holds, so logs can mask them wherever they appear."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(config.notifiers)
    walk(config.settings.routers)
    walk(config.settings.bot)
    return found


class Engine:
    def __init__(self, config: Config, *, probe: Probe | None = None):
        self.config = config
        self.probe = probe
        self.router = EventRouter(config.routes)
        self.notifiers: dict[str, Any] = {}
        self.supervisor = Supervisor()
        self.web: Any = None  # monitor.web.server.WebServer when `http:` is configured
        self.bot: Any = None  # monitor.bot.service.BotService when `bot:` is configured
        self.http: aiohttp.ClientSession | None = None
        self.outbox: Outbox | None = None
        self.host_store: HostStateStore | None = None
        self.session_store: RouterStore | None = None
        self.history: HistoryService | None = None  # suppression + history + reports (docs/history.md)
        self.watchers: dict[str, RouterWatcher] = {}
        self.subscription_store: Any = None
        self.emitted: list[Event] = []  # the last few events, for `pantau demo` and tests
        # read by the web wing (/metrics, status page) at request time
        self.monitors: dict[str, HostMonitor] = {}
        self.watchers: dict[str, RouterWatcher] = {}
        self.event_counts: Counter[str] = Counter()
        self.ready = False  # start() finished and stop() not begun: /readyz
        self._own_probe = probe is None
        self.scheduler: IcmpScheduler | None = None
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._emitting = asyncio.Lock()

    def _start_hosts(self) -> None:
        """One monitor per host. With the one-socket ICMP engine a single scheduler drives every
        check (no task per host); other probes get a task per host."""
        assert self.host_store is not None
        persisted = self.host_store.load()
        monitors = self.monitors
        for host in self.config.hosts:
            saved = persisted.get(host.name)
            initial = (saved[0], saved[1]) if saved and saved[2] == host.address else None
            monitors[host.name] = HostMonitor(host, self.probe, self.emit, store=self.host_store, initial=initial)
        if not monitors:
            return
        if isinstance(self.probe, IcmpEngine):
            def on_result(name: Hashable, result: CheckResult) -> None:
                event = monitors[str(name)].observe(result, time.time())
                if event is not None:
                    self._queue.put_nowait(event)

            self.scheduler = IcmpScheduler(self.probe, on_result)
            for name, mon in monitors.items():
                h = mon.host
                self.scheduler.add(name, h.address, interval=h.interval, count=h.count, timeout=h.timeout,
                                   echo_interval=echo_interval(h))
            self.supervisor.spawn("host-state", self._flusher)
        else:
            for name, mon in monitors.items():
                self.supervisor.spawn(f"host:{name}", mon.run)

    async def _emitter(self) -> None:
        """Emit scheduler-detected events one at a time, in detection order, then persist states."""
        while True:
            event = await self._queue.get()
            async with self._emitting:
                try:
                    await self.emit(event)
                except Exception as exc:  # keep emitting the others
                    log.error("emit_failed", event_id=event.id, error=f"{type(exc).__name__}: {exc}")

    async def _flusher(self, every: float = 1.0) -> None:
        """Write buffered host states once their events are emitted (at most once a second)."""
        assert self.host_store is not None
        while True:
            await asyncio.sleep(every)
            async with self._emitting:  # no event between detection and the outbox right now
                if self.host_store.has_pending and self._queue.empty():
                    await asyncio.to_thread(self.host_store.flush)

    async def emit(self, event: Event) -> None:
        """A detected event: through maintenance/dependency suppression and the history, then routed."""
        if self.history is not None:
            await self.history.emit(event)
        else:
            await self._route(event)

    async def _route(self, event: Event, names: list[str] | None = None) -> list[str]:
        """Deliver ``event`` to ``names`` (default: the notifiers its routes pick); returns them."""
        names = self.router.match(event) if names is None else names
        log.info("event", event_type=event.type, event_id=event.id, source=event.source.name,
                 notify=names, **_log_keys(event))
        self.emitted.append(event)
        self.event_counts[event.type] += 1
        del self.emitted[:-1000]
        if names and self.outbox is not None:
            await self.outbox.enqueue(event, names)
        return names

    def _session_counts(self) -> dict[str, int]:
        """Active sessions (hotspot + PPP) per reachable router, for the history's peaks."""
        return {name: sum(len(w.sessions(m)) for m in w.config.watch)
                for name, w in self.watchers.items() if not w.down}

    async def start(self) -> None:
        settings = self.config.settings
        register_secrets(secret_values(self.config))
        if self.probe is None and self.config.hosts:
            self.probe = await open_probe(settings.icmp, self.config.hosts)
        self.http = aiohttp.ClientSession()
        problems = []
        for cfg in self.config.notifiers:
            kind = self.config.registry.get(cfg.type)
            assert kind is not None  # validated by load_config
            try:
                self.notifiers[cfg.name] = kind.cls(cfg, NotifierContext(
                    http=self.http, log=structlog.get_logger("pantau.notify").bind(notifier=cfg.name),
                    settings=settings, config_dir=self.config.source.parent if self.config.source else None))
            except Exception as exc:  # a plugin that cannot start is a start-up error, not a traceback
                problems.append(f"notifier {cfg.name} ({kind.origin}): cannot start: {type(exc).__name__}: {exc}")
        if problems:
            raise ConfigError(problems)
        self.outbox = Outbox(settings.state.path, self.notifiers, {n.name: n for n in self.config.notifiers})
        await self.outbox.start()
        self.history = HistoryService(self.config, route=self._route, sessions=self._session_counts)
        self.history.open()
        self.history.spawn(self.supervisor)

        self.host_store = HostStateStore(settings.state.path)
        self._start_hosts()
        self.supervisor.spawn("emitter", self._emitter)
        if settings.routers:
            self.session_store = RouterStore(settings.state.path)
            for router in settings.routers:
                watcher = self.watchers[router.name] = RouterWatcher(router, emit=self.emit,
                                                                     store=self.session_store)
                self.supervisor.spawn(f"router:{router.name}", watcher.run)
        self._start_subscriptions()
        if settings.http is not None:
            from .web.site import build_web

            self.web = build_web(self)  # every route (metrics, health, status page) is added here
        if settings.bot is not None:
            from .bot.service import BotService

            self.bot = BotService(self)
            self.bot.start()  # adds its webhook routes: before the web server starts
        if self.web is not None:
            await self.web.start()  # the app's router freezes here
        self.ready = True
        log.info("started", hosts=len(self.config.hosts), routers=len(settings.routers),
                 notifiers=len(self.notifiers), state=settings.state.path)

    def _start_subscriptions(self) -> None:
        """Expiry and quota warnings: one supervised poller per router that has hotspot users."""
        config = self.config.settings.subscriptions
        if config is None:
            return
        from .subscriptions.poller import SubscriptionPoller
        from .subscriptions.store import SubscriptionStore

        self.subscription_store = SubscriptionStore(self.config.settings.state.path)
        for router in self.config.settings.routers:
            if (router.name in config.routers) if config.routers is not None else ("hotspot" in router.watch):
                poller = SubscriptionPoller(router, config, timezone=self.config.settings.timezone, emit=self.emit,
                                            store=self.subscription_store)
                self.supervisor.spawn(f"subscriptions:{router.name}", poller.run)

    async def stop(self, grace: float = 2.0) -> None:
        """Stop the sources at once, give in-flight deliveries ``grace`` seconds, close everything."""
        self.ready = False
        if self.scheduler is not None:
            await self.scheduler.aclose()
        while not self._queue.empty():  # detected but not yet emitted: into the outbox first
            event = self._queue.get_nowait()
            with contextlib.suppress(Exception):
                await self.emit(event)
        if self.web is not None:
            await self.web.aclose()
        await self.supervisor.aclose(grace=grace)  # a task that ignores cancellation is logged, not waited on
        if self.history is not None:
            self.history.close()  # flushes the last buffered history
        if self.outbox is not None:
            await self.outbox.aclose(grace=grace)
        for name, notifier in self.notifiers.items():
            try:
                await notifier.aclose()
            except Exception as exc:
                log.warning("notifier.close_failed", notifier=name, error=f"{type(exc).__name__}: {exc}")
        if self.http is not None:
            await self.http.close()
        if self.probe is not None and self._own_probe:
            await self.probe.aclose()
        for store in (self.host_store, self.session_store, self.subscription_store, self.bot):
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
        log.info("stopped")

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def _log_keys(event: Event) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    if event.source.kind == "host":
        keys["host"] = event.source.name
    else:
        keys["router"] = event.source.name
    for k in ("user", "name"):
        if k in event.data and event.category in ("hotspot", "ppp"):
            keys["user"] = event.data[k]
    return keys
