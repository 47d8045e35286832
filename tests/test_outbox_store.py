"""OutboxStore: the SQLite side the CLI uses directly (`pantau outbox`, `pantau outbox retry`)."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.delivery.outbox_store import OutboxStore
from monitor.events import Event, Source


def ev(n: int, type_: str = "host.down") -> Event:
    return Event(type=type_, source=Source(kind="host", name=f"h{n}"), data={"n": n})


def test_shares_the_file_with_other_tables_and_uses_wal(tmp_path):
    """The store only creates outbox_* tables, leaves other components' tables alone, and puts the
    shared file in WAL mode with synchronous=FULL on its connection."""
    path = tmp_path / "pantau.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY)")
    other.execute("INSERT INTO sessions VALUES ('x')")
    other.commit()
    with OutboxStore(path) as store:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    tables = {r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {t for t in tables if t not in ("sessions", "sqlite_sequence")} == {"outbox_messages", "outbox_meta"}
    assert other.execute("SELECT id FROM sessions").fetchall() == [("x",)]
    other.close()
    OutboxStore(path).close()  # opening again (schema exists) is fine


def test_add_is_idempotent_and_keeps_order(tmp_path):
    """Rows are unique per (event, notifier, recipient) — None is a recipient like any other — and
    come back in enqueue order with the event intact."""
    with OutboxStore(tmp_path / "o.db") as store:
        a, b = ev(1), ev(2, "host.up")
        assert store.add(a, [("tg", None), ("wa", "62811"), ("wa", "62812")], now=10.0) == 3
        assert store.add(a, [("tg", None), ("wa", "62811")], now=11.0) == 0
        assert store.add(b, [("tg", None)], now=12.0) == 1
        head = store.head("tg", None, 10)
        assert [m.event_id for m in head] == [a.id, b.id]
        assert head[1].event() == b
        assert head[0].recipient is None and head[0].created_at == 10.0 and head[0].next_attempt_at == 10.0
        assert store.lanes() == [("tg", None), ("wa", "62811"), ("wa", "62812")]


def test_status_transitions_counts_and_list_filters(tmp_path):
    """sent/retry/dead update attempts and errors; list/counts filter by status and notifier;
    an unknown status is refused; pending rows are the only ones a lane sees."""
    with OutboxStore(tmp_path / "o.db") as store:
        events = [ev(i) for i in range(4)]
        for e in events:
            store.add(e, [("tg", None), ("wa", "62811")], now=1.0)
        ids = {(m.event_id, m.notifier): m.id for m in store.list()}
        store.mark_sent([ids[(events[0].id, "tg")]], now=2.0)
        store.mark_retry([ids[(events[1].id, "tg")]], error="HTTP 500", next_attempt_at=9.0)
        store.mark_dead([ids[(events[2].id, "wa")]], error="HTTP 403", now=3.0)
        assert store.counts() == {"pending": 6, "sent": 1, "dead": 1}
        assert store.counts("tg") == {"pending": 3, "sent": 1, "dead": 0}
        assert store.counts_by_notifier() == {"tg": {"pending": 3, "sent": 1, "dead": 0},
                                              "wa": {"pending": 3, "sent": 0, "dead": 1}}
        [dead] = store.list(status="dead")
        assert (dead.notifier, dead.attempts, dead.last_error, dead.finished_at) == ("wa", 1, "HTTP 403", 3.0)
        retried = store.list(status="pending", notifier="tg")[0]
        assert (retried.event_id, retried.attempts, retried.next_attempt_at) == (events[1].id, 1, 9.0)
        assert len(store.list(limit=2)) == 2
        assert [m.event_id for m in store.head("wa", "62811", 10)] == [events[0].id, events[1].id, events[3].id]
        with pytest.raises(ValueError):
            store.list(status="bogus")
        # transitions only apply to pending rows: a late mark_sent cannot resurrect a dead one
        store.mark_sent([dead.id], now=4.0)
        assert store.counts("wa")["dead"] == 1


def test_retry_dead_per_notifier_restarts_the_age(tmp_path):
    """retry_dead requeues only the named notifier's dead letters, due now, with max_age counted
    from the requeue, keeping attempts and last error as history."""
    with OutboxStore(tmp_path / "o.db") as store:
        e = ev(1)
        store.add(e, [("tg", None), ("wa", "62811")], now=1.0)
        for m in store.list():
            store.mark_dead([m.id], error="boom", now=2.0)
        assert store.retry_dead("wa", now=100.0) == 1
        [requeued] = store.list(status="pending")
        assert (requeued.notifier, requeued.age_from, requeued.next_attempt_at) == ("wa", 100.0, 100.0)
        assert (requeued.created_at, requeued.attempts, requeued.last_error) == (1.0, 1, "boom")
        assert requeued.finished_at is None
        assert store.retry_dead(now=101.0) == 1
        assert store.counts() == {"pending": 2, "sent": 0, "dead": 0}


def test_prune_removes_only_old_sent_rows(tmp_path):
    """Pruning deletes sent rows older than the cut-off and never touches pending or dead ones."""
    with OutboxStore(tmp_path / "o.db") as store:
        for i in range(4):
            store.add(ev(i), [("tg", None)], now=1.0)
        rows = store.list()
        store.mark_sent([rows[0].id], now=10.0)
        store.mark_sent([rows[1].id], now=50.0)
        store.mark_dead([rows[2].id], error="x", now=10.0)
        assert store.prune(sent_before=20.0) == 1
        assert store.counts() == {"pending": 1, "sent": 1, "dead": 1}
