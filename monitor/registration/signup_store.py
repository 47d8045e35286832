"""Durable state of registration through the bot, in the state DB (0600, see monitor/statedb.py).

- ``registration_signup``: one /daftar conversation per Telegram user (the step it is at, the
  package and name given so far, the request waiting for its WhatsApp code). Kept here, not in
  memory, so a restart in the middle of a conversation continues where it was.
- ``registration_origin``: where a request came from (``page`` or ``telegram`` and the Telegram
  chat the answer goes to) and its short decision code for WhatsApp admins (``SETUJUI K7F2``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from ..statedb import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registration_signup (
    user INTEGER PRIMARY KEY, chat TEXT NOT NULL, step TEXT NOT NULL, package TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '', request_id TEXT NOT NULL DEFAULT '', updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS registration_origin (
    request_id TEXT PRIMARY KEY, channel TEXT NOT NULL, chat TEXT NOT NULL DEFAULT '', code TEXT);
CREATE INDEX IF NOT EXISTS registration_origin_code ON registration_origin (code);
CREATE INDEX IF NOT EXISTS registration_origin_chat ON registration_origin (chat);
"""
OPEN = ("unverified", "verified", "approving")
# no 0/O, 1/I/L: a code read aloud or typed on a phone keyboard is not mistaken
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Conversation:
    user: int
    chat: str
    step: str  # package | name | phone | code
    package: str
    name: str
    request_id: str
    updated: float


@dataclass(frozen=True)
class Origin:
    request_id: str
    channel: str  # page | telegram
    chat: str  # the Telegram chat the answer goes to ('' for the page)
    code: str | None


class SignupStore:
    def __init__(self, path: str | Path):
        self._db = connect(path, busy_timeout=5.0)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- conversations -----------------------------------------------------------------------------

    def conversation(self, user: int, *, now: float, ttl: float) -> Conversation | None:
        """The user's conversation, or None (an idle one older than ``ttl`` is dropped)."""
        row = self._db.execute("SELECT user, chat, step, package, name, request_id, updated FROM "
                               "registration_signup WHERE user=?", (user,)).fetchone()
        if row is None:
            return None
        if row[6] <= now - ttl:
            self.end(user)
            return None
        return Conversation(*row)

    def save(self, user: int, chat: str, step: str, *, now: float, package: str = "", name: str = "",
             request_id: str = "") -> None:
        self._db.execute("INSERT INTO registration_signup (user, chat, step, package, name, request_id, updated) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user) DO UPDATE SET chat=excluded.chat, "
                         "step=excluded.step, package=excluded.package, name=excluded.name, "
                         "request_id=excluded.request_id, updated=excluded.updated",
                         (user, chat, step, package, name, request_id, now))

    def end(self, user: int) -> None:
        self._db.execute("DELETE FROM registration_signup WHERE user=?", (user,))

    def conversations(self, now: float, ttl: float) -> int:
        """Open conversations (idle ones older than ``ttl`` are deleted first)."""
        self._db.execute("DELETE FROM registration_signup WHERE updated <= ?", (now - ttl,))
        (count,) = self._db.execute("SELECT COUNT(*) FROM registration_signup").fetchone()
        return int(count)

    # -- origins and decision codes ----------------------------------------------------------------

    def set_origin(self, request_id: str, channel: str, chat: str = "") -> None:
        self._db.execute("INSERT INTO registration_origin (request_id, channel, chat) VALUES (?, ?, ?) "
                         "ON CONFLICT(request_id) DO UPDATE SET channel=excluded.channel, chat=excluded.chat",
                         (request_id, channel, chat))

    def origin(self, request_id: str) -> Origin | None:
        row = self._db.execute("SELECT request_id, channel, chat, code FROM registration_origin WHERE "
                               "request_id=?", (request_id,)).fetchone()
        return Origin(*row) if row else None

    def open_request(self, chat: str) -> str | None:
        """The Telegram chat's request that is not decided yet (one at a time per user)."""
        row = self._db.execute("SELECT o.request_id FROM registration_origin o JOIN registration_requests r ON "
                               "r.id=o.request_id WHERE o.channel='telegram' AND o.chat=? AND r.status IN "
                               "(?, ?, ?) LIMIT 1", (chat, *OPEN)).fetchone()
        return row[0] if row else None

    def assign_code(self, request_id: str) -> str:
        """A 4-character code for the request, unique among requests still waiting for a decision
        (a request from the page gets its origin row here)."""
        self._db.execute("INSERT OR IGNORE INTO registration_origin (request_id, channel) VALUES (?, 'page')",
                         (request_id,))
        current = self._db.execute("SELECT code FROM registration_origin WHERE request_id=?",
                                   (request_id,)).fetchone()
        if current and current[0]:
            return str(current[0])
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
            taken = self._db.execute("SELECT 1 FROM registration_origin o JOIN registration_requests r ON "
                                     "r.id=o.request_id WHERE o.code=? AND r.status IN (?, ?, ?)",
                                     (code, *OPEN)).fetchone()
            if taken is None:
                break
        self._db.execute("UPDATE registration_origin SET code=? WHERE request_id=?", (code, request_id))
        return code

    def by_code(self, code: str) -> str | None:
        """The newest request with this decision code (any state: a late answer is told it is decided)."""
        row = self._db.execute("SELECT o.request_id FROM registration_origin o JOIN registration_requests r ON "
                               "r.id=o.request_id WHERE o.code=? ORDER BY r.created DESC LIMIT 1",
                               (code.upper(),)).fetchone()
        return row[0] if row else None

    def prune_orphans(self) -> int:
        """Delete the origins of requests that are gone (``pantau subscriber forget``)."""
        cursor = self._db.execute("DELETE FROM registration_origin WHERE request_id NOT IN "
                                  "(SELECT id FROM registration_requests)")
        return cursor.rowcount
