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

    def load(self) -> dict[str, tuple[State, float, str]]:
        rows = self.db.execute("SELECT name, state, since, address FROM host_state").fetchall()
        return {name: (State(state), since, address) for name, state, since, address in rows}

    def save(self, name: str, address: str, state: State, since: float) -> None:
        self.db.execute(
            "INSERT INTO host_state(name, address, state, since) VALUES(?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET address=excluded.address, state=excluded.state, since=excluded.since",
            (name, address, state.value, since),
        )

    def close(self) -> None:
        self.db.close()
