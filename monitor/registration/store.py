"""Registration requests in the state DB (table ``registration_requests``).

A request is ``unverified`` until its one-time code is entered, then ``verified`` (waiting for an
admin). Only a hash of the code is kept. ``pending()`` counts both, for the bound on open requests;
unverified requests whose code expired stop counting and are deleted by ``prune``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from ..statedb import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registration_requests (
    id TEXT PRIMARY KEY, created REAL NOT NULL, name TEXT NOT NULL, phone TEXT NOT NULL,
    package TEXT NOT NULL, message TEXT NOT NULL, ip TEXT NOT NULL, status TEXT NOT NULL,
    code_hash TEXT NOT NULL, code_expires REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    verified REAL, decided_by TEXT, username TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS registration_requests_status ON registration_requests (status);
"""


@dataclass(frozen=True)
class Request:
    id: str
    created: float
    name: str
    phone: str
    package: str
    message: str
    ip: str
    status: str  # unverified | verified | approving | approved | rejected | failed
    code_expires: float
    attempts: int


def code_hash(request_id: str, code: str) -> str:
    return hashlib.sha256(f"{request_id}:{code}".encode()).hexdigest()


class RegistrationStore:
    def __init__(self, path: str | Path):
        self._db = connect(path, busy_timeout=5.0)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, request_id: str, *, now: float, name: str, phone: str, package: str, message: str,
            ip: str, code: str, ttl: float) -> None:
        self._db.execute("INSERT INTO registration_requests (id, created, name, phone, package, message, ip, "
                         "status, code_hash, code_expires) VALUES (?, ?, ?, ?, ?, ?, ?, 'unverified', ?, ?)",
                         (request_id, now, name, phone, package, message, ip, code_hash(request_id, code),
                          now + ttl))

    def get(self, request_id: str) -> Request | None:
        row = self._db.execute("SELECT id, created, name, phone, package, message, ip, status, code_expires, "
                               "attempts FROM registration_requests WHERE id=?", (request_id,)).fetchone()
        return Request(*row) if row else None

    def check_code(self, request_id: str, code: str, *, now: float, max_attempts: int) -> str:
        """``ok`` (now verified), ``wrong``, ``expired`` (dropped) or ``unknown``."""
        row = self._db.execute("SELECT status, code_hash, code_expires, attempts FROM registration_requests "
                               "WHERE id=?", (request_id,)).fetchone()
        if row is None or row[0] != "unverified":
            return "unknown"
        status, stored, expires, attempts = row
        if expires <= now or attempts >= max_attempts:
            self._db.execute("DELETE FROM registration_requests WHERE id=?", (request_id,))
            return "expired"
        if hmac.compare_digest(stored, code_hash(request_id, code.strip())):
            self._db.execute("UPDATE registration_requests SET status='verified', verified=?, code_hash='' "
                             "WHERE id=?", (now, request_id))
            return "ok"
        self._db.execute("UPDATE registration_requests SET attempts=attempts+1 WHERE id=?", (request_id,))
        if attempts + 1 >= max_attempts:
            self._db.execute("DELETE FROM registration_requests WHERE id=?", (request_id,))
            return "expired"
        return "wrong"

    def claim(self, request_id: str, status: str, *, by: str) -> bool:
        """Move a verified request to ``status`` exactly once (two admins, a double press, a replayed
        callback: only one caller gets True)."""
        cursor = self._db.execute("UPDATE registration_requests SET status=?, decided_by=? WHERE id=? AND "
                                  "status='verified'", (status, by, request_id))
        return cursor.rowcount == 1

    def finish(self, request_id: str, status: str, *, username: str | None = None,
               detail: str | None = None, package: str | None = None) -> None:
        """The outcome; ``package`` when the admin approved another package than the one asked for."""
        self._db.execute("UPDATE registration_requests SET status=?, username=?, detail=?, "
                         "package=COALESCE(?, package) WHERE id=?", (status, username, detail, package, request_id))

    def outcome(self, request_id: str) -> tuple[str, str | None, str | None] | None:
        """(status, decided by, user name) of a request: who was first, for the ones who come late."""
        row = self._db.execute("SELECT status, decided_by, username FROM registration_requests WHERE id=?",
                               (request_id,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def interrupted(self) -> list[str]:
        """Requests a crash left between an admin's Setujui and its outcome → ``failed`` (not retried:
        the user may already exist on the router). Returns their ids."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM registration_requests WHERE status='approving'")]
        self._db.execute("UPDATE registration_requests SET status='failed', detail='interrupted (pantau stopped "
                         "while creating the account)' WHERE status='approving'")
        return ids

    def pending(self, now: float) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM registration_requests WHERE status='verified' "
                                    "OR (status='unverified' AND code_expires > ?)", (now,)).fetchone()
        return int(count)

    def prune(self, now: float) -> int:
        cursor = self._db.execute("DELETE FROM registration_requests WHERE status='unverified' AND "
                                  "code_expires <= ?", (now,))
        return cursor.rowcount

    def phones_of(self, username: str) -> list[str]:
        """The numbers whose requests became the hotspot user ``username``."""
        return [r[0] for r in self._db.execute("SELECT DISTINCT phone FROM registration_requests WHERE username=?",
                                               (username,))]

    def forget(self, name: str, phone: str | None) -> int:
        """Delete the requests that became the hotspot user ``name`` or came from ``phone``."""
        cursor = self._db.execute("DELETE FROM registration_requests WHERE username=? OR phone=?",
                                  (name, phone or "\0"))
        return cursor.rowcount

