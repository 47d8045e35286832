"""SIGHUP (systemd ExecReload) re-reads the config: a valid one takes over, an invalid one is logged
and the running config keeps monitoring."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import yaml

from monitor.routeros.sim.simulator import RouterSimulator


async def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_sighup_reloads_a_valid_config_and_keeps_running_on_an_invalid_one(tmp_path):
    async with RouterSimulator(username="pantau", password="reload-pw-3") as sim:
        sim.add_hotspot_user("budi")
        sim.add_hotspot_user("sari")

        def config(fmt: str) -> dict:
            return {"routers": [{"name": "r1", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                                 "password": "reload-pw-3", "mode": "listen", "poll_interval": "200ms"}],
                    "notifiers": [{"name": "layar", "type": "console", "format": fmt,
                                   "digest": {"enabled": False}, "rate_limit": {"per_recipient": ["off"]}}],
                    "routes": [{"events": ["*"], "notify": ["layar"]}],
                    "state": {"path": str(tmp_path / "state.db")}, "log": {"format": "json"}, "plugins_dir": None}

        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(config("line")))
        out, err = bytearray(), bytearray()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "-c", str(path), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))

        async def collect(stream, into):
            while chunk := await stream.read(4096):
                into.extend(chunk)

        readers = [asyncio.ensure_future(collect(proc.stdout, out)), asyncio.ensure_future(collect(proc.stderr, err))]
        try:
            assert await _wait(lambda: err.count(b"router_listening") >= 2), err.decode()
            path.write_text("hosts: [{name: x, address: 127.0.0.1, interval: ten}]\n")
            proc.send_signal(signal.SIGHUP)
            assert await _wait(lambda: b"config_reload_failed" in err), err.decode()
            sim.hotspot_login("budi", "10.5.50.24", "AC:BC:32:7E:11:02")  # the old config still works
            assert await _wait(lambda: b"HOTSPOT.LOGIN" in out), (out.decode(), err.decode())

            path.write_text(yaml.safe_dump(config("json")))  # valid: events now print as JSON
            proc.send_signal(signal.SIGHUP)
            assert await _wait(lambda: b"config_reloaded" in err), err.decode()
            assert await _wait(lambda: err.count(b"router_listening") >= 4), err.decode()
            sim.hotspot_login("sari", "10.5.50.31", "F0:9F:C2:01:02:03")
            assert await _wait(lambda: b'"type":"hotspot.login"' in out), (out.decode(), err.decode())
            assert proc.returncode is None
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)
            await asyncio.gather(*readers)
    assert proc.returncode == 0
    failed = next(json.loads(line) for line in err.decode().splitlines() if "config_reload_failed" in line)
    assert failed["problems"] == ["hosts[0].interval: invalid duration 'ten'"]
    assert out.count(b"budi") == 1  # budi's login was not replayed by the reload
