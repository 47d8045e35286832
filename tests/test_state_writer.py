"""The state writer and its supervision: a locked DB is waited out in order with backoff, the
in-memory bound is counted, a state change and its outbox rows commit together or not at all,
a crashing outbox lane is restarted by the supervisor, and a crash-looping task becomes a
routable pantau.degraded event delivered to a real webhook peer."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
from fake_peers import generic_peer
from structlog.testing import capture_logs

from monitor.config.model import parse_config
from monitor.delivery.notify import NotifierConfig, post_checked
from monitor.delivery.outbox import Outbox
from monitor.delivery.outbox_store import OutboxStore
from monitor.engine import Engine
from monitor.events import Event, Source
from monitor.state_writer import StateWriter
from monitor.supervisor import Supervisor


def event(n: int) -> Event:
    return Event("host.down", Source("host", f"h{n}", "127.0.0.9"), {"n": n})


async def test_a_locked_db_is_waited_out_in_order_and_the_bound_is_counted():
    committed: list[str] = []
    locked = True
    sleeps: list[float] = []
    retried = asyncio.Event()

    async def commit(batch):
        if locked:
            raise sqlite3.OperationalError("database is locked")
        committed.extend(e.event.id for e in batch if e.event is not None)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 6:
            retried.set()
        await asyncio.sleep(0)

    writer = StateWriter(commit, limit=5, backoff=0.25, max_backoff=2.0, sleep=sleep)
    events = [event(i) for i in range(7)]

    def op(db):
        return None

    with capture_logs() as logs:
        accepted = [writer.submit(e, ["hook"]) for e in events[:4]]
        await asyncio.sleep(0)  # the next synchronous step: an event and its state change together
        accepted += [writer.submit(events[4], ["hook"]), writer.submit(op=op)]  # 4 < 5: both kept
        await asyncio.sleep(0)
        accepted += [writer.submit(op=op), writer.submit(events[5], ["hook"])]  # full: both dropped
        await asyncio.sleep(0)
        accepted += [writer.submit(events[6], ["hook"])]
        task = asyncio.create_task(writer.run())
        await asyncio.wait_for(retried.wait(), timeout=5)
        locked = False
        assert await writer.flush(timeout=2)
        task.cancel()
    assert accepted == [True] * 6 + [False] * 3 and writer.dropped == 3
    assert committed == [e.id for e in events[:5]]  # in order, none twice (the op has no event)
    assert sleeps[:5] == [0.25, 0.5, 1.0, 2.0, 2.0]
    names = [entry["event"] for entry in logs]
    assert names.count("state_db_unavailable") == 1 and names.count("state_db_recovered") == 1
    assert names.count("state_write_dropped") == 1


async def test_a_state_change_and_its_outbox_rows_commit_together_or_not_at_all(tmp_path):
    """A fault inside the transaction (here the state change) rolls back the event's rows too."""
    db = tmp_path / "s.db"
    with OutboxStore(db) as store:
        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS host_state (name TEXT PRIMARY KEY, state TEXT)")
            conn.execute("INSERT OR REPLACE INTO host_state VALUES ('h1', 'down')")
            raise sqlite3.OperationalError("disk I/O error")

        try:
            store.apply([(event(1), [("hook", None)], None), (None, [], broken)], now=1.0)
        except sqlite3.OperationalError:
            pass
        assert store.counts()["pending"] == 0
        assert sqlite3.connect(db).execute(
            "SELECT count(*) FROM sqlite_master WHERE name='host_state'").fetchone()[0] == 0

        def fine(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS host_state (name TEXT PRIMARY KEY, state TEXT)")
            conn.execute("INSERT OR REPLACE INTO host_state VALUES ('h1', 'down')")

        assert store.apply([(event(1), [("hook", None)], fine)], now=1.0) == 1
        assert sqlite3.connect(db).execute("SELECT state FROM host_state").fetchone() == ("down",)


class CrashOnceNotifier:
    """Its ``send_digest`` lookup raises once: a bug inside the lane, outside any send."""

    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.url, self.crashes = http, url, 0

    @property
    def send_digest(self):
        if self.crashes == 0:
            self.crashes += 1
            raise RuntimeError("plugin bug")
        return None

    async def send(self, event: Event, recipient: str | None = None) -> None:
        await post_checked(self.http, self.url, timeout=5.0, what="peer", json={"id": event.id})

    async def aclose(self) -> None:
        return None


async def test_a_crashing_outbox_lane_is_restarted_by_the_supervisor(tmp_path):
    """The lane crashes once; the supervisor logs task_crashed and runs it again right away
    (the old lane ended and waited for the 30 s sweep)."""
    supervisor = Supervisor(backoff=0.01)
    async with generic_peer() as peer, aiohttp.ClientSession() as http:
        notifier = CrashOnceNotifier(http, peer.url)
        box = Outbox(tmp_path / "s.db", {"hook": notifier}, {"hook": NotifierConfig(name="hook", type="t")},
                     spawn=supervisor.spawn)
        await box.start()
        try:
            with capture_logs() as logs:
                await box.enqueue(event(1), ["hook"])
                await peer.wait_received(1, timeout=5)
        finally:
            await box.aclose()
            await supervisor.aclose()
    assert notifier.crashes == 1
    crashed = [entry for entry in logs if entry["event"] == "task_crashed"]
    assert len(crashed) == 1 and crashed[0]["task"].startswith("outbox:hook:")


async def test_a_crash_looping_task_is_a_pantau_degraded_event_for_the_admins(tmp_path):
    async with generic_peer() as hook:
        config = parse_config({
            "notifiers": [{"name": "admins", "type": "webhook", "url": hook.url}],
            "routes": [{"events": ["pantau.*"], "notify": ["admins"]}],
            "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}, env={})
        engine = Engine(config)
        await engine.start()
        engine.supervisor.backoff = 0.01

        async def crasher() -> None:
            raise OSError("no route to the UPS")

        try:
            engine.supervisor.spawn("test:crasher", crasher)
            await hook.wait_received(1, timeout=10)
        finally:
            await engine.stop()
    body = hook.received[0].json
    assert body["type"] == "pantau.degraded" and body["source"]["name"] == "test:crasher"
    assert body["data"]["task"] == "test:crasher" and body["data"]["crashes"] == 5
    assert body["data"]["error"] == "OSError: no route to the UPS"
    assert len(hook.received) == 1  # reported once, not once per crash
