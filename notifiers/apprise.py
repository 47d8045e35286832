"""``type: apprise`` — 100+ services (Discord, Slack, email, Matrix, Pushover, ntfy, …) through the
Apprise library's URL schemes. Optional: ``pip install "pantau[apprise]"``.

Each URL in ``urls`` is its own outbox recipient (``#0 json``, ``#1 discord`` …: never the URL,
which holds tokens), so a failing service is retried alone and never re-sends to the others.
Apprise only answers True/False; the reason is in its log, which is captured per call (its HTTP
status decides: 408/425/429/5xx and connection errors are retryable, other 4xx are not).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any, Literal

import jinja2
from pydantic import Field, field_validator

from monitor.config.types import Secret
from monitor.delivery.notify import BaseNotifier, NotifierContext
from monitor.delivery.peer_http import snippet
from monitor.delivery.templates.renderer import MessageConfig, TemplateRenderer
from monitor.errors import NotifyError
from monitor.events import Event
from monitor.redaction import scrub

try:  # an optional extra: the type is listed either way, the config says how to install it
    import apprise as apprise_lib
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    apprise_lib = None

_STATUS = re.compile(r"(?:error=|\()(\d{3})\b")
_RETRYABLE_STATUS = {408, 425, 429}


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


class AppriseConfig(MessageConfig):
    type: Literal["apprise"]
    urls: list[Secret] = Field(min_length=1)  # Apprise URLs: they carry tokens, so secrets
    title: bool = True  # the message's first line as the title (services that show one)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[Secret]) -> list[Secret]:
        if apprise_lib is None:
            raise ValueError("type apprise needs the apprise library: pip install \"pantau[apprise]\"")
        for i, url in enumerate(urls):
            if apprise_lib.Apprise.instantiate(url.get_secret_value()) is None:
                raise ValueError(f"[{i}]: not a valid Apprise URL ({_scheme(url.get_secret_value())}://…; "
                                 "see https://github.com/caronc/apprise/wiki)")
        return urls


class _Capture(logging.Handler):
    """Apprise's warnings for one call, on the thread making it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


class AppriseNotifier(BaseNotifier):
    Config = AppriseConfig
    config: AppriseConfig

    def __init__(self, config: AppriseConfig, context: NotifierContext):
        super().__init__(config, context)
        self.renderer = TemplateRenderer.from_config(config, markup="text", base_dir=context.config_dir)
        self.services = {f"#{i} {_scheme(u.get_secret_value())}": apprise_lib.Apprise.instantiate(u.get_secret_value())
                         for i, u in enumerate(config.urls)}
        self.last_response: dict[str, Any] | None = None

    def validate(self, path_prefix: str = "") -> None:
        self.renderer.validate(path_prefix)

    def recipients(self, event: Event) -> list[str | None]:
        return list(self.services)

    async def send(self, event: Event, recipient: str | None = None) -> None:
        await self._deliver(self._render(lambda: self.renderer.render(event), event.type), recipient)

    async def send_digest(self, events: list[Event], recipient: str | None = None) -> None:
        await self._deliver(self._render(lambda: self.renderer.render_digest(events), "digest"), recipient)

    async def _deliver(self, text: str, recipient: str | None) -> None:
        for name in [recipient] if recipient is not None else list(self.services):
            service = self.services.get(name)
            if service is None:
                raise NotifyError(f"Apprise: no service {name!r} (urls changed?)", retryable=False)
            title, body = self._split(text)
            try:
                ok, messages = await asyncio.wait_for(asyncio.to_thread(self._notify, service, title, body),
                                                      self.config.timeout)
            except TimeoutError:
                raise NotifyError(f"Apprise {name} did not answer within {self.config.timeout:g}s",
                                  retryable=True) from None
            if not ok:
                raise self._error(name, messages)
            self.last_response = {"ok": True, "service": name}

    def _notify(self, service: Any, title: str, body: str) -> tuple[bool, list[str]]:
        capture = _Capture()
        logger = logging.getLogger("apprise")
        logger.addHandler(capture)
        try:
            return bool(service.notify(body=body, title=title)), capture.messages
        except Exception as exc:  # a plugin bug: report it like a failure, retry it
            return False, [*capture.messages, f"{type(exc).__name__}: {exc}"]
        finally:
            logger.removeHandler(capture)

    def _error(self, name: str, messages: list[str]) -> NotifyError:
        text = self._scrub(snippet("; ".join(messages) or "the service refused (no reason given)", 300))
        match = next((m for m in map(_STATUS.search, messages) if m), None)
        status = int(match.group(1)) if match else None
        retryable = status is None or status >= 500 or status in _RETRYABLE_STATUS
        if not retryable:
            self.log.warning("apprise.rejected", service=name, status=status, error=text)
        self.last_response = {"ok": False, "service": name, "status": status, "error": text}
        return NotifyError(f"Apprise {name}: {text}", retryable=retryable, status=status)

    def _split(self, text: str) -> tuple[str, str]:
        if not self.config.title or "\n" not in text.strip():
            return "", text
        first, rest = text.strip().split("\n", 1)
        return first.replace("*", "").strip(), rest.strip() or first  # WhatsApp-style *bold* marks

    def _scrub(self, text: str) -> str:
        # the shared scrub masks fragments too: Apprise may echo a URL's token or password alone
        return scrub(text, [url.get_secret_value() for url in self.config.urls])

    def _render(self, fn: Any, what: str) -> str:
        try:
            return fn()
        except (jinja2.TemplateError, OSError) as exc:
            raise NotifyError(f"template for {what} failed: {exc}", retryable=False) from None


NOTIFIER = AppriseNotifier
