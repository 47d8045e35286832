"""``/healthz`` and ``/readyz``: is pantau alive and doing its job?

Healthy means all three of:

* every supervised task is running (or waiting out a restart backoff) and not crash-looping
  (``Supervisor.health()``: ``crash_loop`` crashes within its window mark a task degraded);
* the state database is writable: a one-row write in its own short transaction succeeds within
  ``db_timeout`` (another process holding an exclusive lock, a full or read-only disk fail it);
* the event loop is not stalled: the lag measured by :class:`LoopLag` is under ``max_loop_lag``.

``/readyz`` is the same plus "start-up finished and not stopping". Both answer JSON with every
check, 200 when all pass and 503 otherwise — never a secret (task errors are exception texts,
which pantau keeps secret-free; see monitor/errors.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

log = structlog.get_logger("pantau.web")

TaskHealthSource = Callable[[], Mapping[str, Any]]


class LoopLag:
    """Measures how late the event loop wakes a sleeper: run ``run()`` as a supervised task."""

    def __init__(self, every: float = 0.5):
        self.every = every
        self.lag = 0.0  # seconds late, the worst of the last few wake-ups
        self._recent: list[float] = []

    def observe(self, lag: float) -> None:
        self._recent = [*self._recent[-3:], max(0.0, lag)]
        self.lag = max(self._recent)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.every)
            self.observe(loop.time() - started - self.every)


def probe_database(path: str | Path, timeout: float = 1.0) -> str | None:
    """Write one row in its own transaction; None when that worked, else why not."""
    try:
        db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        db.execute("CREATE TABLE IF NOT EXISTS pantau_health (id INTEGER PRIMARY KEY, at REAL NOT NULL)")
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO pantau_health(id, at) VALUES (1, ?)", (time.time(),))
        db.execute("COMMIT")
        return None
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        db.close()


class Health:
    def __init__(self, tasks: TaskHealthSource, *, db_path: str | Path | None = None,
                 loop_lag: LoopLag | None = None, max_loop_lag: float = 2.0,
                 ready: Callable[[], bool] | None = None, db_timeout: float = 1.0):
        self.tasks, self.db_path, self.loop_lag = tasks, db_path, loop_lag
        self.max_loop_lag, self.ready, self.db_timeout = max_loop_lag, ready, db_timeout
        self._was_ok: bool | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/healthz", self._healthz), web.get("/readyz", self._readyz)]

    async def report(self) -> dict[str, Any]:
        tasks = {name: h.to_dict() for name, h in self.tasks().items()}
        checks: dict[str, dict[str, Any]] = {"tasks": {"ok": all(t["healthy"] for t in tasks.values()),
                                                       "unhealthy": sorted(n for n, t in tasks.items()
                                                                           if not t["healthy"])}}
        if self.db_path is not None:
            error = await asyncio.to_thread(probe_database, self.db_path, self.db_timeout)
            checks["state_db"] = {"ok": error is None, "error": error}
        if self.loop_lag is not None:
            lag = self.loop_lag.lag
            checks["loop_lag"] = {"ok": lag < self.max_loop_lag, "seconds": round(lag, 4),
                                  "max": self.max_loop_lag}
        ok = all(c["ok"] for c in checks.values())
        if ok != self._was_ok:
            (log.info if ok else log.error)("health.changed", ok=ok,
                                             failing=sorted(k for k, c in checks.items() if not c["ok"]))
            self._was_ok = ok
        return {"ok": ok, "checks": checks, "tasks": tasks}

    async def _healthz(self, request: web.Request) -> web.Response:
        body = await self.report()
        return web.json_response(body, status=200 if body["ok"] else 503)

    async def _readyz(self, request: web.Request) -> web.Response:
        body = await self.report()
        started = self.ready() if self.ready is not None else True
        body["checks"]["started"] = {"ok": started}
        body["ok"] = body["ok"] and started
        return web.json_response(body, status=200 if body["ok"] else 503)
