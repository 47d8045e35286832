"""SQLite storage of the durable outbox: one row per message (event × notifier × recipient).

The database file is shared with other pantau components, so every table here is prefixed
``outbox_``. The store is synchronous and small so the CLI can inspect and requeue without an
event loop (``pantau outbox``); the async :class:`monitor.outbox.Outbox` calls it from one
dedicated thread.

Durability: WAL journal with ``synchronous=FULL``. A committed transaction survives both a
``kill -9`` and a power loss (``NORMAL`` would survive ``kill -9`` but may lose the last commits
on power loss — for an alert outbox that is a lost alert or a duplicate). The cost is one fsync per
commit; enqueue writes all rows of an event in one commit and a digest marks all its rows in one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..events import Event
from ..statedb import connect

__all__ = ["STATUSES", "Message", "OutboxStore"]

SCHEMA_VERSION = 1
STATUSES = ("pending", "sent", "dead")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- enqueue order = delivery order per lane
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    notifier        TEXT    NOT NULL,
    recipient       TEXT    NOT NULL DEFAULT '',        -- '' = the notifier's own default (None)
    payload         TEXT    NOT NULL,                   -- Event.to_json()
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL    NOT NULL,                   -- enqueue time (outbox clock, epoch s)
    age_from        REAL    NOT NULL,                   -- max_age counts from here (reset by retry_dead)
    next_attempt_at REAL    NOT NULL,
    last_error      TEXT,
    finished_at     REAL,                               -- when it became sent or dead
    UNIQUE (event_id, notifier, recipient)
);
CREATE INDEX IF NOT EXISTS outbox_messages_lane
    ON outbox_messages (status, notifier, recipient, id);
"""

_COLUMNS = ("id, event_id, event_type, notifier, recipient, payload, status, attempts, created_at, "
            "age_from, next_attempt_at, last_error, finished_at")


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row. ``recipient`` is None for a notifier without recipients."""

    id: int
    event_id: str
    event_type: str
    notifier: str
    recipient: str | None
    payload: str
    status: str
    attempts: int
    created_at: float
    age_from: float
    next_attempt_at: float
    last_error: str | None
    finished_at: float | None

    @classmethod
    def from_row(cls, row: tuple) -> Message:
        values = list(row)
        values[4] = values[4] or None
        return cls(*values)

    def event(self) -> Event:
        return Event.from_json(self.payload)


def _db_recipient(recipient: str | None) -> str:
    # NULLs are distinct in a UNIQUE constraint, so "no recipient" is stored as ''.
    return "" if recipient is None else str(recipient)


class OutboxStore:
    """The outbox tables in the SQLite file at ``path`` (created if missing)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0):
        self.path = Path(path)
        # autocommit mode: every write below runs in an explicit BEGIN IMMEDIATE ... COMMIT
        self._db = connect(self.path, busy_timeout=busy_timeout)
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR IGNORE INTO outbox_meta (key, value) VALUES ('schema_version', ?)",
                       (str(SCHEMA_VERSION),))

    @property
    def db(self) -> sqlite3.Connection:
        return self._db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> OutboxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            # a failed COMMIT (disk full, I/O error) may leave the transaction open
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    # -- writing -------------------------------------------------------------------------------

    def add(self, event: Event, targets: Iterable[tuple[str, str | None]], *, now: float) -> int:
        """Insert one pending row per (notifier, recipient) for ``event`` in one transaction.
        Rows that already exist (same event id, notifier, recipient) are left alone, whatever their
        status, so a replayed enqueue never duplicates. Returns the number of new rows."""
        return self.apply([(event, list(targets), None)], now=now)

    def apply(self, entries: Sequence[tuple[Event | None, Sequence[tuple[str, str | None]],
                                            Callable[[sqlite3.Connection], object] | None]],
              *, now: float) -> int:
        """ONE transaction for many (event, targets, state change): each state change (a host's or
        a session's, run as ``op(connection)``) commits together with its event's outbox rows, so a
        crash keeps both or neither. Returns the number of new outbox rows."""
        added = 0
        with self._tx() as db:
            for event, targets, op in entries:
                if op is not None:
                    op(db)
                if event is None or not targets:
                    continue
                payload = event.to_json()
                before = db.total_changes
                db.executemany(
                    "INSERT OR IGNORE INTO outbox_messages (event_id, event_type, notifier, recipient, "
                    "payload, created_at, age_from, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(event.id, event.type, notifier, _db_recipient(recipient), payload, now, now, now)
                     for notifier, recipient in targets])
                added += db.total_changes - before
        return added

    def mark_sent(self, ids: Iterable[int], *, now: float) -> None:
        """The peer accepted these messages (one transaction for a whole digest)."""
        ids = list(ids)
        with self._tx() as db:
            db.executemany("UPDATE outbox_messages SET status='sent', attempts=attempts+1, "
                           "finished_at=? WHERE id=? AND status='pending'", [(now, i) for i in ids])

    def mark_retry(self, ids: Iterable[int], *, error: str, next_attempt_at: float) -> None:
        ids = list(ids)
        with self._tx() as db:
            db.executemany("UPDATE outbox_messages SET attempts=attempts+1, last_error=?, "
                           "next_attempt_at=? WHERE id=? AND status='pending'",
                           [(error, next_attempt_at, i) for i in ids])

    def mark_dead(self, ids: Iterable[int], *, error: str, now: float, attempted: bool = True) -> None:
        ids = list(ids)
        bump = 1 if attempted else 0
        with self._tx() as db:
            db.executemany("UPDATE outbox_messages SET status='dead', attempts=attempts+?, "
                           "last_error=?, finished_at=? WHERE id=? AND status='pending'",
                           [(bump, error, now, i) for i in ids])

    def reopen_sent(self, event_id: str, notifier: str, recipient: str | None, *, error: str,
                    now: float, dead: bool = False) -> bool:
        """A message the peer accepted and later reported failed (a late status): pending again and
        due now, or (``dead``) a dead letter with ``error``. False when no sent row matches."""
        status, finished = ("dead", now) if dead else ("pending", None)
        with self._tx() as db:
            return db.execute(
                "UPDATE outbox_messages SET status=?, last_error=?, next_attempt_at=?, finished_at=? "
                "WHERE event_id=? AND notifier=? AND recipient=? AND status='sent'",
                (status, error, now, finished, event_id, notifier, _db_recipient(recipient))).rowcount > 0

    def retry_dead(self, notifier: str | None = None, *, now: float | None = None) -> int:
        """Requeue dead messages (all, or one notifier's): pending again, due now, and their
        ``max_age`` counts afresh from now. ``attempts`` and ``last_error`` are kept as history.
        Returns how many were requeued."""
        now = time.time() if now is None else now
        sql = ("UPDATE outbox_messages SET status='pending', age_from=?, next_attempt_at=?, "
               "finished_at=NULL WHERE status='dead'")
        params: list[object] = [now, now]
        if notifier is not None:
            sql += " AND notifier=?"
            params.append(notifier)
        with self._tx() as db:
            return db.execute(sql, params).rowcount

    def prune(self, *, sent_before: float, dead_before: float | None = None) -> int:
        """Delete sent rows finished before ``sent_before`` and dead letters that died before
        ``dead_before`` (retention: ``state.keep_sent`` / ``state.keep_dead``)."""
        with self._tx() as db:
            n = db.execute("DELETE FROM outbox_messages WHERE status='sent' AND finished_at < ?",
                           (sent_before,)).rowcount
            if dead_before is not None:
                n += db.execute("DELETE FROM outbox_messages WHERE status='dead' AND finished_at < ?",
                                (dead_before,)).rowcount
            return n

    # -- reading -------------------------------------------------------------------------------

    def lanes(self) -> list[tuple[str, str | None]]:
        """Distinct (notifier, recipient) pairs that have pending messages."""
        rows = self._db.execute("SELECT DISTINCT notifier, recipient FROM outbox_messages "
                                "WHERE status='pending' ORDER BY notifier, recipient").fetchall()
        return [(n, r or None) for n, r in rows]

    def head(self, notifier: str, recipient: str | None, limit: int) -> list[Message]:
        """The oldest pending messages of one lane, in delivery order."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM outbox_messages WHERE status='pending' AND notifier=? "
            "AND recipient=? ORDER BY id LIMIT ?",
            (notifier, _db_recipient(recipient), limit)).fetchall()
        return [Message.from_row(r) for r in rows]

    def list(self, status: str | None = None, notifier: str | None = None,
             limit: int | None = None) -> list[Message]:
        """Messages for inspection, oldest first; filter by status and/or notifier."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}, expected one of {', '.join(STATUSES)}")
        sql = f"SELECT {_COLUMNS} FROM outbox_messages"
        where, params = [], []
        if status is not None:
            where.append("status=?")
            params.append(status)
        if notifier is not None:
            where.append("notifier=?")
            params.append(notifier)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [Message.from_row(r) for r in self._db.execute(sql, params).fetchall()]

    def counts(self, notifier: str | None = None) -> dict[str, int]:
        """``{"pending": n, "sent": n, "dead": n}`` (all notifiers, or one)."""
        sql = "SELECT status, COUNT(*) FROM outbox_messages"
        params: tuple = ()
        if notifier is not None:
            sql += " WHERE notifier=?"
            params = (notifier,)
        out = dict.fromkeys(STATUSES, 0)
        out.update(dict(self._db.execute(sql + " GROUP BY status", params).fetchall()))
        return out

    def counts_by_notifier(self) -> dict[str, dict[str, int]]:
        """``{notifier: {"pending": n, "sent": n, "dead": n}}`` for the CLI summary."""
        out: dict[str, dict[str, int]] = {}
        for notifier, status, n in self._db.execute(
                "SELECT notifier, status, COUNT(*) FROM outbox_messages GROUP BY notifier, status"):
            out.setdefault(notifier, dict.fromkeys(STATUSES, 0))[status] = n
        return out
