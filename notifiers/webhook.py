"""``type: webhook`` — POST the event as JSON (schema v1, docs/events.md), optionally signed.

Headers ``X-Pantau-Event`` (type) and ``X-Pantau-Id`` (event id, for de-duplication) are always
sent. With ``secret`` set:

* ``signature: pantau`` (default): ``X-Pantau-Signature: sha256=<hex HMAC-SHA256 of the body>``
  as before, plus ``X-Pantau-Timestamp`` (Unix seconds) and
  ``X-Pantau-Timestamp-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` so a receiver
  can refuse replays;
* ``signature: standard``: Standard Webhooks (``webhook-id`` = the event id, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``; secret ``whsec_<base64>``).

``format: alertmanager`` posts Alertmanager's webhook payload (version 4) instead of the event;
only host/router states are alerts there, other events are skipped (logged).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from monitor.config.types import HttpUrlSecret, Secret
from monitor.delivery.alerts import alert_for, webhook_message
from monitor.delivery.notify import BaseNotifier, NotifierConfig, NotifierContext, post_checked
from monitor.errors import NotifyError
from monitor.events import Event


class WebhookConfig(NotifierConfig):
    url: HttpUrlSecret  # may carry a token: printed as scheme://host:port/…
    signature: Literal["pantau", "standard"] = "pantau"
    format: Literal["pantau", "alertmanager"] = "pantau"
    secret: Secret | None = Field(None, validate_default=True)
    headers: dict[str, Secret] = {}  # extra headers, e.g. an Authorization token

    @model_validator(mode="after")
    def _one_authorization(self) -> WebhookConfig:
        # aiohttp turns URL userinfo into an Authorization header and refuses a second one
        if urlsplit(self.url.get_secret_value()).username is not None and any(
                k.lower() == "authorization" for k in self.headers):
            raise ValueError("url carries user:password and headers has an Authorization header: "
                             "use one of them")
        return self

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, value: Secret | None, info: ValidationInfo) -> Secret | None:
        if info.data.get("signature") == "standard":
            if value is None:
                raise ValueError("signature: standard needs a secret (whsec_<base64>)")
            standard_key(value.get_secret_value())  # raises ValueError when malformed
        return value


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64)."""
    if not secret.startswith("whsec_"):
        raise ValueError("a Standard Webhooks secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the part after whsec_ is not valid base64") from None
    if len(key) < 16:
        raise ValueError("a Standard Webhooks secret should hold at least 16 bytes (24 recommended)")
    return key


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookNotifier(BaseNotifier):
    Config = WebhookConfig
    config: WebhookConfig

    def __init__(self, config: WebhookConfig, context: NotifierContext, *,
                 clock: Callable[[], float] = time.time):
        super().__init__(config, context)
        self.clock = clock  # wall clock for signed timestamps (injectable in tests)

    async def send(self, event: Event, recipient: str | None = None) -> None:
        body = self.body(event)
        if body is None:
            self.log.debug("webhook.skipped", event_type=event.type, reason="not an alert")
            self.last_response = {"skipped": True}
            return
        await self._post(body, event.id, event.type)

    async def send_stored(self, payload: str, *, event_id: str, event_type: str,
                          recipient: str | None = None) -> None:
        """The outbox's path: ``format: pantau`` posts the stored JSON (``Event.to_json()``, the
        body ``send`` would build) as it is; other formats build their body from the event."""
        if self.config.format != "pantau":
            try:
                event = Event.from_json(payload)
            except (ValueError, KeyError, TypeError) as exc:
                raise NotifyError(f"unreadable payload: {type(exc).__name__}", retryable=False) from None
            await self.send(event, recipient)
            return
        await self._post(payload.encode("utf-8"), event_id, event_type)

    async def _post(self, body: bytes, event_id: str, event_type: str) -> None:
        headers = {k: v.get_secret_value() for k, v in self.config.headers.items()}
        headers.update({"Content-Type": "application/json", "X-Pantau-Event": event_type,
                        "X-Pantau-Id": event_id, "User-Agent": "pantau"})
        headers.update(self.signature_headers(event_id, body))
        started = time.monotonic()
        status, _ = await post_checked(self.http, self.config.url.get_secret_value(), data=body, headers=headers,
                                       timeout=self.config.timeout, what=f"webhook {self.name}")
        self.last_response = {"status": status, "latency_ms": round((time.monotonic() - started) * 1000, 1)}

    def body(self, event: Event) -> bytes | None:
        if self.config.format == "pantau":
            return event.to_json().encode("utf-8")
        alert = alert_for(event)
        if alert is None:
            return None
        now = datetime.fromtimestamp(self.clock(), UTC)
        message = webhook_message([alert], receiver=self.name, now=max(now, event.at))
        return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def signature_headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        if self.config.secret is None:
            return {}
        secret = self.config.secret.get_secret_value()
        timestamp = int(self.clock())
        if self.config.signature == "standard":
            return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                    "webhook-signature": standard_signature(standard_key(secret), msg_id, timestamp, body)}
        return {"X-Pantau-Signature": sign(secret, body), "X-Pantau-Timestamp": str(timestamp),
                "X-Pantau-Timestamp-Signature": sign(secret, f"{timestamp}.".encode() + body)}


NOTIFIER = WebhookNotifier
