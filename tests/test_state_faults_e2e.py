"""The real `pantau run` while its state DB is unusable: another process holds the write lock
(longer than any busy timeout), or the disk is full. Hotspot logins and a flapping host happen
meanwhile. Nothing may be lost or silently dropped: after recovery every detected event is
delivered once, in detection order, and the watcher is still in listen mode."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from fake_peers import generic_peer
from nethost import netns_available, new_host
from pantau_proc import Pantau, WriteLock, wait_until, write_config

from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "faults-pw-3"
LOCK_S = 30.0  # the 30 s: far past SQLite's busy timeouts (the old code waited 10 s, then gave up)
FULL_S = 4.0
HOTSPOT = "/ip/hotspot/active"


class DiskFull:
    """A small tmpfs for the state DB; ``fill`` takes its last free page, ``release`` gives it back."""

    def __init__(self, mountpoint: Path):
        self.dir = mountpoint
        self.dir.mkdir()
        self.filler = self.dir / "filler"
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.dir)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs for the disk-full case: {done.stderr.strip()}")

    def fill(self, db: Path) -> None:
        # empty the WAL first, so the next commit must grow it (a recycled WAL needs no new space)
        con = sqlite3.connect(db, timeout=10)
        for _ in range(50):
            if con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0:
                break
            time.sleep(0.05)
        con.close()
        assert Path(f"{db}-wal").stat().st_size == 0
        with contextlib.suppress(OSError), open(self.filler, "wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.filler.unlink()

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)


def _can_mount() -> bool:
    return os.geteuid() == 0


@pytest.mark.parametrize("fault", [
    "lock",
    pytest.param("full", marks=pytest.mark.skipif(not _can_mount(), reason="mounting a small tmpfs needs root")),
])
async def test_events_wait_out_a_locked_or_full_state_db(tmp_path, fault):
    flap = netns_available()  # the flapping host needs a netns test host (root); sessions run regardless
    disk = DiskFull(tmp_path / "disk") if fault == "full" else None
    db = (disk.dir if disk else tmp_path) / "state.db"
    lock = None
    async with RouterSimulator(password=PASSWORD) as sim, generic_peer() as hook:
        for i in range(5):
            sim.hotspot_login(f"base{i}", f"10.5.50.{i + 2}", f"AA:BB:CC:00:05:{i:02X}")
        with new_host() if flap else contextlib.nullcontext() as nh:
            cfg = write_config(
                tmp_path / "monitor.yaml",
                routers=[{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                          "password": PASSWORD, "mode": "listen", "poll_interval": "200ms", "timeout": "1s",
                          "down_after": 3}],
                hosts=[{"name": "cpe", "address": nh.address}] if nh else [],
                defaults={"interval": "200ms", "count": 1, "timeout": "150ms", "down_after": 2, "up_after": 2},
                notifiers=[{"name": "hook", "type": "webhook", "url": hook.url}],
                routes=[{"events": ["*"], "notify": ["hook"]}],
                state={"path": str(db)})
            pantau = Pantau(cfg, tmp_path / "run.log")
            try:
                await pantau.wait_log("router_listening", 2)
                if nh:
                    await pantau.wait_log("transition", host="cpe", state="up")
                await asyncio.sleep(0.5)  # the baselines are committed
                began = time.monotonic()
                if disk:
                    disk.fill(db)
                else:
                    lock = WriteLock(db)

                expected = 0
                for i in range(6):
                    sim.hotspot_login(f"in{i}", f"10.5.51.{i + 2}", f"AA:BB:CC:00:06:{i:02X}")
                    expected += 1
                    await pantau.wait_log("event", expected)
                    if i == 2:
                        sim.hotspot_logout("base1")
                        expected += 1
                        await pantau.wait_log("event", expected)
                if nh:
                    for n in (1, 2):  # flap twice
                        nh.down()
                        await pantau.wait_log("event", n, event_type="host.down")
                        nh.up()
                        await pantau.wait_log("event", n, event_type="host.up")
                        expected += 2
                await asyncio.sleep(max(0.0, (FULL_S if disk else LOCK_S) - (time.monotonic() - began)))
                assert hook.received == []  # nothing could be committed, so nothing went out
                assert pantau.proc.poll() is None

                (disk or lock).release()
                await wait_until(lambda: len(hook.received) >= expected, timeout=30, what="delivery after recovery")
                assert sim.listeners(HOTSPOT) >= 1  # still / again in listen mode
                sim.hotspot_login("after", "10.5.52.2", "AA:BB:CC:00:07:01")
                await wait_until(lambda: len(hook.received) >= expected + 1, what="a login after recovery")
                await asyncio.sleep(0.5)  # nothing more may come
                assert sim.listeners(HOTSPOT) >= 1
                assert pantau.stop() == 0
            finally:
                pantau.ensure_dead()
                if lock:
                    lock.release()
                if disk:
                    disk.release()
                    disk.unmount()
    detected = [x["event_id"] for x in pantau.lines() if x["event"] == "event"]
    delivered = [r.json["id"] for r in hook.received]
    assert delivered == detected  # every event, once, in the order it was detected
    users = [(r.json["type"], r.json["data"].get("user")) for r in hook.received if r.json["type"].startswith("hotspot")]
    assert users == [("hotspot.login", f"in{i}") for i in range(3)] + [("hotspot.logout", "base1")] + [
        ("hotspot.login", f"in{i}") for i in range(3, 6)] + [("hotspot.login", "after")]
    hosts = [r.json["type"] for r in hook.received if r.json["type"].startswith("host.")]
    assert hosts == (["host.down", "host.up"] * 2 if flap else [])
    assert pantau.count("state_db_unavailable") >= 1 and pantau.count("state_db_recovered") >= 1  # the fault was hit
    for bad in ("task_crashed", "state_write_dropped", "router_listen_failed", "emit_failed"):
        assert pantau.count(bad) == 0, bad
