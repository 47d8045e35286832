"""Restart-safe RouterOS state in SQLite: the last known sessions per router and menu, and whether
each router was down.

The database file is shared with other pantau components; every table here starts with ``router_``.
WAL mode and one transaction per change make it survive kill -9: a change is either fully on disk
or not at all.

Under ``pantau run`` the writes go to the engine's state writer (``submit``): the watcher emits an
event and records the session change in the same synchronous step, so both commit in ONE
transaction with the event's outbox rows — a kill -9 keeps both or neither (no replayed, no lost
session event). Without a writer each change is its own short transaction here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..statedb import connect

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

    def __init__(self, path: str | Path, *, submit: Callable[..., Any] | None = None):
        self.path = str(path)
        self.submit = submit  # StateWriter.submit under `pantau run`
        self._db = connect(self.path, busy_timeout=5.0, synchronous="NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _write(self, op: Callable[[sqlite3.Connection], Any]) -> None:
        if self.submit is not None:
            self.submit(op=op)
            return
        with _Transaction(self._db) as db:
            op(db)

    def load(self, router: str, menu: str) -> dict[str, dict[str, Any]] | None:
        """Persisted sessions of a menu, or None when this router/menu was never synced (no baseline)."""
        if self._db.execute("SELECT 1 FROM router_baselines WHERE router=? AND menu=?",
                            (router, menu)).fetchone() is None:
            return None
        rows = self._db.execute("SELECT key, data FROM router_sessions WHERE router=? AND menu=?", (router, menu))
        return {key: json.loads(data) for key, data in rows}

    def replace(self, router: str, menu: str, sessions: dict[str, dict[str, Any]], *, now: float) -> None:
        """Set the whole session set of a menu at once (the baseline) and mark the menu as synced."""
        rows = [(router, menu, k, json.dumps(v, ensure_ascii=False)) for k, v in sessions.items()]

        def op(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM router_sessions WHERE router=? AND menu=?", (router, menu))
            db.executemany("INSERT INTO router_sessions VALUES (?, ?, ?, ?)", rows)
            db.execute("INSERT OR REPLACE INTO router_baselines VALUES (?, ?, ?)", (router, menu, now))
        self._write(op)

    def put(self, router: str, menu: str, key: str, record: dict[str, Any]) -> None:
        self.put_many(router, menu, {key: record})

    def put_many(self, router: str, menu: str, records: dict[str, dict[str, Any]]) -> None:
        rows = [(router, menu, k, json.dumps(v, ensure_ascii=False)) for k, v in records.items()]
        self._write(lambda db: db.executemany("INSERT OR REPLACE INTO router_sessions VALUES (?, ?, ?, ?)", rows))

    def delete(self, router: str, menu: str, key: str) -> None:
        self._write(lambda db: db.execute("DELETE FROM router_sessions WHERE router=? AND menu=? AND key=?",
                                          (router, menu, key)))

    def status(self, router: str) -> RouterStatus | None:
        row = self._db.execute("SELECT down, since, error FROM router_status WHERE router=?", (router,)).fetchone()
        return RouterStatus(bool(row[0]), row[1], row[2]) if row else None

    def set_status(self, router: str, *, down: bool, since: float | None, error: str | None) -> None:
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO router_status VALUES (?, ?, ?, ?)",
                                          (router, int(down), since, error)))


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        self.db.execute("ROLLBACK")
