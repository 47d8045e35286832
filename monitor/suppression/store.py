"""Maintenance windows added at run time (CLI now, the bot later), in the state database so they
survive restarts. Synchronous and small: ``pantau maintenance`` uses it without an event loop and
a running pantau re-reads it every few seconds. Ending a window sets its end to now (the row is
kept: uptime reports exclude the maintenance time that really happened)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..statedb import connect
from .windows import Selector, Window, parse_selector

_SCHEMA = """
CREATE TABLE IF NOT EXISTS maintenance_windows (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    targets    TEXT NOT NULL,   -- JSON list of selectors: ["host:olt-1", "label:site=utara"]
    start      REAL NOT NULL,
    "end"      REAL NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL DEFAULT 'cli',
    ended_at   REAL             -- set when ended early
);
"""


@dataclass(frozen=True, slots=True)
class StoredWindow:
    id: int
    targets: tuple[str, ...]
    start: float
    end: float
    reason: str
    created_at: float
    created_by: str
    ended_at: float | None

    def window(self) -> Window:
        return Window(str(self.id), tuple(parse_selector(t) for t in self.targets), self.reason,
                      start=self.start, end=self.end)


class MaintenanceStore:
    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0):
        self.db = connect(path, busy_timeout=busy_timeout)
        self._lock = threading.Lock()
        with self._lock:
            self.db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> MaintenanceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, targets: list[str] | tuple[str, ...], duration: float, *, reason: str = "",
            start: float | None = None, by: str = "cli", now: float | None = None) -> StoredWindow:
        """A window over ``targets`` (selectors, checked) from ``start`` (default now) for ``duration``."""
        selectors: list[Selector] = [parse_selector(t) for t in targets]
        if not selectors:
            raise ValueError("a maintenance window needs at least one target")
        if duration <= 0:
            raise ValueError("the duration must be greater than 0")
        now = time.time() if now is None else now
        begin = now if start is None else start
        texts = [str(s) for s in selectors]
        with self._lock:
            cur = self.db.execute(
                'INSERT INTO maintenance_windows (targets, start, "end", reason, created_at, created_by) '
                "VALUES (?,?,?,?,?,?)", (json.dumps(texts), begin, begin + duration, reason, now, by))
            row_id = cur.lastrowid
        return self.get(int(row_id))

    def get(self, window_id: int) -> StoredWindow:
        with self._lock:
            row = self.db.execute('SELECT id, targets, start, "end", reason, created_at, created_by, ended_at '
                                  "FROM maintenance_windows WHERE id=?", (window_id,)).fetchone()
        if row is None:
            raise KeyError(window_id)
        return _stored(row)

    def end(self, window_id: int, *, now: float | None = None) -> StoredWindow:
        """End a window now (no-op for one already over). Raises KeyError for an unknown id."""
        now = time.time() if now is None else now
        current = self.get(window_id)
        if current.end > now:
            with self._lock:
                self.db.execute('UPDATE maintenance_windows SET "end"=MAX(start, ?), ended_at=? WHERE id=?',
                                (now, now, window_id))
        return self.get(window_id)

    def list(self, *, since: float | None = None) -> list[StoredWindow]:
        """Every window, or those still running or ending after ``since``; by start."""
        sql = 'SELECT id, targets, start, "end", reason, created_at, created_by, ended_at FROM maintenance_windows'
        params: tuple = ()
        if since is not None:
            sql += ' WHERE "end" > ?'
            params = (since,)
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY start, id", params).fetchall()
        return [_stored(r) for r in rows]

    def prune(self, before: float) -> int:
        with self._lock:
            return self.db.execute('DELETE FROM maintenance_windows WHERE "end" < ?', (before,)).rowcount


def _stored(row: tuple) -> StoredWindow:
    return StoredWindow(row[0], tuple(json.loads(row[1])), row[2], row[3], row[4], row[5], row[6], row[7])
