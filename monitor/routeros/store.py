"""Restart-safe RouterOS state in SQLite: the last known sessions per router and menu, and whether
each router was down.

The database file is shared with other pantau components; every table here starts with ``router_``.
WAL mode and one transaction per change make it survive kill -9: a change is either fully on disk
or not at all.

Ordering contract (at-least-once): the watcher emits an event FIRST (the engine's emit writes it to
its durable outbox) and only THEN commits the session change here. A crash between the two re-emits
that event on the next start (the diff finds the same change again); it never loses one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS router_sessions (
    router TEXT NOT NULL, menu TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (router, menu, key));
CREATE TABLE IF NOT EXISTS router_baselines (
    router TEXT NOT NULL, menu TEXT NOT NULL, synced_at REAL NOT NULL, PRIMARY KEY (router, menu));
CREATE TABLE IF NOT EXISTS router_status (
    router TEXT PRIMARY KEY, down INTEGER NOT NULL, since REAL, error TEXT);
"""


@dataclass(frozen=True)
class RouterStatus:
    down: bool
    since: float | None  # epoch seconds the outage began
    error: str | None


class RouterStore:
    """Synchronous SQLite access (each call is a short local transaction)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _tx(self):
        return _Transaction(self._db)

    def load(self, router: str, menu: str) -> dict[str, dict[str, Any]] | None:
        """Persisted sessions of a menu, or None when this router/menu was never synced (no baseline)."""
        if self._db.execute("SELECT 1 FROM router_baselines WHERE router=? AND menu=?",
                            (router, menu)).fetchone() is None:
            return None
        rows = self._db.execute("SELECT key, data FROM router_sessions WHERE router=? AND menu=?", (router, menu))
        return {key: json.loads(data) for key, data in rows}

    def replace(self, router: str, menu: str, sessions: dict[str, dict[str, Any]], *, now: float) -> None:
        """Set the whole session set of a menu at once (the baseline) and mark the menu as synced."""
        with self._tx() as db:
            db.execute("DELETE FROM router_sessions WHERE router=? AND menu=?", (router, menu))
            db.executemany("INSERT INTO router_sessions VALUES (?, ?, ?, ?)",
                           [(router, menu, k, json.dumps(v, ensure_ascii=False)) for k, v in sessions.items()])
            db.execute("INSERT OR REPLACE INTO router_baselines VALUES (?, ?, ?)", (router, menu, now))

    def put(self, router: str, menu: str, key: str, record: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO router_sessions VALUES (?, ?, ?, ?)",
                       (router, menu, key, json.dumps(record, ensure_ascii=False)))

    def put_many(self, router: str, menu: str, records: dict[str, dict[str, Any]]) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO router_sessions VALUES (?, ?, ?, ?)",
                           [(router, menu, k, json.dumps(v, ensure_ascii=False)) for k, v in records.items()])

    def delete(self, router: str, menu: str, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM router_sessions WHERE router=? AND menu=? AND key=?", (router, menu, key))

    def status(self, router: str) -> RouterStatus | None:
        row = self._db.execute("SELECT down, since, error FROM router_status WHERE router=?", (router,)).fetchone()
        return RouterStatus(bool(row[0]), row[1], row[2]) if row else None

    def set_status(self, router: str, *, down: bool, since: float | None, error: str | None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO router_status VALUES (?, ?, ?, ?)", (router, int(down), since, error))


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
