"""Shared helpers for the web tests: an engine with ``http:`` on a free loopback port, a scripted
probe (the probe interface is the boundary: hosts go up and down on the test's word), and a logged
in HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from steerable_probe import SteerableProbe

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.web.passwords import hash_password

PASSWORD = "kata-sandi-rahasia"
_HASH = hash_password(PASSWORD)


class ScriptedProbe(SteerableProbe):
    """Answers every address at once: lost when the address is in ``down``, else 1.5 ms."""

    def __init__(self) -> None:
        super().__init__(rtt_ms=1.5)


def web_config(tmp_path: Any, *, hosts: int = 0, users: bool = True, **extra: Any) -> Any:
    raw: dict[str, Any] = {
        "defaults": {"interval": "0.2s", "down_after": 1, "up_after": 1, "timeout": "0.1s"},
        "hosts": [{"name": f"host-{i:02d}", "address": f"127.0.0.{i + 1}",
                   "labels": {"site": "pasar" if i % 2 else "kampus"}} for i in range(hosts)],
        "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
        "http": {"listen": "127.0.0.1:0", **({"users": {"admin": _HASH}} if users else {})},
    }
    raw.update(extra)
    return parse_config(raw, env={})


@contextlib.asynccontextmanager
async def running(config: Any, probe: Any = None, supervisor: Any = None) -> AsyncIterator[tuple[Engine, str]]:
    engine = Engine(config, probe=probe or ScriptedProbe())
    if supervisor is not None:
        engine.supervisor = supervisor
    await engine.start()
    try:
        yield engine, f"http://127.0.0.1:{engine.web.port}"
    finally:
        await engine.stop(grace=0.5)


def client() -> aiohttp.ClientSession:
    # unsafe: accept cookies from an IP address (127.0.0.1), as a browser does
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def form_token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no csrf field in the form"
    return match.group(1)


async def login(http: aiohttp.ClientSession, base: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
    async with http.get(f"{base}/login") as r:
        token = form_token(await r.text())
    async with http.post(f"{base}/login", data={"user": "admin", "password": password, "csrf": token},
                         allow_redirects=False) as r:
        await r.read()
        return r


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
