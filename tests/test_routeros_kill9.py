"""kill -9 of a process running a RouterWatcher: the SQLite state survives and the next process
reports exactly what changed while it was dead (the lead's CLI-level version lives elsewhere)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from routeros_helpers import PASSWORD, wait_until

from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.store import RouterStore

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import asyncio, os, sys
from monitor.routeros.config import RouterConfig
from monitor.routeros.store import RouterStore
from monitor.routeros.watcher import RouterWatcher

port, db, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]

async def emit(event):
    with open(out, "a", encoding="utf-8") as f:
        f.write(event.to_json() + "\\n")
        f.flush()
        os.fsync(f.fileno())

async def main():
    cfg = RouterConfig.model_validate({"name": "core", "address": "127.0.0.1", "port": port,
        "username": "pantau", "password": sys.argv[4], "mode": "listen", "poll_interval": 0.1,
        "timeout": 0.5})
    await RouterWatcher(cfg, emit=emit, store=RouterStore(db)).run()

asyncio.run(main())
"""


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


async def _spawn(port: int, db: Path, out: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(sys.executable, "-c", SCRIPT, str(port), str(db), str(out),
                                                PASSWORD, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


def _stored(db: Path) -> int:
    if not db.exists():
        return -1
    store = RouterStore(db)
    try:
        return len(store.load("core", "/ip/hotspot/active") or {})
    finally:
        store.close()


async def _kill9(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


async def test_kill9_then_restart_reports_exactly_the_difference(tmp_path: Path) -> None:
    """20 sessions baselined, one login seen live, then kill -9; 3 end and 2 start while dead; the
    restarted process emits exactly 3 logouts (while_stopped) and 2 logins, and no replay."""
    db, out = tmp_path / "state.db", tmp_path / "events.jsonl"
    async with RouterSimulator(password=PASSWORD) as sim:
        for i in range(20):
            sim.hotspot_login(f"u{i:02d}", f"10.5.50.{i + 2}", f"AA:AA:AA:AA:AA:{i:02X}")
        proc = await _spawn(sim.port, db, out)
        try:
            await wait_until(lambda: _stored(db) == 20, timeout=15, step=0.05)
            sim.hotspot_login("live", "10.5.51.2", "BB:BB:BB:BB:BB:01")
            await wait_until(lambda: _stored(db) == 21, timeout=5, step=0.05)
        finally:
            await _kill9(proc)
        assert [(e["type"], e["data"]["user"]) for e in _events(out)] == [("hotspot.login", "live")]

        for name in ("u01", "u10", "live"):
            sim.hotspot_logout(name)
        sim.hotspot_login("n1", "10.5.52.2", "CC:CC:CC:CC:CC:01")
        sim.hotspot_login("n2", "10.5.52.3", "CC:CC:CC:CC:CC:02")

        proc = await _spawn(sim.port, db, out)
        try:
            await wait_until(lambda: len(_events(out)) >= 6 and _stored(db) == 20, timeout=15, step=0.05)
            await asyncio.sleep(0.5)  # nothing more must follow
        finally:
            await _kill9(proc)
    after = _events(out)[1:]
    assert sorted((e["type"], e["data"]["user"], e["data"].get("reason")) for e in after) == [
        ("hotspot.login", "n1", None), ("hotspot.login", "n2", None),
        ("hotspot.logout", "live", "while_stopped"), ("hotspot.logout", "u01", "while_stopped"),
        ("hotspot.logout", "u10", "while_stopped")]
