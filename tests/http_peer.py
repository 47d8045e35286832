"""A programmable HTTP peer on 127.0.0.1 for notifier tests: records every request and answers
from a script of responses (status, JSON/text body, headers, delay), then a default."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON, str → text
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpPeer:
    def __init__(self, default: Reply | None = None):
        self.default = default or Reply(200, {"ok": True})
        self.script: list[Reply] = []
        self.requests: list[Request] = []
        self.received = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def then(self, *replies: Reply) -> HttpPeer:
        self.script.extend(replies)
        return self

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Request(request.method, request.path_qs, dict(request.headers), body))
        self.received.set()
        reply = self.script.pop(0) if self.script else self.default
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply.body, dict | list):
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        return web.Response(text=reply.body or "", status=reply.status, headers=reply.headers)

    async def start(self) -> HttpPeer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> HttpPeer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (port taken from a socket we closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
