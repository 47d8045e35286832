"""The history service: the engine's hook between detection and delivery.

``emit(event)`` runs the suppression core (maintenance windows, dependencies), hands the events
to send to the engine's ``route`` and records every event — sent or suppressed, with the reason —
in the history. Supervised tasks: ``suppression`` (held DOWNs, reconciliations, re-reading
windows added by ``pantau maintenance``), ``history`` (flush, retention, session samples) and
``reports`` (scheduled summaries). Time comes from ``self.clock`` so tests drive it.

Read API for other parts (the status page, the bot): ``store`` (:class:`HistoryStore`: ``recent``,
``strip``, ``uptime``), ``maintenance`` (:class:`MaintenanceStore`: ``add``, ``end``, ``list``),
``windows`` (the current :class:`WindowSet`), ``reload_windows()`` after adding/ending one, and
``report(since, until)`` (rows for a period). ``reconfigure(config)`` applies a SIGHUP reload: the
dependency graph, the configured windows, retention, reports and the time zone.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from ..errors import ConfigError
from ..events import Event, Source
from ..statedb import is_transient
from ..suppression.core import HELD, Outcome, Suppressor
from ..suppression.dependencies import build_graph
from ..suppression.schedule import parse_at
from ..suppression.store import MaintenanceStore, StoredWindow
from ..suppression.windows import WindowSet
from .report import ReportRow, build_rows, config_sources, summary_data
from .store import HistoryStore

log = structlog.get_logger("pantau.history")

Route = Callable[..., list[str]]  # route(event, names=None) -> the notifiers it went to (never suspends)


class HistoryService:
    def __init__(self, config: Any, *, route: Route, sessions: Callable[[], dict[str, int]] | None = None,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.settings = config.settings
        self.route = route
        self.sessions = sessions
        self.clock = clock
        self.tick = 1.0  # seconds between checks for due holds, reconciliations and reports
        self.windows_every = 5.0  # re-read stored windows (added by another process)
        self.flush_every = 1.0
        self.prune_every = 3600.0
        self.sample_every = 60.0
        self.tz = self.settings.timezone
        self.store: HistoryStore | None = None
        self.maintenance: MaintenanceStore | None = None
        self.core: Suppressor | None = None
        self._stored: tuple[StoredWindow, ...] = ()
        self._config_windows = [w.window(i, self.tz) for i, w in enumerate(self.settings.maintenance)]
        self._held: set[str] = set()  # ids of DOWNs recorded as held, settled later
        self._reporting = asyncio.Lock()  # the loop and a direct call never send one report twice

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> None:
        """Open the stores and rebuild the suppression state from the history (after a restart)."""
        path = self.settings.state.path
        try:
            self.store = HistoryStore(path)
            self.maintenance = MaintenanceStore(path)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError([f"state.path: cannot open the history database {path!r}: "
                               f"{type(exc).__name__}: {exc}"]) from None
        now = self.clock()
        self._stored = tuple(self.maintenance.list(since=now - 86400))
        last, announced = self.store.last_transitions()
        actual = {key: ("down" if e.type.endswith(".down") else "up") for key, e in last.items()}
        graph = build_graph(self.settings.hosts, self.settings.routers, self.config.hosts)
        self.core = Suppressor(graph, self._window_set(), actual=actual, announced=announced, last=last, now=now)
        log.info("history.opened", events=self.store.count(), windows=len(self.windows.windows),
                 dependencies=len(graph.parents), pending=len(self.core.pending))

    def spawn(self, supervisor: Any) -> None:
        supervisor.spawn("suppression", self._suppression_loop)
        supervisor.spawn("history", self._history_loop)
        if self.settings.reports:
            supervisor.spawn("reports", self._reports_loop)

    def close(self) -> None:
        for store in (self.store, self.maintenance):
            if store is not None:
                try:
                    store.close()
                except Exception as exc:
                    log.warning("history.close_failed", error=f"{type(exc).__name__}: {exc}")

    # -- the hook -------------------------------------------------------------------------------

    @property
    def windows(self) -> WindowSet:
        return self.core.windows if self.core is not None else self._window_set()

    async def emit(self, event: Event) -> None:
        self.submit(event)

    def submit(self, event: Event) -> None:
        """Decide, route and record ``event`` without suspending, so the engine keeps an event and
        the state change its source submits right after in one state-writer transaction."""
        assert self.core is not None and self.store is not None
        try:
            outcomes = self.core.decide(event, self.clock())
        except Exception as exc:  # fail open: a bug here must never swallow an alert
            log.error("suppression.failed", event_id=event.id, event_type=event.type,
                      error=f"{type(exc).__name__}: {exc}", exc_info=True)
            outcomes = [Outcome(event)]
        for outcome in outcomes:
            self._handle(outcome)

    def _handle(self, outcome: Outcome) -> None:
        assert self.store is not None
        names: list[str] = []
        if outcome.sent:
            names = self.route(outcome.event)
        elif outcome.suppressed == HELD:
            log.info("event.held", event_type=outcome.event.type, event_id=outcome.event.id,
                     source=outcome.event.source.name)
        else:
            log.info("event.suppressed", event_type=outcome.event.type, event_id=outcome.event.id,
                     source=outcome.event.source.name, reason=outcome.suppressed)
        event_id = outcome.event.id
        if outcome.suppressed == HELD:
            self._held.add(event_id)  # recorded now: a restart during the hold still knows it is down
            self.store.record(outcome.event, suppressed=HELD)
        elif event_id in self._held:
            self._held.discard(event_id)
            self.store.settle(event_id, suppressed=outcome.suppressed, notified=names)
        else:
            self.store.record(outcome.event, suppressed=outcome.suppressed, notified=names)

    async def run_due(self, now: float | None = None) -> int:
        """Release held DOWNs and run reconciliations due at ``now``; returns how many outcomes."""
        assert self.core is not None
        outcomes = self.core.due(self.clock() if now is None else now)
        for outcome in outcomes:
            self._handle(outcome)
        return len(outcomes)

    def reload_windows(self) -> bool:
        """Re-read stored windows; when they changed, anything no longer covered is reconciled."""
        assert self.maintenance is not None and self.core is not None
        now = self.clock()
        stored = tuple(self.maintenance.list(since=now - 86400))
        if stored == self._stored:
            return False
        self._stored = stored
        self.core.windows_changed(self._window_set(), now)
        log.info("maintenance.reloaded", windows=len(self.core.windows.windows))
        return True

    async def reconfigure(self, config: Any, supervisor: Any = None) -> None:
        """A reloaded config: the new dependency graph applies from the next transition, a window
        added in the file starts suppressing at once, one removed (or shortened) stops and what it
        covered is reconciled, as when ``pantau maintenance end`` ends one. The suppression state
        (held DOWNs, what each source was last told) is kept."""
        reports_before = bool(self.settings.reports)
        self.config, self.settings, self.tz = config, config.settings, config.settings.timezone
        self._config_windows = [w.window(i, self.tz) for i, w in enumerate(self.settings.maintenance)]
        if self.core is not None:
            graph = build_graph(self.settings.hosts, self.settings.routers, config.hosts)
            self.core.graph = graph
            self.core.windows_changed(self._window_set(), self.clock())
            log.info("history.reconfigured", windows=len(self.core.windows.windows),
                     dependencies=len(graph.parents), reports=len(self.settings.reports))
        if supervisor is not None and reports_before != bool(self.settings.reports):
            if self.settings.reports:
                supervisor.spawn("reports", self._reports_loop)
            else:
                await supervisor.cancel("reports")

    def _window_set(self) -> WindowSet:
        return WindowSet(self._config_windows + [w.window() for w in self._stored], self.tz)

    # -- reports --------------------------------------------------------------------------------

    def report(self, since: float, until: float, sources: Sequence[Source] | None = None) -> list[ReportRow]:
        assert self.store is not None and self.maintenance is not None
        self.store.flush()
        windows = WindowSet(self._config_windows + [w.window() for w in self.maintenance.list(since=since)], self.tz)
        return build_rows(self.store, sources if sources is not None else config_sources(self.config), windows,
                          since, until)

    async def run_reports(self, now: float | None = None) -> list[Event]:
        """Send every scheduled report whose time came since it last ran (at most one each: a
        pantau that was stopped for days sends the latest, not a backlog). A report's first
        start only remembers the time, so adding one never sends a report for the past."""
        assert self.store is not None
        async with self._reporting:
            return await self._run_reports(self.clock() if now is None else now)

    async def _run_reports(self, now: float) -> list[Event]:
        assert self.store is not None
        sent = []
        for i, cfg in enumerate(self.settings.reports):
            key = f"report[{i}]:{cfg.every}"
            clock = parse_at(cfg.every)
            last = self.store.get_meta(key)
            if last is None:
                self.store.set_meta(key, repr(now))
                continue
            due = clock.last_at_or_before(now, self.tz)
            if due <= float(last):
                continue
            since = due - clock.period
            rows = await asyncio.to_thread(self.report, since, due)
            data = summary_data(rows, self.store.sessions_peak(since, due), since, due,
                                period="daily" if clock.weekday is None else "weekly", worst=cfg.worst)
            at = datetime.fromtimestamp(now, UTC)
            event = Event("report.summary", Source("pantau", "report"), data,
                          at=at.replace(microsecond=at.microsecond // 1000 * 1000))
            names = self.route(event, list(cfg.notify))
            self.store.record(event, notified=names)
            self.store.set_meta(key, repr(due))
            log.info("report.sent", report=i, every=cfg.every, notify=names, sources=data["sources"],
                     outages=data["outages"], downtime_s=data["downtime_s"])
            sent.append(event)
        return sent

    # -- supervised loops -----------------------------------------------------------------------

    async def _suppression_loop(self) -> None:
        last_reload = self.clock()
        while True:
            await asyncio.sleep(self.tick)
            if self.clock() - last_reload >= self.windows_every:
                last_reload = self.clock()
                self.reload_windows()  # a small SELECT; the core is only touched on the loop
            await self.run_due()

    async def _history_loop(self) -> None:
        """Flush, prune and sample; a locked, full or failing state DB is waited out (the rows stay
        buffered, in order) instead of crashing the task."""
        assert self.store is not None and self.maintenance is not None
        last_prune = last_sample = float("-inf")
        failing = False
        while True:
            now = self.clock()
            try:
                if now - last_prune >= self.prune_every:
                    keep = self.settings.history.keep
                    pruned = await asyncio.to_thread(self.store.prune, now - keep)
                    await asyncio.to_thread(self.maintenance.prune, now - keep)
                    last_prune = now
                    log.info("history.pruned", events=pruned, keep_s=keep)
                if self.sessions is not None and now - last_sample >= self.sample_every:
                    last_sample = now
                    counts = self.sessions()
                    if counts:
                        await asyncio.to_thread(self.store.sample_sessions, now, counts)
                await asyncio.to_thread(self.store.flush)
                if failing:
                    failing = False
                    log.info("history_db_recovered")
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if not failing:
                    failing = True
                    log.warning("history_db_unavailable", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.flush_every)

    async def _reports_loop(self) -> None:
        while True:
            await self.run_reports()
            await asyncio.sleep(self.tick * 10)
