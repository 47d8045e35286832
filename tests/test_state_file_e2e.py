"""The state file under `pantau run`: one instance per file (a second exits 2 naming the PID,
read-only commands keep working), created private (0600 with its WAL/SHM), and bounded by
retention (state.keep_sent / state.keep_dead) under a notifier that always fails."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fake_peers import Reply, generic_peer
from pantau_proc import Pantau, wait_until, write_config

from monitor.delivery.outbox_store import OutboxStore
from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "statefile-pw-2"


def pantau(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_second_instance_refused_read_only_commands_work_files_private(tmp_path):
    db = tmp_path / "state" / "pantau.db"
    async with generic_peer() as hook:
        cfg = write_config(tmp_path / "monitor.yaml", hosts=[{"name": "lo", "address": "127.0.0.1"}],
                           notifiers=[{"name": "hook", "type": "webhook", "url": hook.url}],
                           routes=[{"events": ["*"], "notify": ["hook"]}], state={"path": str(db)})
        first = Pantau(cfg, tmp_path / "first.log")
        try:
            await first.wait_log("started")
            second = await asyncio.to_thread(pantau, "run", "-c", str(cfg))
            assert second.returncode == 2, second.stderr
            assert f"pid {first.proc.pid}" in second.stderr and "Traceback" not in second.stderr
            assert str(db) in second.stderr
            listed = await asyncio.to_thread(pantau, "outbox", "list", "-c", str(cfg))
            assert listed.returncode == 0, listed.stderr
            checked = await asyncio.to_thread(pantau, "check", "-c", str(cfg))
            assert checked.returncode == 0, checked.stderr
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.lock")):
                assert mode(path) == 0o600, path
            assert first.proc.poll() is None
            assert first.stop() == 0
        finally:
            first.ensure_dead()
        again = Pantau(cfg, tmp_path / "again.log")  # the lock went with the first process
        try:
            await again.wait_log("started")
            assert again.stop() == 0
        finally:
            again.ensure_dead()


def test_an_existing_world_readable_state_file_is_tightened(tmp_path):
    from monitor.statedb import secure_file

    db = tmp_path / "old.db"
    sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").close()
    db.chmod(0o644)
    Path(f"{db}-wal").write_bytes(b"")
    Path(f"{db}-wal").chmod(0o644)
    secure_file(db)
    assert mode(db) == 0o600 and mode(Path(f"{db}-wal")) == 0o600


@pytest.mark.parametrize(("field", "value", "why"), [
    ("keep_sent", "forever", "invalid duration 'forever'"), ("keep_dead", "-1d", "invalid duration '-1d'"),
    ("keep_dead", 0, "must be greater than 0")])
def test_bad_retention_is_exit_2_naming_the_field(tmp_path, field, value, why):
    cfg = write_config(tmp_path / "monitor.yaml", state={"path": str(tmp_path / "s.db"), field: value})
    done = pantau("check", "-c", str(cfg))
    assert done.returncode == 2 and f"state.{field}: {why}" in done.stderr and "Traceback" not in done.stderr


async def test_retention_keeps_the_db_bounded_under_a_failing_notifier(tmp_path):
    """40 logins to a notifier that always refuses (dead at once) and one that accepts: with
    keep_sent/keep_dead of 1 s every one of the 80 rows is pruned — counted, not timed."""
    db = tmp_path / "state.db"
    async with RouterSimulator(password=PASSWORD) as sim, generic_peer(default=Reply(400, text="no")) as bad, \
            generic_peer() as good:
        cfg = write_config(
            tmp_path / "monitor.yaml",
            routers=[{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                      "password": PASSWORD, "mode": "poll", "poll_interval": "200ms", "timeout": "1s"}],
            notifiers=[{"name": "bad", "type": "webhook", "url": bad.url},
                       {"name": "good", "type": "webhook", "url": good.url}],
            routes=[{"events": ["*"], "notify": ["bad", "good"]}],
            state={"path": str(db), "keep_sent": "1s", "keep_dead": "1s"})
        run = Pantau(cfg, tmp_path / "run.log")
        try:
            await run.wait_log("router_baseline", 2)
            for i in range(40):
                sim.hotspot_login(f"r{i:02d}", f"10.5.50.{i + 2}", f"AA:BB:CC:00:0A:{i:02X}")
            await run.wait_log("delivery.dead", 40, timeout=30)
            await run.wait_log("delivery.sent", 40, timeout=30)

            def pruned() -> int:
                return sum(x.get("count", 0) for x in run.lines() if x.get("event") == "outbox.pruned")
            await wait_until(lambda: pruned() >= 80, timeout=30, what="80 rows pruned")
            with OutboxStore(db) as store:
                assert store.counts() == {"pending": 0, "sent": 0, "dead": 0}
            assert run.stop() == 0
        finally:
            run.ensure_dead()
    assert len(bad.received) == 40 and len(good.received) == 40
