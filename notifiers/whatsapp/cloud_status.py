"""The Cloud API's status webhook: late ``failed`` statuses become a retry as template or a dead letter.

Meta answers a send with HTTP 200 and a message id (``wamid``) even when the message can never be
delivered (131047: outside the 24-hour window); the failure arrives later on the webhook as
``statuses[].status == "failed"``. pantau records every wamid it was given (table
``whatsapp_cloud_sent`` in the state database) and, on a failed status:

* the message went out as text and a ``template`` is configured → the outbox message is pending
  again and the next attempt sends the template (``retry_as_template``);
* otherwise → the outbox message becomes a dead letter whose reason is Meta's error
  (``pantau outbox`` shows it).

``POST`` bodies must carry ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the app
secret>``; ``GET`` answers Meta's ``hub.challenge`` when ``hub.verify_token`` matches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

if TYPE_CHECKING:  # aiohttp.web is imported by the handlers: loading a config needs no server
    from aiohttp import web

log = structlog.get_logger("pantau.whatsapp.cloud")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS whatsapp_cloud_sent (
    wamid      TEXT PRIMARY KEY,
    notifier   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    via        TEXT NOT NULL,            -- text | template
    status     TEXT NOT NULL DEFAULT 'accepted',
    error      TEXT,
    sent_at    REAL NOT NULL
)"""


class OutboxControl(Protocol):
    async def reopen(self, event_id: str, notifier: str, recipient: str | None, *, error: str) -> bool: ...

    async def fail_sent(self, event_id: str, notifier: str, recipient: str | None, *, error: str) -> bool: ...


class CloudSentStore:
    """wamid → (notifier, event, recipient, via): which outbox message a status is about."""

    def __init__(self, path: str | Path):
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record(self, wamid: str, *, notifier: str, event_id: str, recipient: str, via: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO whatsapp_cloud_sent (wamid, notifier, event_id, recipient, "
                         "via, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (wamid, notifier, event_id, recipient, via, time.time()))

    def lookup(self, wamid: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT notifier, event_id, recipient, via, status FROM whatsapp_cloud_sent "
                               "WHERE wamid=?", (wamid,)).fetchone()
        keys = ("notifier", "event_id", "recipient", "via", "status")
        return dict(zip(keys, row, strict=True)) if row else None

    def set_status(self, wamid: str, status: str, error: str | None = None) -> None:
        self._db.execute("UPDATE whatsapp_cloud_sent SET status=?, error=COALESCE(?, error) WHERE wamid=?",
                         (status, error, wamid))

    def text_failed(self, notifier: str, event_id: str, recipient: str) -> bool:
        """Did a text send of this message fail later (so the next attempt must be the template)?"""
        return self._db.execute("SELECT 1 FROM whatsapp_cloud_sent WHERE notifier=? AND event_id=? AND "
                                "recipient=? AND via='text' AND status='failed'",
                                (notifier, event_id, recipient)).fetchone() is not None


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def failure_reason(status: dict[str, Any]) -> str:
    """Meta's error on a failed status, on one line: ``131047 Re-engagement message: details``."""
    parts = []
    for error in status.get("errors") or []:
        if not isinstance(error, dict):
            continue
        details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
        text = f"{error.get('code')} {error.get('title') or error.get('message') or 'error'}"
        parts.append(text + (f": {details}" if details else ""))
    return "; ".join(parts) or "failed (no error given)"


class CloudStatusWebhook:
    """The aiohttp handlers for one Cloud notifier's status webhook."""

    def __init__(self, *, notifier: str, path: str, app_secret: str, verify_token: str | None,
                 store: CloudSentStore, outbox: OutboxControl, has_template: bool):
        self.notifier, self.path = notifier, path
        self.app_secret, self.verify_token = app_secret, verify_token
        self.store, self.outbox, self.has_template = store, outbox, has_template

    def routes(self) -> list[web.RouteDef]:
        from aiohttp import web

        return [web.get(self.path, self.verify), web.post(self.path, self.receive)]

    async def verify(self, request: web.Request) -> web.Response:
        from aiohttp import web

        query = request.query
        token_ok = self.verify_token is not None and hmac.compare_digest(
            query.get("hub.verify_token", ""), self.verify_token)
        if query.get("hub.mode") == "subscribe" and token_ok:
            log.info("whatsapp.cloud_webhook_verified", notifier=self.notifier)
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("whatsapp.cloud_webhook_verify_refused", notifier=self.notifier)
        return web.Response(status=403, text="verification failed")

    async def receive(self, request: web.Request) -> web.Response:
        from aiohttp import web

        body = await request.read()
        if not signature_ok(self.app_secret, body, request.headers.get("X-Hub-Signature-256")):
            log.warning("whatsapp.cloud_webhook_bad_signature", notifier=self.notifier)
            return web.Response(status=401, text="bad signature")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        for status in _statuses(payload):
            await self.handle(status)
        return web.Response(text="ok")

    async def handle(self, status: dict[str, Any]) -> str:
        """Apply one status; returns what was done (for logs and tests)."""
        wamid, state = str(status.get("id") or ""), str(status.get("status") or "")
        sent = self.store.lookup(wamid)
        if sent is None or sent["notifier"] != self.notifier:
            return "unknown"
        if state != "failed":
            self.store.set_status(wamid, state)
            return state
        reason = failure_reason(status)
        self.store.set_status(wamid, "failed", reason)
        recipient = sent["recipient"]
        if sent["via"] == "text" and self.has_template:
            done = await self.outbox.reopen(sent["event_id"], self.notifier, recipient,
                                            error=f"WhatsApp Cloud API: {reason} — retrying as template")
            action = "retry_as_template" if done else "stale"
        else:
            done = await self.outbox.fail_sent(sent["event_id"], self.notifier, recipient,
                                               error=f"WhatsApp Cloud API: {reason}")
            action = "dead" if done else "stale"
        log.warning("whatsapp.cloud_failed_status", notifier=self.notifier, wamid=wamid, reason=reason,
                    action=action, via=sent["via"])
        return action


def _statuses(payload: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in payload.get("entry") or [] if isinstance(payload, dict) else []:
        for change in entry.get("changes") or [] if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                out += [s for s in value.get("statuses") or [] if isinstance(s, dict)]
    return out
