"""SIGTERM and SIGINT at several moments of the real `pantau run` — during the imports, during
start-up, running, and with a delivery in flight to a peer that never answers: exit 0 within
5 s, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from fake_peers import Reply, generic_peer
from test_restart_e2e import wait_until

from monitor.routeros.sim.simulator import RouterSimulator

PASSWORD = "sig-pw-1"


def _caught(pid: int, sig: int) -> bool:
    """Whether the process has installed a handler for ``sig`` (SigCgt in /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    except OSError:
        pass
    return False


def _wait_caught(pid: int, sig: int, limit: float) -> None:
    """Spin (blocking: nothing on the test's loop needs to run meanwhile) until ``pid`` catches
    ``sig``, at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not _caught(pid, sig) and time.monotonic() < deadline:
        time.sleep(0.005)


def _start(config: Path, log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(config)], stdout=out,
                            stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    out.close()
    return proc


def _stopped_cleanly(proc: subprocess.Popen, sig: int, log: Path) -> tuple[int, float, str]:
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, time.monotonic() - sent, log.read_text(errors="replace")


def _config(tmp: Path, sim_port: int, url: str, name: str) -> Path:
    cfg = {"routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                        "password": PASSWORD, "mode": "poll", "poll_interval": "200ms", "timeout": "1s"}],
           "notifiers": [{"name": "hook", "type": "webhook", "url": url, "timeout": "60s"}],
           "routes": [{"events": ["*"], "notify": ["hook"]}],
           "state": {"path": str(tmp / f"{name}.db")}, "log": {"level": "info", "format": "json"},
           "plugins_dir": None}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


async def test_sigterm_and_sigint_at_any_moment_exit_0_quickly_without_traceback(tmp_path):
    sim = RouterSimulator(username="pantau", password=PASSWORD)
    await sim.start()
    results = []
    try:
        async with generic_peer(default=Reply(json={"ok": True}, delay=120)) as hanging:
            for moment, sig in [("import", signal.SIGINT), ("import", signal.SIGTERM),
                                ("start-up", signal.SIGTERM), ("running", signal.SIGINT),
                                ("delivery-in-flight", signal.SIGTERM)]:
                log = tmp_path / f"{moment}-{sig.name}.log"
                config = _config(tmp_path, sim.port, hanging.url, f"{moment}-{sig.name}")
                proc = _start(config, log)
                if moment == "import":
                    # as soon as the entry point's handlers are in (the heavy imports follow);
                    # at the latest after 0.3 s, still well inside the imports
                    _wait_caught(proc.pid, signal.SIGHUP, 0.3)
                elif moment == "start-up":  # the state database is being opened
                    await wait_until(lambda log=log, proc=proc: b"outbox.started" in log.read_bytes() or proc.poll() is not None)
                elif moment == "running":
                    await wait_until(lambda log=log: b"router_baseline" in log.read_bytes())
                else:
                    await wait_until(lambda log=log: b"router_baseline" in log.read_bytes())
                    sim.hotspot_login(f"user-{len(results)}", "10.5.50.9", "AA:BB:CC:00:00:09")
                    count = len(hanging.received)
                    try:
                        await wait_until(lambda count=count: len(hanging.received) > count)  # the POST hangs
                    except AssertionError:
                        raise AssertionError(log.read_text()[-3000:]) from None
                rc, took, output = _stopped_cleanly(proc, sig, log)
                results.append((moment, sig.name, rc, round(took, 2), "Traceback" in output, output[-600:]))
    finally:
        await sim.stop()
    bad = [r for r in results if r[2] != 0 or r[3] >= 5.0 or r[4]]
    assert not bad, "\n".join(map(str, bad))
