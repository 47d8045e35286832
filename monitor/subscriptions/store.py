"""Each user's period, maximum counters and the levels already sent, in the state DB (a PPP
secret's under ``ppp:NAME``, so it never meets a hotspot user of the same name).

Tables start with ``subscription_``; ``subscription_validity`` is pantau's own record of the
validity it gave the accounts it created (used when their comment carries no date). A record is saved after its warnings reached the outbox
(at-least-once: a crash in between sends a warning again, never loses one). ``forget`` deletes
everything pantau keeps about a user (``pantau subscriber forget NAME``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..statedb import connect
from .levels import Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscription_records (
    router TEXT NOT NULL, user TEXT NOT NULL, period TEXT NOT NULL, max_uptime REAL NOT NULL,
    max_in INTEGER NOT NULL, max_out INTEGER NOT NULL, sent TEXT NOT NULL, PRIMARY KEY (router, user));
CREATE TABLE IF NOT EXISTS subscription_validity (
    router TEXT NOT NULL, user TEXT NOT NULL, item TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (router, user));
"""


class SubscriptionStore:
    def __init__(self, path: str | Path):
        self._db = connect(path, busy_timeout=5.0)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def load(self, router: str) -> dict[str, Record]:
        rows = self._db.execute("SELECT user, period, max_uptime, max_in, max_out, sent FROM "
                                "subscription_records WHERE router=?", (router,)).fetchall()
        return {user: Record(period, max_uptime, max_in, max_out, set(json.loads(sent)))
                for user, period, max_uptime, max_in, max_out, sent in rows}

    def save(self, router: str, records: dict[str, Record]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO subscription_records VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(router, user, r.period, r.max_uptime_s, r.max_in, r.max_out, json.dumps(sorted(r.sent)))
                 for user, r in records.items()])

    def remember_validity(self, router: str, user: str, item: str, expires: float) -> None:
        """pantau's own record of the validity it gave an account it created (``item``: its ``.id``)."""
        self._db.execute("INSERT OR REPLACE INTO subscription_validity VALUES (?, ?, ?, ?)",
                         (router, user, item, expires))

    def validity(self, router: str) -> dict[str, tuple[str, float]]:
        rows = self._db.execute("SELECT user, item, expires FROM subscription_validity WHERE router=?", (router,))
        return {user: (item, expires) for user, item, expires in rows}

    def forget(self, user: str, router: str | None = None) -> int:
        """Delete what pantau keeps about ``user`` — the hotspot user and the PPP secret of that name,
        whose record is ``ppp:NAME`` — on every router unless one is named."""
        names = (user, f"ppp:{user}")
        with self._db:
            self._db.execute("BEGIN")
            if router is None:
                self._db.execute("DELETE FROM subscription_validity WHERE user IN (?, ?)", names)
                cursor = self._db.execute("DELETE FROM subscription_records WHERE user IN (?, ?)", names)
            else:
                self._db.execute("DELETE FROM subscription_validity WHERE user IN (?, ?) AND router=?",
                                 (*names, router))
                cursor = self._db.execute("DELETE FROM subscription_records WHERE user IN (?, ?) AND router=?",
                                          (*names, router))
        return cursor.rowcount
