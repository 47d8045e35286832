"""Supervision: every long-running task runs under one supervisor and is never silently lost.

A task that raises is logged once as ``task_crashed`` (with its name and a traceback without
locals) and restarted after a backoff that doubles per consecutive crash (``backoff`` to
``max_backoff``). A task that ran ``stable_after`` seconds before crashing starts again from the
shortest backoff. ``crash_loop`` crashes within ``window`` seconds mark it degraded: logged as
``task_degraded`` and reported through ``on_degraded`` (the engine turns that into a
``pantau.degraded`` event for admins); it keeps being restarted. ``health()`` is what ``/healthz``
reads. Time comes from ``clock`` so tests drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("pantau.supervisor")

TaskFactory = Callable[[], Awaitable[None]]
DegradedCallback = Callable[[str, str, int], Any]


@dataclass
class TaskHealth:
    """What ``/healthz`` shows of one supervised task."""

    name: str
    state: str = "starting"  # running | backoff | stopped
    restarts: int = 0
    degraded: bool = False  # crash-looping: crash_loop crashes within the window
    last_error: str | None = None
    last_crash: float | None = None  # clock() of the last crash
    started: float | None = None  # clock() of the last (re)start
    crashes: deque[float] = field(default_factory=lambda: deque(maxlen=64), repr=False)

    @property
    def healthy(self) -> bool:
        return self.state in ("running", "backoff") and not self.degraded

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "healthy": self.healthy, "degraded": self.degraded,
                "restarts": self.restarts, "last_error": self.last_error}


class Supervisor:
    def __init__(self, *, on_degraded: DegradedCallback | None = None, backoff: float = 1.0,
                 max_backoff: float = 60.0, stable_after: float = 60.0, crash_loop: int = 5,
                 window: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.on_degraded = on_degraded
        self.backoff, self.max_backoff = backoff, max_backoff
        self.stable_after, self.crash_loop, self.window = stable_after, crash_loop, window
        self.clock, self._sleep = clock, sleep
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._health: dict[str, TaskHealth] = {}
        self._closing = False

    def spawn(self, name: str, factory: TaskFactory, *, restart: bool = True,
              transient: bool = False) -> asyncio.Task[None]:
        """Run ``factory()`` as task ``name``; with ``restart`` it runs again after a crash (or an
        unexpected return). A ``transient`` task (an outbox lane) may end by returning: it is then
        forgotten; only a crash restarts it. Names are unique: spawning a running name is a
        programming error."""
        if name in self._tasks and not self._tasks[name].done():
            raise ValueError(f"task {name!r} is already supervised")
        health = self._health.setdefault(name, TaskHealth(name))
        task = asyncio.create_task(self._guard(name, factory, health, restart, transient), name=name)
        self._tasks[name] = task
        return task

    async def cancel(self, name: str, grace: float = 2.0) -> None:
        """Stop one task (a removed router on reload) and forget its health."""
        task = self._tasks.pop(name, None)
        self._health.pop(name, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=grace)

    def health(self) -> dict[str, TaskHealth]:
        """Each task's health now; a degraded task whose crashes have left the window recovers."""
        now = self.clock()
        for health in self._health.values():
            if health.degraded and sum(1 for t in health.crashes if now - t <= self.window) < self.crash_loop:
                health.degraded = False
                log.info("task_recovered", task=health.name)
        return dict(self._health)

    @property
    def healthy(self) -> bool:
        return all(h.healthy for h in self.health().values())

    def names(self) -> list[str]:
        return list(self._tasks)

    async def aclose(self, grace: float = 2.0) -> list[str]:
        """Cancel every task; returns the names of those that did not stop within ``grace``."""
        self._closing = True
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        _, stuck = await asyncio.wait(tasks, timeout=grace) if tasks else (set(), set())
        for task in stuck:
            log.error("task_did_not_stop", task=task.get_name())
        for health in self._health.values():
            health.state = "stopped"
        self._tasks.clear()
        return [t.get_name() for t in stuck]

    async def _guard(self, name: str, factory: TaskFactory, health: TaskHealth, restart: bool,
                     transient: bool = False) -> None:
        consecutive = 0
        while True:
            health.state, health.started = "running", self.clock()
            try:
                await factory()
                if transient:
                    if self._tasks.get(name) is asyncio.current_task():
                        del self._tasks[name]
                        self._health.pop(name, None)
                    return
                error = "returned"  # a long-running task that returns is as unexpected as a crash
                log.error("task_exited", task=name)
            except asyncio.CancelledError:
                health.state = "stopped"
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.error("task_crashed", task=name, error=error, restarts=health.restarts, exc_info=True)
            now = self.clock()
            if health.started is not None and now - health.started >= self.stable_after:
                consecutive = 0
            consecutive += 1
            health.last_error, health.last_crash = error, now
            health.crashes.append(now)
            recent = sum(1 for t in health.crashes if now - t <= self.window)
            if recent >= self.crash_loop and not health.degraded:
                health.degraded = True
                log.error("task_degraded", task=name, crashes=recent, window_s=self.window, error=error)
                if self.on_degraded is not None:
                    with contextlib.suppress(Exception):
                        result = self.on_degraded(name, error, recent)
                        if asyncio.iscoroutine(result):
                            await result
            if not restart or self._closing:
                health.state = "stopped"
                return
            delay = min(self.max_backoff, self.backoff * 2 ** (consecutive - 1))
            health.state = "backoff"
            await self._sleep(delay)
            health.restarts += 1
            log.info("task_restarted", task=name, restarts=health.restarts, after_s=delay)
