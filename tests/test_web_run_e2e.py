"""`pantau run` as a real process with `http:` serves metrics, health and the login-guarded page."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import aiohttp
import yaml
from web_helpers import _HASH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_pantau_run_serves_the_web_side(tmp_path, root):
    port = free_port()
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
                                    "notifiers": [{"name": "screen", "type": "console"}],
                                    "http": {"listen": f"127.0.0.1:{port}", "users": {"admin": _HASH}}}))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "-c", str(path), cwd=root, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(base + "/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("pantau run never became ready")
            async with http.get(base + "/healthz") as r:
                body = await r.json()
                assert r.status == 200 and {"emitter", "loop-lag"} <= set(body["tasks"])
            async with http.get(base + "/metrics") as r:
                text = await r.text()
                assert r.status == 200 and 'pantau_outbox_messages{notifier="screen",status="pending"} 0.0' in text
                assert "process_cpu_seconds_total" in text
            async with http.get(base + "/status", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/login"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
