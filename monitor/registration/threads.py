"""Relay threads and page chats in the state DB, so an admin's reply to a message relayed before a
restart still reaches the person.

* ``relay_threads``: (Telegram chat, message id) → what a reply to that message is for: ``wa`` (a
  WhatsApp number), ``page`` (a chat session on the registration page) or ``reason`` (the prompt
  for a rejected request's reason; taken once).
* ``chat_sessions``: one visitor of the page chat. The browser holds a random token (cookie); only
  its SHA-256 is kept. ``phone`` is set when that browser verified a number with a one-time code.
* ``chat_messages``: what the visitor and the admins wrote, the last ``MAX_MESSAGES`` per session.

Everything older than ``keep`` seconds (last activity for sessions) is deleted by ``prune``; an
expired thread is not answered even before it is pruned.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..statedb import connect

MAX_MESSAGES = 50  # per chat session; older ones are dropped

_SCHEMA = """
CREATE TABLE IF NOT EXISTS relay_threads (
    chat TEXT NOT NULL, message_id INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (chat, message_id));
CREATE TABLE IF NOT EXISTS chat_sessions (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, ip TEXT NOT NULL, phone TEXT,
    created REAL NOT NULL, last REAL NOT NULL, messages INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS chat_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, at REAL NOT NULL, sender TEXT NOT NULL,
    text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chat_messages_session ON chat_messages (session, seq);
"""


@dataclass(frozen=True)
class ChatSession:
    id: str  # short and public: shown to the admins
    phone: str | None
    ip: str
    created: float
    last: float


@dataclass(frozen=True)
class ChatMessage:
    seq: int
    at: float
    sender: str  # visitor | admin
    text: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RelayStore:
    def __init__(self, path: str | Path, *, keep: float = 7 * 86400.0):
        self.keep = keep
        self._db = connect(path, busy_timeout=5.0)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- threads ---------------------------------------------------------------------------------

    def add_thread(self, chat: int | str, message_id: int, kind: str, target: str, *, now: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO relay_threads (chat, message_id, kind, target, created) "
                         "VALUES (?, ?, ?, ?, ?)", (str(chat), int(message_id), kind, target, now))

    def thread(self, chat: int | str, message_id: int, *, now: float) -> tuple[str, str] | None:
        """(kind, target) of a relayed message still within ``keep``; else None."""
        row = self._db.execute("SELECT kind, target FROM relay_threads WHERE chat=? AND message_id=? AND "
                               "created > ?", (str(chat), int(message_id), now - self.keep)).fetchone()
        return (row[0], row[1]) if row else None

    def take_threads_to(self, kind: str, target: str) -> list[tuple[str, int]]:
        """Every (chat, message id) of ``kind`` pointing at ``target``, deleted in the same statement."""
        rows = self._db.execute("DELETE FROM relay_threads WHERE kind=? AND target=? RETURNING chat, message_id",
                                (kind, target)).fetchall()
        return [(str(chat), int(message_id)) for chat, message_id in rows]

    def take_thread(self, chat: int | str, message_id: int, kind: str, *, now: float) -> str | None:
        """The target of a ``kind`` thread, deleted in the same statement (a second reply gets None)."""
        row = self._db.execute("DELETE FROM relay_threads WHERE chat=? AND message_id=? AND kind=? AND created > ? "
                               "RETURNING target", (str(chat), int(message_id), kind, now - self.keep)).fetchone()
        return row[0] if row else None

    # -- page chat sessions ----------------------------------------------------------------------

    def session(self, token: str | None) -> ChatSession | None:
        if not token:
            return None
        row = self._db.execute("SELECT id, phone, ip, created, last FROM chat_sessions WHERE token_hash=?",
                               (token_hash(token),)).fetchone()
        return ChatSession(*row) if row else None

    def session_by_id(self, session_id: str) -> ChatSession | None:
        row = self._db.execute("SELECT id, phone, ip, created, last FROM chat_sessions WHERE id=?",
                               (session_id,)).fetchone()
        return ChatSession(*row) if row else None

    def open_session(self, token: str, *, ip: str, now: float, phone: str | None = None) -> ChatSession:
        session_id = secrets.token_hex(4)
        while self.session_by_id(session_id) is not None:
            session_id = secrets.token_hex(4)
        self._db.execute("INSERT INTO chat_sessions (id, token_hash, ip, phone, created, last) VALUES (?, ?, ?, ?, ?, ?)",
                         (session_id, token_hash(token), ip, phone, now, now))
        return ChatSession(session_id, phone, ip, now, now)

    def set_phone(self, session_id: str, phone: str) -> None:
        self._db.execute("UPDATE chat_sessions SET phone=? WHERE id=?", (phone, session_id))

    def open_count(self, now: float) -> int:
        """Sessions where the visitor wrote and that have not expired: the bound on open threads."""
        (count,) = self._db.execute("SELECT COUNT(*) FROM chat_sessions WHERE messages > 0 AND last > ?",
                                    (now - self.keep,)).fetchone()
        return int(count)

    def add_message(self, session_id: str, sender: str, text: str, *, now: float) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            seq = self._db.execute("INSERT INTO chat_messages (session, at, sender, text) VALUES (?, ?, ?, ?)",
                                   (session_id, now, sender, text)).lastrowid
            self._db.execute("UPDATE chat_sessions SET last=?, messages=messages+1 WHERE id=?", (now, session_id))
            self._db.execute("DELETE FROM chat_messages WHERE session=? AND seq NOT IN (SELECT seq FROM chat_messages "
                             "WHERE session=? ORDER BY seq DESC LIMIT ?)", (session_id, session_id, MAX_MESSAGES))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return int(seq or 0)

    def drop_message(self, session_id: str, seq: int) -> None:
        """Take back a message that could not be relayed (it does not count as an open conversation)."""
        if self._db.execute("DELETE FROM chat_messages WHERE session=? AND seq=?", (session_id, seq)).rowcount:
            self._db.execute("UPDATE chat_sessions SET messages=MAX(messages-1, 0) WHERE id=?", (session_id,))

    def messages(self, session_id: str, *, after: int = 0) -> list[ChatMessage]:
        rows = self._db.execute("SELECT seq, at, sender, text FROM chat_messages WHERE session=? AND seq > ? "
                                "ORDER BY seq", (session_id, after)).fetchall()
        return [ChatMessage(*row) for row in rows]

    # -- retention and forgetting ----------------------------------------------------------------

    def prune(self, now: float) -> int:
        """Delete threads, sessions and their messages older than ``keep``; returns rows deleted."""
        cutoff = now - self.keep
        deleted = self._db.execute("DELETE FROM relay_threads WHERE created <= ?", (cutoff,)).rowcount
        deleted += self._db.execute("DELETE FROM chat_messages WHERE session IN (SELECT id FROM chat_sessions "
                                    "WHERE last <= ?)", (cutoff,)).rowcount
        deleted += self._db.execute("DELETE FROM chat_sessions WHERE last <= ?", (cutoff,)).rowcount
        return deleted

    def forget(self, phone: str | None) -> int:
        """Delete the threads to ``phone`` and the page chats of the browser that verified it."""
        if not phone:
            return 0
        ids = [r[0] for r in self._db.execute("SELECT id FROM chat_sessions WHERE phone=?", (phone,))]
        deleted = self._db.execute("DELETE FROM relay_threads WHERE kind='wa' AND target=?", (phone,)).rowcount
        for session_id in ids:
            deleted += self._db.execute("DELETE FROM relay_threads WHERE kind='page' AND target=?",
                                        (session_id,)).rowcount
            deleted += self._db.execute("DELETE FROM chat_messages WHERE session=?", (session_id,)).rowcount
        deleted += self._db.execute("DELETE FROM chat_sessions WHERE phone=?", (phone,)).rowcount
        return deleted
