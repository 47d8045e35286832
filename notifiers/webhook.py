"""``type: webhook`` — POST the event as JSON (schema v1, docs/events.md), optionally signed.

With ``secret`` set, ``X-Pantau-Signature: sha256=<hex HMAC-SHA256 of the exact body>``.
Headers ``X-Pantau-Event`` (type) and ``X-Pantau-Id`` (event id, for de-duplication) are always sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from pydantic import model_validator

from monitor.config.types import HttpUrlSecret, Secret
from monitor.delivery.notify import BaseNotifier, NotifierConfig, post_checked
from monitor.events import Event


class WebhookConfig(NotifierConfig):
    url: HttpUrlSecret  # may carry a token: printed as scheme://host:port/…
    secret: Secret | None = None
    headers: dict[str, Secret] = {}  # extra headers, e.g. an Authorization token

    @model_validator(mode="after")
    def _one_authorization(self) -> WebhookConfig:
        # aiohttp turns URL userinfo into an Authorization header and refuses a second one
        if urlsplit(self.url.get_secret_value()).username is not None and any(
                k.lower() == "authorization" for k in self.headers):
            raise ValueError("url carries user:password and headers has an Authorization header: "
                             "use one of them")
        return self


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier(BaseNotifier):
    Config = WebhookConfig
    config: WebhookConfig

    async def send(self, event: Event, recipient: str | None = None) -> None:
        body = event.to_json().encode("utf-8")
        headers = {k: v.get_secret_value() for k, v in self.config.headers.items()}
        headers.update({"Content-Type": "application/json", "X-Pantau-Event": event.type,
                        "X-Pantau-Id": event.id, "User-Agent": "pantau"})
        if self.config.secret is not None:
            headers["X-Pantau-Signature"] = sign(self.config.secret.get_secret_value(), body)
        started = time.monotonic()
        status, _ = await post_checked(self.http, self.config.url.get_secret_value(), data=body, headers=headers,
                                       timeout=self.config.timeout, what=f"webhook {self.name}")
        self.last_response = {"status": status, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


NOTIFIER = WebhookNotifier
