"""What the status page shows, behind one small read interface.

``StatusSource`` is all the page asks; ``EngineStatusSource`` answers it from the running engine
(host monitors, router watchers, the supervisor, ``engine.emitted`` for recent events and the 24 h
strips, the outbox for pending/dead counts). When a history store exists, a source reading it can
replace this one (``build_web(engine, source=...)``) without touching the page.

Maintenance windows are shown only when the engine exposes ``maintenance_windows()`` (an iterable
of objects or dicts with ``target``, ``start``, ``end`` (epoch seconds or datetimes) and ``reason``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from ..events import Event
from ..hosts.detector import State

STRIP_HOURS = 24


class HostView(NamedTuple):  # a NamedTuple: 10,000 of them are built per page view
    name: str
    address: str
    labels: Mapping[str, str]
    state: str  # up | down | unknown
    since: float | None
    rtt_ms: float | None
    loss: float | None


@dataclass(frozen=True)
class RouterView:
    name: str
    address: str
    identity: str | None
    reachable: bool
    sessions: dict[str, int]  # hotspot / ppp → active now
    api_latency_ms: float | None
    task: str  # the supervised task's state (running, backoff, degraded…)


@dataclass(frozen=True)
class MaintenanceView:
    target: str
    start: float | None
    end: float | None
    reason: str | None = None


@dataclass
class TaskSummary:
    total: int = 0
    unhealthy: list[str] = field(default_factory=list)


class StatusSource(Protocol):
    def version(self) -> int: ...  # changes whenever an event was emitted
    def hosts(self) -> Iterable[HostView]: ...
    def routers(self) -> list[RouterView]: ...
    def tasks(self) -> TaskSummary: ...
    def recent_events(self, limit: int) -> list[Event]: ...
    def host_strips(self, names: Iterable[str], now: float) -> dict[str, list[str]]: ...
    async def outbox(self) -> dict[str, dict[str, int]]: ...
    def maintenance(self) -> list[MaintenanceView] | None: ...


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime) else float(value)


def strip_from_transitions(events: list[tuple[float, str]], current: str, now: float,
                           hours: int = STRIP_HOURS) -> list[str]:
    """Hourly cells (oldest first) over the last ``hours``: ``up``, ``down``, ``mixed`` (both in
    that hour) or ``unknown``, from (time, new state) transitions in time order and the state now."""
    start = now - hours * 3600
    inside = [(t, s) for t, s in events if start < t <= now]
    before = [s for t, s in events if t <= start]
    if before:
        state = before[-1]
    elif inside:  # the state before the first transition inside is its opposite
        state = "up" if inside[0][1] == "down" else "down" if inside[0][1] == "up" else "unknown"
    else:
        state = current
    cells: list[str] = []
    i = 0
    for h in range(hours):
        hi = start + (h + 1) * 3600
        seen = {state}
        while i < len(inside) and inside[i][0] <= hi:
            state = inside[i][1]
            seen.add(state)
            i += 1
        if len(seen) > 1:
            seen.discard("unknown")
        cells.append(seen.pop() if len(seen) == 1 else "mixed")
    return cells


class EngineStatusSource:
    def __init__(self, engine: Any):
        self.engine = engine

    def version(self) -> int:
        return sum(self.engine.event_counts.values())

    def hosts(self) -> Iterable[HostView]:
        for name, mon in self.engine.monitors.items():
            last = mon.last
            yield HostView(name, mon.host.address, mon.host.labels, mon.detector.state.value, mon.detector.since,
                           None if last is None else last.rtt_avg_ms, None if last is None else last.loss)

    def routers(self) -> list[RouterView]:
        health = self.engine.supervisor.health()
        out = []
        for name, w in self.engine.watchers.items():
            h = health.get(f"router:{name}")
            task = "missing" if h is None else "degraded" if h.degraded else h.state
            out.append(RouterView(name, w.config.address, w.identity, not w.down,
                                  {watch: w.session_count(watch) for watch in w.config.watch},
                                  None if w.api_latency_s is None else w.api_latency_s * 1000, task))
        return out

    def tasks(self) -> TaskSummary:
        health = self.engine.supervisor.health()
        return TaskSummary(len(health), sorted(n for n, h in health.items() if not h.healthy))

    def recent_events(self, limit: int) -> list[Event]:
        return list(reversed(self.engine.emitted[-limit:]))

    def host_strips(self, names: Iterable[str], now: float) -> dict[str, list[str]]:
        wanted = set(names)
        transitions: dict[str, list[tuple[float, str]]] = {n: [] for n in wanted}
        for event in self.engine.emitted:
            if event.source.kind == "host" and event.source.name in wanted and event.type in ("host.down", "host.up"):
                transitions[event.source.name].append((event.at.timestamp(), event.type[5:]))
        monitors = self.engine.monitors
        return {n: strip_from_transitions(sorted(t), monitors[n].detector.state.value if n in monitors
                                          else State.UNKNOWN.value, now) for n, t in transitions.items()}

    async def outbox(self) -> dict[str, dict[str, int]]:
        counts = {name: {"pending": 0, "dead": 0, "sent": 0} for name in self.engine.notifiers}
        if self.engine.outbox is not None:
            counts.update(await asyncio.wait_for(self.engine.outbox.counts_by_notifier(), 5.0))
        return counts

    def maintenance(self) -> list[MaintenanceView] | None:
        fn = getattr(self.engine, "maintenance_windows", None)
        if fn is None:
            return None
        views = []
        for w in fn():
            get = w.get if isinstance(w, dict) else lambda k, w=w: getattr(w, k, None)
            views.append(MaintenanceView(str(get("target")), _epoch(get("start")), _epoch(get("end")),
                                         get("reason")))
        return views


class HistoryStatusSource(EngineStatusSource):
    """The engine's live state, with recent events (sent and suppressed) and the 24 h strips read
    from the history store, so a host that has been quiet longer than the engine's last 1,000
    events still shows its real day; maintenance windows from the suppression wing."""

    _CELL = {"up": "up", "down": "down", "partial": "mixed", "excluded": "unknown"}

    def __init__(self, engine: Any, history: Any):
        super().__init__(engine)
        self.history = history

    def recent_events(self, limit: int) -> list[Event]:
        self.history.store.flush()
        return [entry.event for entry in self.history.store.recent(limit)]

    def host_strips(self, names: Iterable[str], now: float) -> dict[str, list[str]]:
        store, monitors = self.history.store, self.engine.monitors
        since = now - STRIP_HOURS * 3600
        out: dict[str, list[str]] = {}
        for name in names:
            current = monitors[name].detector.state.value if name in monitors else State.UNKNOWN.value
            before, moves = store.transitions("host", name, since, now)
            if before is None and not moves:  # never announced: up silently since pantau first saw it
                out[name] = [current] * STRIP_HOURS
                continue
            cells = store.strip("host", name, since, now, buckets=STRIP_HOURS)
            out[name] = [self._CELL.get(cell.state, "unknown") for cell in cells]
        return out

    def maintenance(self) -> list[MaintenanceView] | None:
        now = datetime.now().timestamp()
        return [MaintenanceView(", ".join(str(s) for s in window.selectors), start, end, window.reason or None)
                for window, start, end in self.history.windows.current(now)]
