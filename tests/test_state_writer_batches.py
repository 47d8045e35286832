"""Bounded state-writer batches (issue 13 item 4): a burst is committed in several short
transactions, a batch is only ever cut between two synchronous steps, so an event and the state
change submitted with it commit together even when the process dies between two batches; and a
source can wait for room while the writer has a backlog (except during a database outage)."""

from __future__ import annotations

import asyncio
import sqlite3

from monitor.delivery.outbox_store import OutboxStore
from monitor.events import Event, Source
from monitor.state_writer import StateWriter


class Died(BaseException):
    """The process dies here: nothing after it is committed (kill -9 between two transactions)."""


def event(n: int) -> Event:
    return Event("hotspot.logout", Source("router", "bulk", "127.0.0.9"), {"user": f"u{n}"})


def mark(n: int):
    def op(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS gone (user TEXT PRIMARY KEY)")
        db.execute("INSERT INTO gone VALUES (?)", (f"u{n}",))
    return op


async def test_a_burst_commits_in_bounded_batches_cut_only_between_steps_and_survives_dying_between_them(tmp_path):
    db = tmp_path / "s.db"
    store = OutboxStore(db)
    sizes: list[int] = []

    async def commit(batch) -> int:
        if len(sizes) == 3:
            raise Died  # after three committed transactions
        sizes.append(len(batch))
        return store.apply([(e.event, [("hook", None)] if e.event else [], e.op) for e in batch], now=1.0)

    writer = StateWriter(commit, batch=5)
    n = 0
    for size in (1, 3, 1, 2, 1, 1, 4, 1, 2):  # pairs per synchronous step (one step per loop turn)
        for _ in range(size):
            writer.submit(event(n), ["hook"])  # the event and its state change: one step
            writer.submit(op=mark(n))
            n += 1
        await asyncio.sleep(0)
    try:
        await writer.run()
    except Died:
        pass
    store.close()
    # steps of 2, 6, 2, 4, 2, 2, 8, 2, 4 entries; cut after >= 5 entries, at the end of a step
    assert sizes == [8, 6, 12]  # the 8-entry step is never split
    conn = sqlite3.connect(db)
    sent = {row[0] for row in conn.execute("SELECT json_extract(payload, '$.data.user') FROM outbox_messages")}
    gone = {row[0] for row in conn.execute("SELECT user FROM gone")}
    assert sent == gone == {f"u{i}" for i in range(13)}  # every pair whole, nothing of the rest
    assert len(writer) == 2 * (n - 13)  # the uncommitted rest is still queued, in order


async def test_a_source_waits_for_room_while_the_writer_has_a_backlog():
    gate = asyncio.Event()
    committed: list[int] = []

    async def commit(batch) -> None:
        await gate.wait()
        committed.append(len(batch))

    writer = StateWriter(commit, batch=2)
    for i in range(5):
        writer.submit(event(i), ["hook"])
        await asyncio.sleep(0)
    task = asyncio.create_task(writer.run())
    waiting = asyncio.create_task(writer.room())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()  # 5 queued > one batch of 2
    gate.set()
    await asyncio.wait_for(waiting, 2)
    assert len(writer) <= 2 and committed[0] == 2
    await writer.flush(2)
    assert committed == [2, 2, 1]
    task.cancel()


async def test_nobody_waits_for_room_during_a_database_outage():
    async def commit(batch) -> None:
        raise sqlite3.OperationalError("database is locked")

    async def sleep(seconds: float) -> None:
        await asyncio.Event().wait()  # the retry never comes during this test

    writer = StateWriter(commit, batch=1, sleep=sleep)
    for i in range(4):
        writer.submit(event(i), ["hook"])
        await asyncio.sleep(0)
    task = asyncio.create_task(writer.run())
    await asyncio.wait_for(writer.room(), 2)  # the outage began: the backlog stays, the source goes on
    assert writer.failing_since is not None and len(writer) == 4
    task.cancel()
