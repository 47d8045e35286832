"""Per-host detector state in SQLite (``state.path``), so a restart neither repeats a DOWN nor
forgets one. Other components keep their own tables in the same file (WAL mode).

Under ``pantau run`` a state change is not written here directly: ``mark`` hands it to the engine's
state writer together with the event it announces (one transaction, see monitor/state_writer.py).
Without a writer (tests, tools) changes are buffered and ``flush`` writes them in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..statedb import connect
from .detector import State

_UPSERT = ("INSERT INTO host_state(name, address, state, since) VALUES(?,?,?,?) ON CONFLICT(name) "
           "DO UPDATE SET address=excluded.address, state=excluded.state, since=excluded.since")

Submit = Callable[..., Any]  # StateWriter.submit(event=None, notifiers=(), op=...)


class HostStateStore:
    def __init__(self, path: str | Path, *, submit: Submit | None = None):
        self.db = connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS host_state ("
            " name TEXT PRIMARY KEY, address TEXT NOT NULL, state TEXT NOT NULL, since REAL NOT NULL)"
        )
        self.submit = submit
        self._pending: dict[str, tuple[str, str, str, float]] = {}

    def load(self) -> dict[str, tuple[State, float, str]]:
        rows = self.db.execute("SELECT name, state, since, address FROM host_state").fetchall()
        return {name: (State(state), since, address) for name, state, since, address in rows}

    def mark(self, name: str, address: str, state: State, since: float) -> None:
        """Record a state change: to the state writer (committed with the event submitted right
        after it), or into the buffer that ``flush`` writes (10,000 hosts coming UP at start-up
        cost one fsync, not 10,000)."""
        row = (name, address, state.value, since)
        if self.submit is not None:
            def op(db: sqlite3.Connection) -> None:
                db.execute(_UPSERT, row)
            self.submit(op=op)
        else:
            self._pending[name] = row

    def flush(self) -> int:
        """Write the buffered changes (safe to call from a worker thread while ``mark`` runs)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        rows = list(pending.values())
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(_UPSERT, rows)
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        return len(rows)

    def close(self) -> None:
        self.flush()
        self.db.close()
