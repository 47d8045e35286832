"""Restart safety: the session set persists in SQLite; a restart reports only what changed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until

from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.store import RouterStore
from monitor.routeros.watcher import RouterWatcher


@pytest.fixture
async def sim():
    simulator = RouterSimulator(password=PASSWORD)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _run_until_synced(sim: RouterSimulator, db: Path, rec: Recorder, hotspot: int, *, mode: str = "poll",
                            settle: float = 0.3) -> None:
    store = RouterStore(db)
    watcher = RouterWatcher(router_config(sim.port, mode=mode), emit=rec, store=store)
    async with Running(watcher):
        await wait_until(lambda: len(watcher.sessions("hotspot")) == hotspot, timeout=5)
        await asyncio.sleep(settle)
    store.close()


@pytest.mark.parametrize("mode", ["poll", "listen"])
async def test_stop_change_start_reports_exactly_the_difference(sim: RouterSimulator, tmp_path: Path,
                                                                mode: str) -> None:
    """50 sessions; first start is a silent baseline; stop; 3 end and 2 start; start again with the
    same store: exactly 3 logouts with reason while_stopped and 2 logins, nothing else."""
    db = tmp_path / "state.db"
    for i in range(50):
        sim.hotspot_login(f"u{i:02d}", f"10.5.{i // 200}.{i % 200 + 2}", f"AA:AA:AA:AA:{i // 256:02X}:{i % 256:02X}")
    first = Recorder()
    await _run_until_synced(sim, db, first, 50, mode=mode)
    assert first.events == []

    for name in ("u03", "u17", "u42"):
        sim.hotspot_logout(name)
    sim.hotspot_login("n1", "10.5.9.1", "BB:BB:BB:BB:BB:01")
    sim.hotspot_login("n2", "10.5.9.2", "BB:BB:BB:BB:BB:02")

    second = Recorder()
    await _run_until_synced(sim, db, second, 49, mode=mode)
    logouts = second.of("hotspot.logout")
    assert sorted(e.data["user"] for e in logouts) == ["u03", "u17", "u42"]
    assert {e.data["reason"] for e in logouts} == {"while_stopped"}
    assert sorted(e.data["user"] for e in second.of("hotspot.login")) == ["n1", "n2"]
    assert len(second.events) == 5

    third = Recorder()  # and a restart without changes replays nothing
    await _run_until_synced(sim, db, third, 49, mode=mode)
    assert third.events == []


async def test_store_uses_own_tables_in_wal_mode(sim: RouterSimulator, tmp_path: Path) -> None:
    """The shared state file gets only router_* tables, in WAL mode, next to other components' tables."""
    db = tmp_path / "state.db"
    other = sqlite3.connect(db)
    other.execute("CREATE TABLE outbox (id TEXT)")
    other.commit()
    other.close()
    sim.hotspot_login("a", "10.5.50.2", "AA:AA:AA:AA:AA:02")
    await _run_until_synced(sim, db, Recorder(), 1)
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert tables == {"outbox", "router_sessions", "router_baselines", "router_status"}
    assert mode == "wal"


async def test_router_down_persists_across_restart(sim: RouterSimulator, tmp_path: Path) -> None:
    """A router that went down before a restart is not reported down again after it; when it comes
    back there is one router.up."""
    db = tmp_path / "state.db"
    sim.hotspot_login("a", "10.5.50.2", "AA:AA:AA:AA:AA:02")
    await _run_until_synced(sim, db, Recorder(), 1)
    sim.set_fault("refuse")
    await asyncio.sleep(0.05)
    rec = Recorder()
    store = RouterStore(db)
    async with Running(RouterWatcher(router_config(sim.port), emit=rec, store=store)):
        await rec.wait_for("router.down", timeout=4)
    store.close()

    rec2 = Recorder()
    store = RouterStore(db)
    async with Running(RouterWatcher(router_config(sim.port), emit=rec2, store=store)):
        await asyncio.sleep(0.6)  # well past down_after failed polls
        sim.clear_fault()
        await rec2.wait_for("router.up", timeout=4)
        await asyncio.sleep(0.2)
    store.close()
    assert [e.type for e in rec2.events] == ["router.up"]


async def test_ten_thousand_sessions_full_resync(sim: RouterSimulator, tmp_path: Path) -> None:
    """10,000 active sessions: the baseline print is stored, and the next full resync reports exactly
    the 5 sessions that ended and the 5 that started."""
    for i in range(10_000):
        sim.hotspot_login(f"v{i:05d}", f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 2}",
                          f"AA:AA:AA:{i // 65536:02X}:{i // 256 % 256:02X}:{i % 256:02X}")
    rec = Recorder()
    store = RouterStore(tmp_path / "state.db")
    watcher = RouterWatcher(router_config(sim.port, mode="poll", poll_interval=0.2, timeout=5), emit=rec,
                            store=store)
    async with Running(watcher):
        await wait_until(lambda: len(watcher.sessions("hotspot")) == 10_000, timeout=20)
        for i in range(5):
            sim.hotspot_logout(f"v{i * 1000:05d}")
            sim.hotspot_login(f"new{i}", f"10.200.0.{i + 2}", f"BB:BB:BB:BB:BB:0{i}")
        await rec.wait_for("hotspot.login", count=5, timeout=20)
        await rec.wait_for("hotspot.logout", count=5, timeout=20)
    store.close()
    assert len(rec.events) == 10
    assert len(RouterStore(tmp_path / "state.db").load("core", "/ip/hotspot/active")) == 10_000
