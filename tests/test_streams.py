"""Streams: logs go to stderr (JSON lines when it is not a TTY), the console notifier to stdout.

A real `pantau run` process with a console notifier watches the RouterOS simulator; a hotspot login
becomes a message on stdout, while every stderr line parses as JSON — what Docker and journald keep."""

from __future__ import annotations

import asyncio
import json
import os
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


async def test_run_logs_json_to_stderr_and_messages_to_stdout(tmp_path):
    async with RouterSimulator(username="pantau", password="stream-pw-1") as sim:
        sim.add_hotspot_user("budi", comment="Budi")
        cfg = {
            "routers": [{"name": "r1", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                         "password": "stream-pw-1", "mode": "listen", "poll_interval": "200ms"}],
            "notifiers": [{"name": "layar", "type": "console", "format": "line",
                           "digest": {"enabled": False}, "rate_limit": {"per_recipient": ["off"]}}],
            "routes": [{"events": ["*"], "notify": ["layar"]}],
            "state": {"path": str(tmp_path / "state.db")},
            "log": {"level": "info", "format": "auto"},
            "plugins_dir": None,
        }
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(cfg))
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
            sim.hotspot_login("budi", "10.5.50.24", "AC:BC:32:7E:11:02")
            assert await _wait(lambda: b"HOTSPOT.LOGIN" in out), (out.decode(), err.decode())
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)
            await asyncio.gather(*readers)
    stdout_lines = out.decode().splitlines()
    stderr_lines = err.decode().splitlines()
    assert any("HOTSPOT.LOGIN" in line and "budi" in line for line in stdout_lines)
    assert not any(line.startswith("{") for line in stdout_lines), "a log line reached stdout"
    assert stderr_lines, "no log lines on stderr"
    logs = [json.loads(line) for line in stderr_lines]  # every line is JSON
    assert {"event", "level", "timestamp"} <= set(logs[0])
    assert b"stream-pw-1" not in err
