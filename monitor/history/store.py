"""The history in the state database: every event (sent or suppressed, with the reason), samples
of the session counts, and small bookkeeping (when each scheduled report last ran).

Tables are prefixed ``history_``. Writes are buffered (``record``) and committed by ``flush`` in
one transaction — the engine flushes once a second from a worker thread, so a burst of 10,000
events costs one commit, not 10,000; a crash loses at most the last second of history, never a
notification (the outbox is separate and durable per event).

Read API (for the CLI, reports, and the status page):

* ``recent(limit, *, source=None, kind=None)`` → newest :class:`HistoryEntry` first
* ``transitions(kind, name, since, until)`` → (state before ``since``, [(at, state), ...])
* ``strip(kind, name, since, until, buckets)`` → one :class:`~monitor.history.uptime.Uptime` per bucket
* ``last_transitions()`` → per source the last transition event and the last one that was sent
* ``sessions_peak(since, until)`` → {router: peak sessions (hotspot + ppp)}
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..events import Event
from ..statedb import connect
from .uptime import Uptime, measure, segments, uptime

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    at         REAL NOT NULL,            -- the event's detection time, epoch seconds
    type       TEXT NOT NULL,
    kind       TEXT NOT NULL,            -- source kind: host | router | pantau
    source     TEXT NOT NULL,
    state      TEXT,                     -- 'up' | 'down' for transitions, NULL otherwise
    suppressed TEXT,                     -- NULL = sent (or no route); else why it was not sent
    notified   TEXT NOT NULL DEFAULT '', -- notifier names, comma separated
    payload    TEXT NOT NULL             -- Event.to_json()
);
CREATE INDEX IF NOT EXISTS history_events_source ON history_events (kind, source, at);
CREATE INDEX IF NOT EXISTS history_events_at ON history_events (at);
CREATE TABLE IF NOT EXISTS history_sessions (
    router TEXT NOT NULL,
    at     REAL NOT NULL,
    count  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS history_sessions_at ON history_sessions (at);
CREATE TABLE IF NOT EXISTS history_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_INSERT = ("INSERT INTO history_events (event_id, at, type, kind, source, state, suppressed, notified, payload) "
           "VALUES (?,?,?,?,?,?,?,?,?)")
_SETTLE = "UPDATE history_events SET suppressed=?, notified=? WHERE event_id=?"
_STATES = {"host.down": "down", "host.up": "up", "router.down": "down", "router.up": "up"}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event: Event
    suppressed: str | None
    notified: tuple[str, ...]

    @property
    def sent(self) -> bool:
        return self.suppressed is None


class HistoryStore:
    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0):
        self.db = connect(path, busy_timeout=busy_timeout)
        self._lock = threading.Lock()  # one connection, used from the loop and a worker thread
        with self._lock:
            self.db.executescript(_SCHEMA)
        self._pending: list[tuple] = []
        self._buffer = threading.Lock()

    def close(self) -> None:
        self.flush()
        with self._lock:
            self.db.close()

    # -- writing -------------------------------------------------------------------------------

    def record(self, event: Event, *, suppressed: str | None = None, notified: Sequence[str] = ()) -> None:
        """Buffer one event (``flush`` writes it)."""
        row = (event.id, event.at.timestamp(), event.type, event.source.kind, event.source.name,
                              _STATES.get(event.type), suppressed, ",".join(notified), event.to_json())
        with self._buffer:
            self._pending.append((_INSERT, row))

    def settle(self, event_id: str, *, suppressed: str | None, notified: Sequence[str] = ()) -> None:
        """Buffer the final decision for an event recorded earlier (a DOWN held for its parent)."""
        with self._buffer:
            self._pending.append((_SETTLE, (suppressed, ",".join(notified), event_id)))

    def flush(self) -> int:
        with self._buffer:
            rows, self._pending = self._pending, []
        if not rows:
            return 0
        try:
            with self._lock:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in rows:
                        self.db.execute(sql, params)
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
                self.db.execute("COMMIT")
        except BaseException:  # a locked or full database: keep the rows, in order, for the next flush
            with self._buffer:
                self._pending[:0] = rows
            raise
        return len(rows)

    def sample_sessions(self, at: float, counts: dict[str, int]) -> None:
        with self._lock:
            self.db.executemany("INSERT INTO history_sessions (router, at, count) VALUES (?,?,?)",
                                [(router, at, n) for router, n in counts.items()])

    def prune(self, before: float) -> int:
        """Delete events and samples older than ``before``; returns how many events went."""
        with self._lock:
            n = self.db.execute("DELETE FROM history_events WHERE at < ?", (before,)).rowcount
            self.db.execute("DELETE FROM history_sessions WHERE at < ?", (before,))
        return n

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM history_meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self.db.execute("INSERT INTO history_meta (key, value) VALUES (?,?) ON CONFLICT(key) "
                            "DO UPDATE SET value=excluded.value", (key, value))

    # -- reading -------------------------------------------------------------------------------

    def recent(self, limit: int = 50, *, source: str | None = None, kind: str | None = None,
               since: float | None = None) -> list[HistoryEntry]:
        """The newest events first (sent and suppressed), optionally of one source."""
        sql, params = "SELECT payload, suppressed, notified FROM history_events", []
        where = []
        for column, value in (("source", source), ("kind", kind)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, id DESC LIMIT ?"
        params.append(int(limit))
        with self._lock:
            rows = self.db.execute(sql, params).fetchall()
        return [HistoryEntry(Event.from_json(p), s, tuple(n.split(",")) if n else ()) for p, s, n in rows]

    def transitions(self, kind: str, name: str, since: float, until: float) -> tuple[str | None, list[tuple[float, str]]]:
        """The state before ``since`` (None if unknown) and the transitions in [since, until)."""
        with self._lock:
            before = self.db.execute(
                "SELECT state FROM history_events WHERE kind=? AND source=? AND state IS NOT NULL AND at < ? "
                "ORDER BY at DESC, id DESC LIMIT 1", (kind, name, since)).fetchone()
            rows = self.db.execute(
                "SELECT at, state FROM history_events WHERE kind=? AND source=? AND state IS NOT NULL "
                "AND at >= ? AND at < ? ORDER BY at, id", (kind, name, since, until)).fetchall()
        return (before[0] if before else None), [(at, state) for at, state in rows]

    def uptime(self, kind: str, name: str, since: float, until: float,
               excluded: Iterable[tuple[float, float]] = ()) -> Uptime:
        before, moves = self.transitions(kind, name, since, until)
        return uptime(before, moves, since, until, excluded)

    def strip(self, kind: str, name: str, since: float, until: float, buckets: int = 48,
              excluded: Iterable[tuple[float, float]] = ()) -> list[Uptime]:
        """``buckets`` equal slices of [since, until), each with its up/down/excluded seconds —
        the 24 h state strip of the status page (``Uptime.state``: up | down | partial | excluded)."""
        before, moves = self.transitions(kind, name, since, until)
        segs = segments(before, moves, since, until)
        excluded = list(excluded)
        step = (until - since) / buckets
        edges = [since + i * step for i in range(buckets)] + [until]
        return [measure(segs, a, b, excluded) for a, b in zip(edges, edges[1:], strict=False)]

    def last_transitions(self) -> tuple[dict[tuple[str, str], Event], dict[tuple[str, str], str]]:
        """Per source: the last transition event (sent or not), and the state last announced."""
        last: dict[tuple[str, str], Event] = {}
        announced: dict[tuple[str, str], str] = {}
        with self._lock:
            rows = self.db.execute(
                "SELECT kind, source, payload FROM history_events WHERE id IN (SELECT MAX(id) FROM history_events "
                "WHERE state IS NOT NULL GROUP BY kind, source)").fetchall()
            told = self.db.execute(
                "SELECT kind, source, state FROM history_events WHERE id IN (SELECT MAX(id) FROM history_events "
                "WHERE state IS NOT NULL AND suppressed IS NULL GROUP BY kind, source)").fetchall()
        for kind, source, payload in rows:
            last[(kind, source)] = Event.from_json(payload)
        for kind, source, state in told:
            announced[(kind, source)] = state
        return last, announced

    def sources(self) -> list[tuple[str, str]]:
        with self._lock:
            return [tuple(r) for r in self.db.execute(
                "SELECT DISTINCT kind, source FROM history_events WHERE state IS NOT NULL ORDER BY kind, source")]

    def sessions_peak(self, since: float, until: float) -> dict[str, int]:
        with self._lock:
            rows = self.db.execute("SELECT router, MAX(count) FROM history_sessions WHERE at >= ? AND at < ? "
                                   "GROUP BY router ORDER BY router", (since, until)).fetchall()
        return dict(rows)

    def count(self) -> int:
        with self._lock:
            return self.db.execute("SELECT COUNT(*) FROM history_events").fetchone()[0]
