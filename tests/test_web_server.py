"""pantau's HTTP server: /healthz from the supervisor over real HTTP, headers, listen errors."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from monitor.errors import ConfigError
from monitor.supervisor import Supervisor
from monitor.web.config import HttpConfig, split_listen
from monitor.web.server import SECURITY_HEADERS, WebServer


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:9", ("::1", 9)), (":8080", ("0.0.0.0", 8080)),
    ("localhost:0", ("localhost", 0)),
])
def test_listen_forms(text, expected):
    assert split_listen(text) == expected


@pytest.mark.parametrize("text", ["8080", "127.0.0.1:", "127.0.0.1:99999", "example.com:80", "1.2.3:80"])
def test_bad_listen(text):
    with pytest.raises(ValueError):
        HttpConfig(listen=text)


async def test_healthz_follows_the_supervisor():
    sup = Supervisor(backoff=0.01, max_backoff=0.01, crash_loop=3, window=60)
    server = WebServer(HttpConfig(listen="127.0.0.1:0"), health=sup.health)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/healthz"
    try:
        async with aiohttp.ClientSession() as http:
            ok = asyncio.Event()

            async def fine() -> None:
                ok.set()
                await asyncio.Event().wait()

            sup.spawn("emitter", fine)
            await ok.wait()
            async with http.get(url) as r:
                body = await r.json()
                assert r.status == 200 and body["ok"] is True
                assert body["tasks"]["emitter"]["state"] == "running"
                for key, value in SECURITY_HEADERS.items():
                    assert r.headers[key] == value

            async def broken() -> None:
                raise RuntimeError("state DB gone")

            sup.spawn("router:core", broken)
            for _ in range(500):
                if sup.health()["router:core"].degraded:
                    break
                await asyncio.sleep(0.01)
            async with http.get(url) as r:
                body = await r.json()
                assert r.status == 503 and body["ok"] is False
                assert body["tasks"]["router:core"]["degraded"] is True
                assert body["tasks"]["router:core"]["last_error"] == "RuntimeError: state DB gone"
            async with http.get(url.replace("healthz", "nothing")) as r:
                assert r.status == 404 and r.headers["X-Frame-Options"] == "DENY"
    finally:
        await server.aclose()
        await sup.aclose()


async def test_a_port_in_use_is_a_config_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = WebServer(HttpConfig(listen=f"127.0.0.1:{port}"))
        with pytest.raises(ConfigError) as err:
            await server.start()
        assert err.value.problems[0].startswith(f"http.listen: cannot listen on 127.0.0.1:{port}")
