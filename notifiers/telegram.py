"""Telegram Bot API notifier (``type: telegram``): sendMessage with HTML parse mode.

Every interpolated value is HTML-escaped by the template renderer; messages longer than Telegram's
4096 characters are split between lines, open tags closed at each cut and reopened in the next part
(notifiers/telegram_split.py). Errors become NotifyError with Telegram's own
``description``; the bot token (part of the URL) never appears in a message or log line.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Literal

import jinja2
from pydantic import field_validator

from monitor.config.types import HttpUrlSecret, Secret, SecretUrl
from monitor.delivery.notify import BaseNotifier, NotifierContext
from monitor.delivery.peer_http import request, snippet
from monitor.delivery.templates.renderer import MessageConfig, TemplateRenderer
from monitor.errors import NotifyError
from monitor.events import Event
from monitor.redaction import scrub

from .telegram_split import MAX_LENGTH, split_message

__all__ = ["MAX_LENGTH", "NOTIFIER", "TelegramConfig", "TelegramNotifier", "split_message"]

_CHANNEL = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,}$")
_PROGRESS_KEEP = 256  # multi-part messages whose sent parts we remember (resume after a failed part)


class TelegramConfig(MessageConfig):
    type: Literal["telegram"]
    token: Secret
    chat_id: int | str
    message_thread_id: int | None = None
    api_url: HttpUrlSecret = SecretUrl("https://api.telegram.org")  # a self-hosted Bot API may carry a key
    silent_for: list[str] = []  # event-type globs sent with disable_notification
    link_preview: bool = False

    @field_validator("chat_id")
    @classmethod
    def _chat_id(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            return value
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if _CHANNEL.match(text):
            return text
        raise ValueError(f"chat_id must be a number (negative for groups) or @channelname, not {value!r}")

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: SecretUrl) -> SecretUrl:
        return SecretUrl(value.get_secret_value().rstrip("/"))


class TelegramNotifier(BaseNotifier):
    Config = TelegramConfig
    config: TelegramConfig

    def __init__(self, config: TelegramConfig, context: NotifierContext):
        super().__init__(config, context)
        self.renderer = TemplateRenderer.from_config(
            config, markup="html", base_dir=context.config_dir)
        self.last_response: dict[str, Any] | None = None
        self._progress: dict[tuple, int] = {}

    # -- capabilities read by the engine and the outbox -------------------------------------------

    def validate(self, path_prefix: str = "") -> None:
        """Raise ConfigError naming ``{path_prefix}.templates.<key>`` for a broken template."""
        self.renderer.validate(path_prefix)

    def rate_limit(self, recipient: str | None = None) -> list[tuple[int, float]]:
        """1 message/s per chat; groups and channels additionally 20 per minute (Bot API limits)."""
        chat = self.config.chat_id if recipient is None else recipient
        is_group = (isinstance(chat, int) and chat < 0) or str(chat).startswith(("-", "@"))
        return [(1, 1.0), (20, 60.0)] if is_group else [(1, 1.0)]

    async def send(self, event: Event, recipient: str | None = None) -> None:
        text = self._render(lambda: self.renderer.render(event), event.type)
        await self._deliver(text, key=(event.id,), silent=self._silent([event.type]))

    async def send_digest(self, events: list[Event], recipient: str | None = None) -> None:
        text = self._render(lambda: self.renderer.render_digest(events), "digest")
        key = ("digest", *(e.id for e in events))
        await self._deliver(text, key=key, silent=self._silent([e.type for e in events]))

    # -- internals --------------------------------------------------------------------------------

    def _render(self, fn: Any, what: str) -> str:
        try:
            return fn()
        except (jinja2.TemplateError, OSError) as exc:
            self.log.error("notify.template_failed", template=what, error=str(exc))
            raise NotifyError(f"template for {what} failed: {exc}", retryable=False) from None

    def _silent(self, types: list[str]) -> bool:
        return bool(types) and all(any(fnmatch.fnmatchcase(t, g) for g in self.config.silent_for)
                                   for t in types)

    async def _deliver(self, text: str, *, key: tuple, silent: bool) -> None:
        parts = split_message(text)
        start = self._progress.get(key, 0)  # parts already accepted by an earlier, failed attempt
        result: dict[str, Any] = {}
        for index in range(start, len(parts)):
            try:
                result = await self._send_part(parts[index], silent)
            except NotifyError as exc:
                exc.partial = index > 0  # parts before it were accepted: the retry resumes here
                raise
            self._progress[key] = index + 1
            while len(self._progress) > _PROGRESS_KEEP:
                self._progress.pop(next(iter(self._progress)))
        self._progress.pop(key, None)
        self.last_response = {"ok": True, "message_id": result.get("message_id"),
                              "chat_id": (result.get("chat") or {}).get("id", self.config.chat_id),
                              "parts": len(parts)}
        self.log.debug("notify.sent", parts=len(parts), message_id=result.get("message_id"))

    async def _send_part(self, text: str, silent: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"chat_id": self.config.chat_id, "text": text, "parse_mode": "HTML",
                                   "link_preview_options": {"is_disabled": not self.config.link_preview}}
        if self.config.message_thread_id is not None:
            payload["message_thread_id"] = self.config.message_thread_id
        if silent:
            payload["disable_notification"] = True
        url = f"{self.config.api_url.get_secret_value()}/bot{self.config.token.get_secret_value()}/sendMessage"
        reply = await request(self.http, url, json=payload, timeout=self.config.timeout, what="Telegram")
        data = reply.data if isinstance(reply.data, dict) else {}
        if 200 <= reply.status < 300 and data.get("ok") is True:
            return data.get("result") if isinstance(data.get("result"), dict) else {}
        raise self._error(reply.status, data, reply.text, reply.retry_after)

    def _error(self, status: int, data: dict[str, Any], body: str, header_retry: float | None) -> NotifyError:
        description = self._scrub(str(data.get("description") or snippet(body) or "no description"))
        params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        code = data.get("error_code") if isinstance(data.get("error_code"), int) else status
        if params.get("migrate_to_chat_id"):
            new_id = params["migrate_to_chat_id"]
            self.log.warning("telegram.chat_migrated", chat=self.config.chat_id, new_chat_id=new_id)
            self.last_response = {"ok": False, "error_code": code, "description": description}
            return NotifyError(f"Telegram {code}: {description} (the group became a supergroup: "
                               f"set chat_id to {new_id})", retryable=False, status=status)
        if code == 429 or status == 429:
            retry_after = params.get("retry_after")
            retry_after = float(retry_after) if isinstance(retry_after, int | float) else header_retry
            return NotifyError(f"Telegram {code}: {description}", retryable=True,
                               retry_after=retry_after, status=status)
        hint = {401: " (check the bot token)", 404: " (check the bot token and api_url)"}.get(status, "")
        retryable = status >= 500 or status == 408 or (200 <= status < 300)
        self.last_response = {"ok": False, "error_code": code, "description": description}
        if not retryable:
            self.log.warning("telegram.rejected", status=status, error=description + hint,
                             chat=self.config.chat_id)
        return NotifyError(f"Telegram {code}: {description}{hint}", retryable=retryable, status=status)

    def _scrub(self, text: str) -> str:
        return scrub(text, [self.config.token.get_secret_value(), self.config.api_url.get_secret_value()])


NOTIFIER = TelegramNotifier
