"""The engine: wires config → sources (hosts, routers) → detector → events → routes → outbox → notifiers.

``Engine.start()`` fails fast (ProbeError, ConfigError) before any loop runs; once running, every
loop degrades on its own (logs, retries) and never takes another down. Every state-DB write goes
through one writer (monitor/state_writer.py): an event and the state change it announces commit
in one transaction. ``Engine.reload`` (monitor/engine_reload.py) applies a SIGHUP.
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

from .config.model import Config, HostCheck
from .delivery.notify import NotifierConfig, NotifierContext
from .delivery.outbox_reload import ReloadableOutbox
from .delivery.routing import EventRouter
from .engine_reload import ReloadMixin
from .errors import ConfigError
from .events import Event, Source
from .history.service import HistoryService
from .hosts.detector import State
from .hosts.icmp.engine import IcmpEngine
from .hosts.icmp.scheduler import IcmpScheduler
from .hosts.loop import HostMonitor, echo_interval
from .hosts.open_probe import open_probe
from .hosts.probe import CheckResult, Probe
from .hosts.state import HostStateStore
from .logs import register_secrets
from .redaction import collect_secrets
from .routeros.config import RouterConfig
from .routeros.router_health import RouterHealthWatcher, wants_health_watcher
from .routeros.store import RouterStore
from .routeros.watcher import RouterWatcher
from .state_writer import StateWriter
from .subscriptions.running import SubscriptionPollers
from .supervisor import Supervisor

log = structlog.get_logger("pantau.engine")


def secret_values(config: Config) -> list[str]:
    """Every secret the config holds, so logs can mask them wherever they appear."""
    return collect_secrets(config.notifiers, config.settings.routers, config.settings.bot)


class Engine(ReloadMixin):
    def __init__(self, config: Config, *, probe: Probe | None = None):
        self.config = config
        self.probe = probe
        self.router = EventRouter(config.routes)
        self.notifiers: dict[str, Any] = {}
        self.supervisor = Supervisor(on_degraded=self._degraded)
        self.web: Any = None  # monitor.web.server.WebServer when `http:` is configured
        self.registration: Any = None  # monitor.registration.service.RegistrationService
        self.bot: Any = None  # monitor.bot.service.BotService when `bot:` is configured
        self.http: aiohttp.ClientSession | None = None
        self.outbox: ReloadableOutbox | None = None
        self.writer: StateWriter | None = None  # every state-DB write while running (monitor/state_writer.py)
        self.host_store: HostStateStore | None = None
        self.session_store: RouterStore | None = None
        self.history: HistoryService | None = None  # suppression + history + reports (docs/history.md)
        self.subscriptions: Any = None  # monitor.subscriptions.running.SubscriptionPollers
        self.web_switch: Any = None  # notifiers' web routes (monitor/web/switch.py): a reload swaps them
        self.emitted: list[Event] = []  # the last few events, for `pantau demo` and tests
        # read by the web wing (/metrics, status page) at request time
        self.monitors: dict[str, HostMonitor] = {}
        self.watchers: dict[str, RouterWatcher] = {}
        self.event_counts: Counter[str] = Counter()
        self.ready = False  # start() finished and stop() not begun: /readyz
        self._own_probe = probe is None
        self.scheduler: IcmpScheduler | None = None
        self.pingers: dict[str, Any] = {}  # router name → RouterPinger for hosts[].via

    # -- sources ----------------------------------------------------------------------------------

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
        if host.via is not None:  # pinged from a router: a task per host, sharing the router's pinger
            mon = HostMonitor(host, self._via_probe(host), self.emit, store=self.host_store, initial=initial)
            self.monitors[host.name] = mon
            self.supervisor.spawn(f"host:{host.name}", mon.run)
            return
        mon = HostMonitor(host, self.probe, self.emit, store=self.host_store, initial=initial)
        self.monitors[host.name] = mon
        if isinstance(self.probe, IcmpEngine):
            if self.scheduler is None:
                self.scheduler = IcmpScheduler(self.probe, self._on_result)
            self.scheduler.add(host.name, host.address, interval=host.interval, count=host.count,
                               timeout=host.timeout, echo_interval=echo_interval(host))
        else:
            self.supervisor.spawn(f"host:{host.name}", mon.run)

    async def _remove_host(self, name: str) -> None:
        self.monitors.pop(name, None)
        if self.scheduler is not None:
            self.scheduler.remove(name)
        await self.supervisor.cancel(f"host:{name}")

    def _via_probe(self, host: Any) -> Probe:
        from .routeros.via import RouterPinger, SizedProbe

        if host.via not in self.pingers:
            router = next(r for r in self.config.settings.routers if r.name == host.via)
            self.pingers[host.via] = RouterPinger(router)
        return SizedProbe(self.pingers[host.via], host.size)

    def _on_result(self, name: Hashable, result: CheckResult) -> None:
        mon = self.monitors.get(str(name))
        if mon is None:  # removed by a reload while its check was in flight
            return
        # observe() hands the state change to the writer; the event follows in the same
        # synchronous step, so both commit in one transaction
        event = mon.observe(result, time.time())
        if event is not None:
            self.submit(event)

    def _start_router(self, router: RouterConfig) -> None:
        if self.session_store is None:
            assert self.writer is not None
            self.session_store = RouterStore(self.config.settings.state.path, submit=self.writer.submit)
        watcher = RouterWatcher(router, emit=self.emit, store=self.session_store, supervisor=self.supervisor,
                                room=self.writer.room if self.writer is not None else None)
        self.watchers[router.name] = watcher
        self.supervisor.spawn(f"router:{router.name}", watcher.run)
        if wants_health_watcher(router):  # interfaces, health thresholds, netwatch: follow
            health = RouterHealthWatcher(router, emit=self.emit)
            self.supervisor.spawn(f"router-health:{router.name}", health.run)

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

    # -- events -----------------------------------------------------------------------------------

    def submit(self, event: Event) -> None:
        """A detected event: through maintenance/dependency suppression and the history (when
        configured), then routed and handed to the state writer. Never suspends: a state change a
        source submits right after lands in the same transaction (monitor/state_writer.py)."""
        if self.history is not None and self.history.core is not None:
            self.history.submit(event)
        else:
            self._route(event)

    def _route(self, event: Event, names: list[str] | None = None) -> list[str]:
        """Deliver ``event`` to ``names`` (default: the notifiers its routes pick); returns them.
        Never blocks, never fails: a locked or full database is waited out by the writer, in order."""
        if names is None:
            names = self.router.match(event)
            if self.registration is not None:  # one message per registration request per chat
                names = self.registration.covered(event, names)
        log.info("event", event_type=event.type, event_id=event.id, source=event.source.name,
                 notify=names, **_log_keys(event))
        self.emitted.append(event)
        self.event_counts[event.type] += 1
        del self.emitted[:-1000]
        if event.type == "router.up" and event.source.name in self.pingers:
            self.pingers[event.source.name].router_back()  # via: hosts resume now, not after the backoff
        if self.writer is not None:
            self.writer.submit(event, names)
        return names

    async def emit(self, event: Event) -> None:
        """The sources' ``emit``: does not suspend (see ``submit``)."""
        self.submit(event)

    def _degraded(self, task: str, error: str, crashes: int) -> None:
        """A task keeps crashing: tell the operators (route ``pantau.*`` to the admins)."""
        self.submit(Event("pantau.degraded", Source(kind="pantau", name=task),
                          {"task": task, "error": error, "crashes": crashes,
                           "window_s": self.supervisor.window}))

    def _session_counts(self) -> dict[str, int]:
        """Active sessions (hotspot + PPP) per reachable router, for the history's peaks."""
        return {name: sum(w.session_count(m) for m in w.config.watch)
                for name, w in self.watchers.items() if not w.down}

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.config.settings
        register_secrets(secret_values(self.config))
        direct = [h for h in self.config.hosts if h.via is None]  # via: hosts are pinged by their router
        if self.probe is None and direct:
            self.probe = await open_probe(settings.icmp, direct)
        self.http = aiohttp.ClientSession()
        problems = []
        for cfg in self.config.notifiers:
            try:
                self.notifiers[cfg.name] = self._new_notifier(cfg)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
        state = settings.state
        sweep = max(0.5, min(30.0, state.keep_sent / 4, state.keep_dead / 4))  # short retention, frequent prune
        self.outbox = ReloadableOutbox(state.path, self.notifiers, {n.name: n for n in self.config.notifiers},
                                       keep_sent=state.keep_sent, keep_dead=state.keep_dead, poll_interval=sweep,
                                       spawn=self.supervisor.spawn)
        await self.outbox.start()
        self.writer = StateWriter(self.outbox.commit)
        self.supervisor.spawn("state-writer", self.writer.run)
        self.history = HistoryService(self.config, route=self._route, sessions=self._session_counts)
        self.history.open()
        self.history.spawn(self.supervisor)
        for name, notifier in self.notifiers.items():  # e.g. Alertmanager's re-posting of firing alerts
            self._start_notifier_task(name, notifier)

        self.host_store = HostStateStore(state.path, submit=self.writer.submit)
        self._start_hosts()
        for router in settings.routers:
            self._start_router(router)
        # expiry and quota warnings: one supervised poller per router that has hotspot users
        self.subscriptions = SubscriptionPollers(self.supervisor, emit=self.emit, state_path=settings.state.path)
        await self.subscriptions.apply(self.config)
        if settings.http is not None:
            from .web.site import build_web
            from .web.switch import RouteSwitch

            self.web = build_web(self)  # every route (metrics, health, status page) is added here
            self.web_switch = RouteSwitch()  # e.g. the WhatsApp Cloud status webhook
            self.web.add_routes(self.web_switch.register(self._notifier_routes()))
        if settings.bot is not None:
            from .bot.service import BotService

            self.bot = BotService(self)
            self.bot.start()  # adds its webhook routes: before the web server starts
        if self.web is not None:
            await self.web.start()  # the app's router freezes here
        if settings.registration is not None:  # the registration page, on its own listener
            from .registration.service import RegistrationService

            self.registration = RegistrationService(self, settings.registration)
            await self.registration.start()
        self.ready = True
        log.info("started", hosts=len(self.config.hosts), routers=len(settings.routers),
                 notifiers=len(self.notifiers), state=settings.state.path)

    def _start_notifier_task(self, name: str, notifier: Any) -> None:
        if callable(getattr(notifier, "run", None)):
            self.supervisor.spawn(f"notifier:{name}", notifier.run)

    def _notifier_routes(self) -> list[Any]:
        return [route for notifier in self.notifiers.values() if hasattr(notifier, "web_routes")
                for route in notifier.web_routes(self.outbox)]

    async def stop(self, grace: float = 2.0) -> None:
        """Stop the sources at once, give in-flight deliveries ``grace`` seconds, close everything."""
        self.ready = False
        if self.scheduler is not None:
            await self.scheduler.aclose()
        for name in self.supervisor.names():  # the sources first: nothing new is detected
            if name.startswith(("router:", "host:")) and ":listen:" not in name:
                await self.supervisor.cancel(name, grace=grace)
        if self.writer is not None and not await self.writer.flush(timeout=grace):
            # the database is still locked or full: these are re-detected on the next start
            log.error("state_writes_abandoned", waiting=len(self.writer))
        await self.supervisor.cancel("state-writer", grace=grace)
        if self.web is not None:
            await self.web.aclose()
        if self.registration is not None:
            await self.registration.aclose()
        if self.outbox is not None:  # in-flight sends get their grace before anything is cancelled
            await self.outbox.aclose(grace=grace)
        await self.supervisor.aclose(grace=grace)  # a task that ignores cancellation is logged, not waited on
        if self.history is not None:
            self.history.close()  # flushes the last buffered history
        for name, notifier in self.notifiers.items():
            try:
                await notifier.aclose()
            except Exception as exc:
                log.warning("notifier.close_failed", notifier=name, error=f"{type(exc).__name__}: {exc}")
        if self.http is not None:
            await self.http.close()
        if self.probe is not None and self._own_probe:
            await self.probe.aclose()
        for pinger in self.pingers.values():
            with contextlib.suppress(Exception):
                await pinger.aclose()
        for store in (self.host_store, self.session_store, self.subscriptions, self.bot):
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
    elif event.source.kind == "pantau":
        keys["task"] = event.source.name
    else:
        keys["router"] = event.source.name
    for k in ("user", "name"):
        if k in event.data and event.category in ("hotspot", "ppp"):
            keys["user"] = event.data[k]
    return keys
