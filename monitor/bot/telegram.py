"""The bot on Telegram: long polling (default) or a webhook route, replies with HTML and buttons.

A lean client over aiohttp rather than aiogram: the bot needs five Bot API methods (getUpdates,
sendMessage, editMessageText, answerCallbackQuery, setMyCommands), pantau already owns an aiohttp
session, its error types and its log masking, and the command core already does what aiogram's
routers/filters/middlewares would (roles, rate limit, audit). aiogram 3 would add a dependency
that pins aiohttp and pydantic ranges for no behaviour we lack.

The update offset is persisted BEFORE an update is handled: a restart or kill -9 can lose the
update in hand but never executes it twice. Two pollers on one token get 409 Conflict; that is
logged as ``bot.telegram.conflict`` with what to do, and polling backs off.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import structlog

from ..errors import PantauError
from .access import telegram_identity
from .commands import COMMANDS
from .config import BotConfig, TelegramBotConfig
from .core import BotCore, Reply
from .store import BotStore

log = structlog.get_logger("pantau.bot.telegram")
CHANNEL = "telegram"


class BotApiError(PantauError):
    def __init__(self, method: str, status: int, description: str, retry_after: float | None = None):
        super().__init__(f"{method}: HTTP {status}: {description}")
        self.status, self.description, self.retry_after = status, description, retry_after


class TelegramBot:
    def __init__(self, config: BotConfig, core: BotCore, store: BotStore, http: aiohttp.ClientSession):
        assert config.telegram is not None
        self.bot_config = config
        self.config: TelegramBotConfig = config.telegram
        self.core, self.store, self.http = core, store, http
        self._base = f"{self.config.api_url}/bot{self.config.token.get_secret_value()}"
        # other wings' buttons: callback data "PREFIX:ID:CHOICE" → handler(who, id, choice, message)
        # returning the short answer shown to the presser (e.g. the registration wing's "rg")
        self.callbacks: dict[str, Any] = {}
        # replies to a message the bot sent: handler(who, message) → True when it took the reply
        # (e.g. a rejection reason for a registration request)
        self.reply_handlers: list[Any] = []
        # every message (text or a shared contact) before the command core: handler(who, message) →
        # True when it took it (e.g. the registration wing's /daftar conversation with a stranger)
        self.message_handlers: list[Any] = []

    async def call(self, method: str, payload: dict[str, Any], *, timeout: float = 15.0) -> Any:
        """One Bot API call; the token (in the URL) never reaches an error or a log line."""
        try:
            async with self.http.post(f"{self._base}/{method}", json=payload,
                                      timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                body = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BotApiError(method, 0, f"{type(exc).__name__}: {exc}".replace(self._base, "…")) from None
        try:
            data = json.loads(body)
        except ValueError:
            raise BotApiError(method, status, body[:200]) from None
        if not data.get("ok"):
            retry = (data.get("parameters") or {}).get("retry_after")
            raise BotApiError(method, status or data.get("error_code", 0), str(data.get("description")), retry)
        return data.get("result")

    # -- polling ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Register the menu, then poll forever (run under the supervisor)."""
        await self.register_commands()
        backoff = 1.0
        while True:
            offset = self.store.offset(CHANNEL)
            payload: dict[str, Any] = {"timeout": self.config.poll_timeout,
                                       "allowed_updates": ["message", "callback_query"]}
            if offset is not None:
                payload["offset"] = offset
            try:
                updates = await self.call("getUpdates", payload, timeout=self.config.poll_timeout + 10)
            except BotApiError as exc:
                if exc.status == 409:
                    log.error("bot.telegram.conflict", error=exc.description,
                              hint="another process polls this bot token, or a webhook is set: stop it "
                                   "(or deleteWebhook) — only one getUpdates consumer per token")
                else:
                    log.warning("bot.telegram.poll_failed", error=str(exc))
                await asyncio.sleep(exc.retry_after or backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            for update in updates or []:
                await self.process(update)

    async def process(self, update: dict[str, Any]) -> None:
        """Acknowledge (persist the offset), then handle one update; a failure is logged, not raised."""
        update_id = int(update.get("update_id", 0))
        current = self.store.offset(CHANNEL)
        if current is not None and update_id < current:
            return  # already handled (a webhook retry, or a replay)
        self.store.set_offset(CHANNEL, update_id + 1)
        try:
            if "callback_query" in update:
                await self._callback(update["callback_query"])
            elif "message" in update:
                await self._message(update["message"])
        except BotApiError as exc:
            log.warning("bot.telegram.reply_failed", update_id=update_id, error=str(exc))
        except Exception as exc:  # one bad update must not stop the bot
            log.error("bot.telegram.update_failed", update_id=update_id, error=f"{type(exc).__name__}: {exc}")

    async def _message(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        sender = (message.get("from") or {}).get("id")
        chat = (message.get("chat") or {}).get("id")
        if sender is None or chat is None or not (isinstance(text, str) or "contact" in message):
            return
        who = telegram_identity(self.bot_config, int(sender), int(chat))
        for handler in self.message_handlers:
            if await handler(who, message):
                return
        if not isinstance(text, str):
            return
        if "reply_to_message" in message:
            for handler in self.reply_handlers:
                if await handler(who, message):
                    return
        for reply in await self.core.handle(who, CHANNEL, text, markup="html"):
            await self.send(chat, reply)

    async def _callback(self, query: dict[str, Any]) -> None:
        data = str(query.get("data") or "")
        sender = (query.get("from") or {}).get("id")
        message = query.get("message") or {}
        chat = (message.get("chat") or {}).get("id")
        parts = data.split(":")
        handler = self.callbacks.get(parts[0]) if len(parts) == 3 else None
        if handler is not None and sender is not None and chat is not None:
            who = telegram_identity(self.bot_config, int(sender), int(chat))
            answer = await handler(who, parts[1], parts[2], message)
            await self.call("answerCallbackQuery", {"callback_query_id": query.get("id"), "text": answer[:190]})
            return
        if len(parts) != 3 or parts[0] != "cf" or not parts[1].isdigit() or sender is None or chat is None:
            await self.call("answerCallbackQuery", {"callback_query_id": query.get("id")})
            return
        who = telegram_identity(self.bot_config, int(sender), int(chat))
        replies = await self.core.decide(who, CHANNEL, int(parts[1]), parts[2] == "y", markup="html")
        await self.call("answerCallbackQuery", {"callback_query_id": query.get("id"),
                                                "text": replies[0].pages[0][:190] if replies else ""})
        for reply in replies:  # the result replaces the prompt (reply.edit); a stale press gets a new message
            await self.send(chat, reply)

    async def send(self, chat: int | str, reply: Reply) -> list[int]:
        """Send (or edit) ``reply`` in ``chat``; returns the ids of the new messages."""
        ids: list[int] = []
        for i, page in enumerate(reply.pages):
            payload: dict[str, Any] = {"chat_id": chat, "text": page, "parse_mode": "HTML",
                                       "link_preview_options": {"is_disabled": True}}
            if reply.buttons and i == len(reply.pages) - 1:
                payload["reply_markup"] = {"inline_keyboard": [[{"text": label, "callback_data": data}
                                                                for label, data in reply.buttons]]}
            if reply.edit is not None and i == 0:
                try:
                    await self.call("editMessageText", {**payload, "message_id": int(reply.edit)})
                    continue
                except BotApiError as exc:  # too old to edit, or deleted: send it as a new message
                    log.info("bot.telegram.edit_failed", error=exc.description)
            sent = await self.call("sendMessage", payload)
            if isinstance(sent, dict) and isinstance(sent.get("message_id"), int):
                ids.append(sent["message_id"])
                if reply.pending_id is not None:
                    self.store.set_message(reply.pending_id, str(sent["message_id"]))
        return ids

    async def register_commands(self) -> None:
        """setMyCommands: the default list in the bot's language, plus one per language code
        (Telegram shows the list matching the user's app language)."""
        for language in (None, "id", "en"):
            lang = language or self.bot_config.language
            commands = [{"command": name, "description": c.summary.get(lang, name)[:256]}
                        for name, c in COMMANDS.items() if "." not in name]
            payload: dict[str, Any] = {"commands": commands}
            if language:
                payload["language_code"] = language
            try:
                await self.call("setMyCommands", payload)
            except BotApiError as exc:
                log.warning("bot.telegram.set_commands_failed", language=language, error=str(exc))
