"""Streams: logs go to stderr (JSON lines when it is not a TTY), the console notifier to stdout.

A real `pantau run` process with a console notifier watches the RouterOS simulator; a hotspot login
becomes a message on stdout, while every stderr line parses as JSON — what Docker and journald keep."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
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
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "-c", str(path)],
                                    stdout=o, stderr=e, env=dict(os.environ, PYTHONUNBUFFERED="1"))
            try:
                assert await _wait(lambda: err.read_text().count("router_listening") >= 2), err.read_text()
                sim.hotspot_login("budi", "10.5.50.24", "AC:BC:32:7E:11:02")
                assert await _wait(lambda: "HOTSPOT.LOGIN" in out.read_text()), (out.read_text(), err.read_text())
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    stdout_lines = out.read_text().splitlines()
    stderr_lines = err.read_text().splitlines()
    assert any("HOTSPOT.LOGIN" in line and "budi" in line for line in stdout_lines)
    assert not any(line.startswith("{") for line in stdout_lines), "a log line reached stdout"
    assert stderr_lines, "no log lines on stderr"
    logs = [json.loads(line) for line in stderr_lines]  # every line is JSON
    assert {"event", "level", "timestamp"} <= set(logs[0])
    assert "stream-pw-1" not in err.read_text()
