"""The engine: wires config → sources (hosts, routers) → detector → events → routes → outbox → notifiers.

``Engine.start()`` fails fast (ProbeError, ConfigError) before any loop runs; once running, every
loop degrades on its own (logs, retries) and never takes another down.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Hashable
from typing import Any

import aiohttp
import structlog

from .config.model import Config, HostCheck
from .delivery.notify import NotifierConfig, NotifierContext
from .delivery.outbox_reload import ReloadableOutbox
from .delivery.routing import EventRouter
from .errors import ConfigError
from .events import Event
from .hosts.detector import State
from .hosts.icmp.engine import IcmpEngine
from .hosts.icmp.scheduler import IcmpScheduler
from .hosts.loop import HostMonitor, echo_interval
from .hosts.open_probe import open_probe
from .hosts.probe import CheckResult, Probe
from .hosts.state import HostStateStore
from .logs import register_secrets
from .redaction import collect_secrets
from .reload import ReloadPlan
from .routeros.config import RouterConfig
from .routeros.store import RouterStore
from .routeros.watcher import RouterWatcher
from .supervisor import Supervisor

log = structlog.get_logger("pantau.engine")


def secret_values(config: Config) -> list[str]:
    """Every secret the config holds, so logs can mask them wherever they appear."""
    return collect_secrets(config.notifiers, config.settings.routers)


class Engine:
    def __init__(self, config: Config, *, probe: Probe | None = None):
        self.config = config
        self.probe = probe
        self.router = EventRouter(config.routes)
        self.notifiers: dict[str, Any] = {}
        self.supervisor = Supervisor()
        self.web: Any = None  # monitor.web.server.WebServer when `http:` is configured
        self.http: aiohttp.ClientSession | None = None
        self.outbox: ReloadableOutbox | None = None
        self.host_store: HostStateStore | None = None
        self.session_store: RouterStore | None = None
        self.emitted: list[Event] = []  # the last few events, for `pantau demo` and tests
        self._own_probe = probe is None
        self.scheduler: IcmpScheduler | None = None
        self._monitors: dict[str, HostMonitor] = {}
        self.watchers: dict[str, RouterWatcher] = {}
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._emitting = asyncio.Lock()

    def _start_hosts(self) -> None:
        """One monitor per host. With the one-socket ICMP engine a single scheduler drives every
        check (no task per host); other probes get a task per host."""
        assert self.host_store is not None
        persisted = self.host_store.load()
        for host in self.config.hosts:
            self._add_host(host, persisted)

    def _add_host(self, host: HostCheck, persisted: dict[str, Any],
                  initial: tuple[State, float | None] | None = None) -> None:
        saved = persisted.get(host.name)
        if initial is None and saved and saved[2] == host.address:
            initial = (saved[0], saved[1])
        mon = HostMonitor(host, self.probe, self.emit, store=self.host_store, initial=initial)
        self._monitors[host.name] = mon
        if isinstance(self.probe, IcmpEngine):
            if self.scheduler is None:
                self.scheduler = IcmpScheduler(self.probe, self._on_result)
                self.supervisor.spawn("host-state", self._flusher)
            self.scheduler.add(host.name, host.address, interval=host.interval, count=host.count,
                               timeout=host.timeout, echo_interval=echo_interval(host))
        else:
            self.supervisor.spawn(f"host:{host.name}", mon.run)

    async def _remove_host(self, name: str) -> None:
        self._monitors.pop(name, None)
        if self.scheduler is not None:
            self.scheduler.remove(name)
        await self.supervisor.cancel(f"host:{name}")

    def _on_result(self, name: Hashable, result: CheckResult) -> None:
        mon = self._monitors.get(str(name))
        if mon is None:  # removed by a reload while its check was in flight
            return
        event = mon.observe(result, time.time())
        if event is not None:
            self._queue.put_nowait(event)

    def _start_router(self, router: RouterConfig) -> None:
        if self.session_store is None:
            self.session_store = RouterStore(self.config.settings.state.path)
        watcher = RouterWatcher(router, emit=self.emit, store=self.session_store)
        self.watchers[router.name] = watcher
        self.supervisor.spawn(f"router:{router.name}", watcher.run)

    def _new_notifier(self, cfg: NotifierConfig) -> Any:
        kind = self.config.registry.get(cfg.type)
        assert kind is not None  # validated by load_config
        assert self.http is not None
        try:
            return kind.cls(cfg, NotifierContext(
                http=self.http, log=structlog.get_logger("pantau.notify").bind(notifier=cfg.name),
                settings=self.config.settings,
                config_dir=self.config.source.parent if self.config.source else None))
        except Exception as exc:  # a plugin that cannot start is a config error, not a traceback
            raise ConfigError([f"notifier {cfg.name} ({kind.origin}): cannot start: "
                               f"{type(exc).__name__}: {exc}"]) from None

    async def reload(self, new: Config) -> ReloadPlan:
        """Apply a reloaded config (SIGHUP) without restarting what did not change; see
        monitor/reload.py. Raises ConfigError/ProbeError before changing anything when a new
        notifier cannot start or hosts need an ICMP probe that cannot be opened."""
        from .reload import plan_reload

        plan = plan_reload(self.config, new)
        keep = {k: getattr(self.config.settings, k) for k in plan.restart_needed}
        new = dataclasses.replace(new, settings=new.settings.model_copy(update=keep))
        register_secrets(secret_values(new))
        if plan.hosts.added and self.probe is None:
            self.probe = await open_probe(new.settings.icmp)
        old_config, self.config = self.config, new
        try:
            by_name = {n.name: n for n in new.notifiers}
            fresh = {name: self._new_notifier(by_name[name]) for name in plan.notifiers.added + plan.notifiers.changed}
        except ConfigError:
            self.config = old_config
            raise
        retired = [self.notifiers.pop(name) for name in plan.notifiers.removed + plan.notifiers.changed]
        self.notifiers.update(fresh)
        self.router = EventRouter(new.routes)
        if self.outbox is not None:  # waits for sends in flight through the retired instances
            await self.outbox.reconfigure(self.notifiers, by_name)
        for notifier in retired:
            with contextlib.suppress(Exception):
                await notifier.aclose()

        hosts = {h.name: h for h in new.hosts}
        persisted = self.host_store.load() if self.host_store is not None and (
            plan.hosts.added or plan.hosts.changed) else {}
        for name in plan.hosts.removed:
            await self._remove_host(name)
        for name in plan.hosts.changed:
            old = self._monitors[name]
            same_address = old.host.address == hosts[name].address
            await self._remove_host(name)  # then re-added: keeps its state unless the address moved
            self._add_host(hosts[name], persisted if same_address else {},
                           (old.detector.state, old.detector.since) if same_address else None)
        for name in plan.hosts.added:
            self._add_host(hosts[name], persisted)

        routers = {r.name: r for r in new.settings.routers}
        for name in plan.routers.removed + plan.routers.changed:
            await self.supervisor.cancel(f"router:{name}")
            self.watchers.pop(name, None)
        for name in plan.routers.changed + plan.routers.added:
            self._start_router(routers[name])  # a changed one resumes from its saved sessions
        log.info("reloaded", **plan.log_fields())
        if plan.restart_needed:
            log.warning("reload_needs_restart", settings=plan.restart_needed,
                        hint="these settings take effect at the next start")
        return plan

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
        names = self.router.match(event)
        log.info("event", event_type=event.type, event_id=event.id, source=event.source.name,
                 notify=names, **_log_keys(event))
        self.emitted.append(event)
        del self.emitted[:-1000]
        if names and self.outbox is not None:
            await self.outbox.enqueue(event, names)

    async def start(self) -> None:
        settings = self.config.settings
        register_secrets(secret_values(self.config))
        if self.probe is None and self.config.hosts:
            self.probe = await open_probe(settings.icmp)
        self.http = aiohttp.ClientSession()
        problems = []
        for cfg in self.config.notifiers:
            try:
                self.notifiers[cfg.name] = self._new_notifier(cfg)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        self.outbox = ReloadableOutbox(settings.state.path, self.notifiers, {n.name: n for n in self.config.notifiers})
        await self.outbox.start()

        self.host_store = HostStateStore(settings.state.path)
        self._start_hosts()
        self.supervisor.spawn("emitter", self._emitter)
        for router in settings.routers:
            self._start_router(router)
        if settings.http is not None:
            from .web.server import WebServer

            self.web = WebServer(settings.http, health=self.supervisor.health)
            await self.web.start()  # routes are added before this: the app's router freezes here
        log.info("started", hosts=len(self.config.hosts), routers=len(settings.routers),
                 notifiers=len(self.notifiers), state=settings.state.path)

    async def stop(self, grace: float = 2.0) -> None:
        """Stop the sources at once, give in-flight deliveries ``grace`` seconds, close everything."""
        if self.scheduler is not None:
            await self.scheduler.aclose()
        while not self._queue.empty():  # detected but not yet emitted: into the outbox first
            event = self._queue.get_nowait()
            with contextlib.suppress(Exception):
                await self.emit(event)
        if self.web is not None:
            await self.web.aclose()
        await self.supervisor.aclose(grace=grace)  # a task that ignores cancellation is logged, not waited on
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
        for store in (self.host_store, self.session_store):
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
