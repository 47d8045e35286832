"""Wiring the bot into the engine: one core, its store, the Telegram poller or webhook route, and
the WhatsApp webhook route. Called by Engine.start() before the HTTP server starts."""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from aiohttp import web

from ..errors import ConfigError
from .config import BotConfig
from .core import BotCore
from .store import BotStore

log = structlog.get_logger("pantau.bot")


class BotService:
    def __init__(self, engine: Any):
        settings = engine.config.settings
        self.config: BotConfig = settings.bot
        self.engine = engine
        self.store = BotStore(settings.state.path)
        self.core = BotCore(self.config, settings.routers, self.store, state_path=settings.state.path,
                            emit=engine.emit, probe=engine.probe)
        self.telegram: Any = None
        self.whatsapp: Any = None

    def start(self) -> None:
        """Spawn the poller and add webhook routes (the HTTP server is not started yet)."""
        cfg = self.config
        needs_http = (cfg.telegram is not None and cfg.telegram.mode == "webhook") or cfg.whatsapp is not None
        if needs_http and self.engine.web is None:
            raise ConfigError(["bot: a webhook (telegram mode: webhook, or whatsapp) needs `http: {listen: …}`"])
        if cfg.telegram is not None:
            from .telegram import TelegramBot

            self.telegram = TelegramBot(cfg, self.core, self.store, self.engine.http)
            if cfg.telegram.mode == "polling":
                self.engine.supervisor.spawn("bot:telegram", self.telegram.run)
            else:
                self.engine.supervisor.spawn("bot:telegram-commands", self._register_once)
                self.engine.web.add_routes([web.post("/bot/telegram", self._telegram_webhook)])
        if cfg.whatsapp is not None:
            from .whatsapp import WhatsAppBot

            self.whatsapp = WhatsAppBot(cfg, self.core, self.engine)
            self.engine.web.add_routes(self.whatsapp.routes())
        log.info("bot.started", telegram=cfg.telegram.mode if cfg.telegram else None,
                 whatsapp=cfg.whatsapp.provider if cfg.whatsapp else None)

    async def _register_once(self) -> None:
        await self.telegram.register_commands()
        import asyncio

        await asyncio.Event().wait()  # nothing more to do; stays "running" for /healthz

    async def _telegram_webhook(self, request: web.Request) -> web.Response:
        assert self.config.telegram is not None and self.config.telegram.webhook_secret is not None
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given, self.config.telegram.webhook_secret.get_secret_value()):
            log.warning("bot.refused", channel="telegram", reason="bad webhook secret token")
            return web.Response(status=401)
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400)
        await self.telegram.process(update)
        return web.json_response({"ok": True})

    def close(self) -> None:
        self.store.close()
