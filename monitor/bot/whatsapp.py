"""The bot on WhatsApp: inbound webhooks from WAHA, Fonnte or the Cloud API on pantau's HTTP
server; replies go out through the named ``whatsapp`` notifier's provider (the same gateway).

- WAHA: ``event: "message"``, body signed ``X-Webhook-Hmac: hex(HMAC-SHA512(key, raw body))``.
- Fonnte: its webhook form/JSON (``sender``, ``message``, ``member`` in groups); Fonnte signs
  nothing, so the URL carries ``?key=<webhook_key>``.
- Cloud API: ``entry[].changes[].value.messages[]`` signed ``X-Hub-Signature-256: sha256=<hex>``
  with the app secret; ``GET`` answers Meta's ``hub.challenge`` verification.
A bad signature is 401 and a ``bot.refused`` line; a message id seen before is ignored (gateways
retry webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

import structlog
from aiohttp import web

from ..delivery.current import CurrentProvider
from ..errors import ConfigError, PantauError
from .access import whatsapp_identity
from .config import BotConfig
from .core import BotCore

log = structlog.get_logger("pantau.bot.whatsapp")
CHANNEL = "whatsapp"


def waha_messages(body: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(message id, sender number, reply-to chat, text) from a WAHA webhook."""
    if body.get("event") not in ("message", "message.any"):
        return []
    p = body.get("payload") or {}
    if p.get("fromMe") or not isinstance(p.get("body"), str):
        return []
    chat = str(p.get("from", ""))
    sender = str(p.get("participant") or chat)  # in a group, the member who wrote
    return [(str(p.get("id", "")), sender.split("@")[0], chat.split("@")[0] if chat.endswith("@c.us") else chat,
             p["body"])]


def fonnte_messages(body: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    sender, text = str(body.get("sender", "")), body.get("message")
    if not sender or not isinstance(text, str):
        return []
    member = str(body.get("member") or "")
    return [(str(body.get("id") or body.get("inboxid") or ""), member or sender, sender, text)]


def cloud_messages(body: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            for m in (change.get("value") or {}).get("messages") or []:
                if m.get("type") == "text":
                    number = str(m.get("from", ""))
                    out.append((str(m.get("id", "")), number, number, str((m.get("text") or {}).get("body", ""))))
    return out


class WhatsAppBot:
    def __init__(self, config: BotConfig, core: BotCore, engine: Any):
        assert config.whatsapp is not None
        self.bot_config, self.config, self.core = config, config.whatsapp, core
        notifier = engine.notifiers.get(self.config.notifier)
        provider = getattr(getattr(notifier, "config", None), "provider", None)
        if provider != self.config.provider:
            raise ConfigError([f"bot.whatsapp.notifier: {self.config.notifier!r} must be a whatsapp notifier "
                               f"with provider {self.config.provider} (replies go out through it)"])
        self.sender = CurrentProvider(engine.notifiers, self.config.notifier)  # a reload's new settings apply
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._key = self.config.webhook_key.get_secret_value().encode()
        # numbers that are not on the bot's lists: another wing may answer them (the registration
        # wing's subscriber self-service); (number, text) → reply or None
        self.fallback: Any = None

    def routes(self) -> list[web.RouteDef]:
        routes = [web.post(self.config.path, self.receive)]
        if self.config.provider == "cloud":
            routes.append(web.get(self.config.path, self.verify))
        return routes

    def _authentic(self, request: web.Request, raw: bytes) -> bool:
        if self.config.provider == "waha":
            want = hmac.new(self._key, raw, hashlib.sha512).hexdigest()
            return hmac.compare_digest(request.headers.get("X-Webhook-Hmac", "").lower(), want)
        if self.config.provider == "cloud":
            want = "sha256=" + hmac.new(self._key, raw, hashlib.sha256).hexdigest()
            return hmac.compare_digest(request.headers.get("X-Hub-Signature-256", "").lower(), want)
        return hmac.compare_digest(request.query.get("key", "").encode(), self._key)

    async def verify(self, request: web.Request) -> web.Response:
        token = self.config.verify_token
        q = request.query
        if token is not None and q.get("hub.mode") == "subscribe" and \
                hmac.compare_digest(q.get("hub.verify_token", ""), token.get_secret_value()):
            return web.Response(text=q.get("hub.challenge", ""))
        return web.Response(status=403)

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not self._authentic(request, raw):
            log.warning("bot.refused", channel=CHANNEL, provider=self.config.provider, reason="bad webhook signature")
            return web.Response(status=401)
        try:
            if "form-urlencoded" in request.headers.get("Content-Type", ""):
                body: Any = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            else:
                body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        extract = {"waha": waha_messages, "fonnte": fonnte_messages, "cloud": cloud_messages}[self.config.provider]
        for message_id, sender, chat, text in extract(body if isinstance(body, dict) else {}):
            if message_id and message_id in self._seen:
                continue
            if message_id:
                self._seen[message_id] = None
                while len(self._seen) > 1000:
                    self._seen.popitem(last=False)
            await self._handle(sender, chat, text)
        return web.json_response({"ok": True})

    async def _handle(self, sender: str, chat: str, text: str) -> None:
        who = whatsapp_identity(self.bot_config, sender)
        if who.role is None and self.fallback is not None and chat == sender:  # a person, not a group
            answer = await self.fallback(who.chat, text)
            if answer:
                try:
                    await self.sender.send(chat, answer)
                except PantauError as exc:
                    log.warning("bot.whatsapp.reply_failed", provider=self.config.provider, error=str(exc))
            return
        if chat != who.chat:  # a group: replies and confirmations belong to the group
            who = type(who)(who.key, who.role, chat)
        for reply in await self.core.handle(who, CHANNEL, text, markup="text"):
            for page in reply.pages:
                try:
                    await self.sender.send(chat, page)
                except PantauError as exc:
                    log.warning("bot.whatsapp.reply_failed", provider=self.config.provider, error=str(exc))
