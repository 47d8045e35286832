"""Per-host detector state in SQLite (``state.path``), so a restart neither repeats a DOWN nor
forgets one. Other components keep their own tables in the same file (WAL mode)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .detector import State


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the shared state file: WAL, so readers and the other components' writers coexist,
    and ``synchronous=FULL`` so a committed transition survives a crash or power loss."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=10, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


class HostStateStore:
    def __init__(self, path: str | Path):
        self.db = connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS host_state ("
            " name TEXT PRIMARY KEY, address TEXT NOT NULL, state TEXT NOT NULL, since REAL NOT NULL)"
        )
        self._pending: dict[str, tuple[str, str, str, float]] = {}

    def load(self) -> dict[str, tuple[State, float, str]]:
        rows = self.db.execute("SELECT name, state, since, address FROM host_state").fetchall()
        return {name: (State(state), since, address) for name, state, since, address in rows}

    def mark(self, name: str, address: str, state: State, since: float) -> None:
        """Buffer a state change; ``flush`` writes every buffered change in one transaction
        (10,000 hosts coming UP at start-up cost one fsync, not 10,000)."""
        self._pending[name] = (name, address, state.value, since)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> int:
        """Write the buffered changes (safe to call from a worker thread while ``mark`` runs)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        rows = list(pending.values())
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO host_state(name, address, state, since) VALUES(?,?,?,?) ON CONFLICT(name) "
                "DO UPDATE SET address=excluded.address, state=excluded.state, since=excluded.since", rows)
        return len(rows)

    def close(self) -> None:
        self.flush()
        self.db.close()
