"""The bot's durable state in the shared state DB (tables ``bot_*``), safe across kill -9.

- ``bot_offsets``: the Telegram update offset, written BEFORE an update is handled, so a crash
  can lose one command but never execute one twice.
- ``bot_pending``: confirmations waiting for Ya/Batal. ``claim`` moves a row out of ``pending`` in
  one UPDATE, so a double press, a second admin or a restarted pantau execute it at most once.
- ``bot_audit``: every command with who, channel, role, router, masked arguments and result.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..statedb import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bot_offsets (channel TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bot_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL, channel TEXT NOT NULL, chat TEXT NOT NULL,
    requester TEXT NOT NULL, command TEXT NOT NULL, router TEXT NOT NULL, args TEXT NOT NULL,
    role TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL, state TEXT NOT NULL,
    decided_by TEXT, message_id TEXT);
CREATE INDEX IF NOT EXISTS bot_pending_code ON bot_pending(code, state);
CREATE TABLE IF NOT EXISTS bot_isolir (
    router TEXT NOT NULL, name TEXT NOT NULL, previous TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (router, name));
CREATE TABLE IF NOT EXISTS bot_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, channel TEXT NOT NULL, identity TEXT NOT NULL,
    role TEXT, router TEXT, command TEXT NOT NULL, args TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);
"""


@dataclass(frozen=True)
class Pending:
    id: int
    code: str
    channel: str
    chat: str
    requester: str
    command: str
    router: str
    args: list[str]
    role: str
    created: float
    expires: float
    state: str
    message_id: str | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    channel: str
    identity: str
    role: str | None
    router: str | None
    command: str
    args: list[str]
    result: str
    detail: str | None


class BotStore:
    def __init__(self, path: str | Path):
        self._db = connect(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- offsets ---------------------------------------------------------------------------------

    def offset(self, channel: str) -> int | None:
        row = self._db.execute("SELECT value FROM bot_offsets WHERE channel=?", (channel,)).fetchone()
        return row[0] if row else None

    def set_offset(self, channel: str, value: int) -> None:
        self._db.execute("INSERT INTO bot_offsets VALUES(?, ?) ON CONFLICT(channel) DO UPDATE SET "
                         "value=excluded.value", (channel, value))

    # -- confirmations ---------------------------------------------------------------------------

    def add_pending(self, *, channel: str, chat: str, requester: str, command: str, router: str,
                    args: list[str], role: str, now: float, timeout: float) -> Pending:
        """A new pending confirmation with a 4-digit code unique among the pending ones."""
        while True:
            code = f"{secrets.randbelow(9000) + 1000}"
            if self._db.execute("SELECT 1 FROM bot_pending WHERE code=? AND state='pending' AND expires>?",
                                (code, now)).fetchone() is None:
                break
        cur = self._db.execute(
            "INSERT INTO bot_pending(code, channel, chat, requester, command, router, args, role, created, "
            "expires, state) VALUES(?,?,?,?,?,?,?,?,?,?, 'pending')",
            (code, channel, chat, requester, command, router, json.dumps(args), role, now, now + timeout))
        return self.pending(int(cur.lastrowid))  # type: ignore[arg-type,return-value]

    def pending(self, pending_id: int) -> Pending | None:
        row = self._db.execute("SELECT id, code, channel, chat, requester, command, router, args, role, "
                               "created, expires, state, message_id FROM bot_pending WHERE id=?",
                               (pending_id,)).fetchone()
        return _pending(row) if row else None

    def find_code(self, code: str, chat: str) -> Pending | None:
        """The newest confirmation with this code asked in this chat (any state)."""
        row = self._db.execute("SELECT id, code, channel, chat, requester, command, router, args, role, "
                               "created, expires, state, message_id FROM bot_pending WHERE code=? AND chat=? "
                               "ORDER BY id DESC LIMIT 1", (code, chat)).fetchone()
        return _pending(row) if row else None

    def set_message(self, pending_id: int, message_id: str) -> None:
        self._db.execute("UPDATE bot_pending SET message_id=? WHERE id=?", (message_id, pending_id))

    def claim(self, pending_id: int, *, decision: str, by: str, now: float) -> str:
        """Move a pending row to ``decision`` (``confirmed``/``cancelled``) exactly once.

        Returns ``ok`` for the one caller that won, else the row's state as it is (``confirmed``,
        ``cancelled``, ``expired``) or ``unknown``."""
        cur = self._db.execute("UPDATE bot_pending SET state=?, decided_by=? WHERE id=? AND state='pending' "
                               "AND expires>?", (decision, by, pending_id, now))
        if cur.rowcount == 1:
            return "ok"
        self._db.execute("UPDATE bot_pending SET state='expired' WHERE id=? AND state='pending'", (pending_id,))
        row = self._db.execute("SELECT state FROM bot_pending WHERE id=?", (pending_id,)).fetchone()
        return row[0] if row else "unknown"

    # -- isolir: what renew must restore ----------------------------------------------------------

    def isolated(self, router: str, name: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT previous FROM bot_isolir WHERE router=? AND name=?", (router, name)).fetchone()
        return json.loads(row[0]) if row else None

    def save_isolated(self, router: str, name: str, previous: dict[str, Any], now: float) -> None:
        """Written BEFORE the router is changed: a crash in between still knows what to restore."""
        self._db.execute("INSERT INTO bot_isolir VALUES(?,?,?,?)", (router, name, json.dumps(previous), now))

    def forget_isolated(self, router: str, name: str) -> None:
        self._db.execute("DELETE FROM bot_isolir WHERE router=? AND name=?", (router, name))

    # -- audit -----------------------------------------------------------------------------------

    def audit(self, *, at: float, channel: str, identity: str, role: str | None, router: str | None,
              command: str, args: list[str], result: str, detail: str | None = None) -> int:
        cur = self._db.execute(
            "INSERT INTO bot_audit(at, channel, identity, role, router, command, args, result, detail) "
            "VALUES(?,?,?,?,?,?,?,?,?)",
            (at, channel, identity, role, router, command, json.dumps(args), result, detail))
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def audit_rows(self, since: float | None = None, limit: int = 1000) -> list[AuditRow]:
        rows = self._db.execute("SELECT id, at, channel, identity, role, router, command, args, result, detail "
                                "FROM bot_audit WHERE at>=? ORDER BY id DESC LIMIT ?",
                                (since or 0.0, limit)).fetchall()
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9])
                for r in reversed(rows)]


def _pending(row: Any) -> Pending:
    return Pending(id=row[0], code=row[1], channel=row[2], chat=row[3], requester=row[4], command=row[5],
                   router=row[6], args=json.loads(row[7]), role=row[8], created=row[9], expires=row[10],
                   state=row[11], message_id=row[12])
