"""Fake messaging peers on 127.0.0.1: Telegram Bot API, WAHA, Fonnte, a form gateway, WhatsApp Cloud.

Each fake is a real aiohttp server. It records every request (``peer.received``) and answers with
queued replies first (``peer.queue(Reply(...))``, one per request, in order), then with the
provider's normal success shape. Usage::

    async with telegram_peer() as tg:
        tg.queue(telegram_error(429, "Too Many Requests: retry after 7", retry_after=7))
        ...  # point the notifier's api_url at tg.url
        assert tg.received[0].json["chat_id"] == -100123
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = ["FakePeer", "Received", "Reply", "answer", "closed_port", "generic_peer", "cloud_error", "cloud_peer", "fonnte_peer",
           "form_peer", "telegram_error", "telegram_peer", "waha_peer"]


@dataclass
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    json: Any = None  # parsed when the body is JSON
    form: dict[str, str] | None = None  # parsed when the body is form-encoded

    @property
    def fields(self) -> dict[str, Any]:
        """The JSON object or the form fields, whichever was sent."""
        return self.json if isinstance(self.json, dict) else (self.form or {})


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)


class FakePeer:
    """An HTTP server answering every path with queued replies, then ``default(received)``."""

    def __init__(self, default: Callable[[Received], Reply]):
        self.default = default
        self.received: list[Received] = []
        self._queue: list[Reply] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._arrived = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def start(self) -> FakePeer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakePeer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_received(self, count: int, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        received = Received(method=request.method, path=request.path, headers=dict(request.headers),
                            query=dict(request.query), body=body)
        ctype = request.headers.get("Content-Type", "")
        if "json" in ctype:
            received.json = json.loads(body or b"null")
        elif "form-urlencoded" in ctype:
            received.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        self.received.append(received)
        self._arrived.set()
        reply = self._queue.pop(0) if self._queue else self.default(received)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.text is not None:
            return web.Response(status=reply.status, text=reply.text, headers=reply.headers)
        return web.json_response(reply.json, status=reply.status, headers=reply.headers)


def generic_peer(*replies: Reply, default: Reply | None = None) -> FakePeer:
    """Any HTTP endpoint (webhooks, ntfy): answers ``replies`` in order, then ``default``
    (``200 {"ok": true}`` unless given; assign ``peer.default`` to change it later)."""
    fallback = default or Reply(json={"ok": True})
    peer = FakePeer(lambda _r: fallback)
    peer.queue(*replies)
    return peer


def answer(reply: Reply) -> Callable[[Received], Reply]:
    """A ``FakePeer.default`` that always gives ``reply``."""
    return lambda _r: reply


def closed_port() -> int:
    """A local port nothing listens on (bound, then closed): connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- Telegram Bot API -----------------------------------------------------------------------------

def telegram_peer() -> FakePeer:
    """Answers ``/bot<token>/sendMessage`` like Telegram: ``{"ok": true, "result": {message}}``."""
    ids = itertools.count(100)

    def ok(r: Received) -> Reply:
        fields = r.fields
        return Reply(json={"ok": True, "result": {"message_id": next(ids), "date": 1795402000,
                                                   "chat": {"id": fields.get("chat_id")},
                                                   "text": fields.get("text")}})
    return FakePeer(ok)


def telegram_error(code: int, description: str, **parameters: Any) -> Reply:
    """Telegram's error shape, e.g. ``telegram_error(400, "Bad Request: chat not found")``."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status=code, json=body)


# -- WhatsApp gateways ----------------------------------------------------------------------------

def waha_peer() -> FakePeer:
    """WAHA ``POST /api/sendText``: 201 with the sent message."""
    ids = itertools.count(1)

    def ok(r: Received) -> Reply:
        chat = r.fields.get("chatId")
        return Reply(status=201, json={"id": f"true_{chat}_3EB0{next(ids):04d}", "fromMe": True,
                                       "to": chat, "body": r.fields.get("text")})
    return FakePeer(ok)


def fonnte_peer() -> FakePeer:
    """Fonnte ``POST /send``: HTTP 200 with ``status: true`` (its errors are also HTTP 200)."""
    ids = itertools.count(80367170)

    def ok(r: Received) -> Reply:
        return Reply(json={"detail": "success! message in queue", "id": [str(next(ids))],
                           "process": "pending", "status": True, "target": [r.fields.get("target")]})
    return FakePeer(ok)


def form_peer() -> FakePeer:
    """The seed's whatsapp-api gateway (``/send-message``, number + message): ``status: true``."""
    def ok(r: Received) -> Reply:
        return Reply(json={"status": True, "response": {"id": {"fromMe": True},
                                                        "to": r.fields.get("number")}})
    return FakePeer(ok)


def cloud_peer() -> FakePeer:
    """Meta WhatsApp Cloud API ``POST /{phone_number_id}/messages``."""
    ids = itertools.count(1)

    def ok(r: Received) -> Reply:
        to = r.fields.get("to")
        return Reply(json={"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                           "messages": [{"id": f"wamid.HBgN{next(ids):06d}"}]})
    return FakePeer(ok)


def cloud_error(code: int, message: str, *, status: int = 400, details: str | None = None) -> Reply:
    """The Graph API error shape, e.g. ``cloud_error(131047, "Re-engagement message")``."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AbCdEf123"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Reply(status=status, json={"error": error})
