"""Wires the registration page into pantau: its own listener, the WhatsApp notifier that sends the
codes, the state DB, and the ``registration.verified`` event for a verified request (route it to
the admins like any other event)."""

from __future__ import annotations

import time
from typing import Any

import structlog

from ..delivery.current import CurrentProvider
from ..delivery.phone import mask_recipient
from ..errors import ConfigError
from ..events import Event, Source
from ..web.config import HttpConfig
from ..web.server import WebServer
from .chat import ChatPage
from .config import RegistrationConfig
from .page import RegistrationPage
from .store import RegistrationStore, Request
from .threads import RelayStore

log = structlog.get_logger("pantau.registration")


class RegistrationService:
    def __init__(self, engine: Any, config: RegistrationConfig):
        self.engine, self.config = engine, config
        notifier = engine.notifiers.get(config.notifier)
        provider = getattr(notifier, "provider", None)
        if provider is None or getattr(getattr(notifier, "config", None), "type", None) != "whatsapp":
            raise ConfigError([f"registration.notifier: {config.notifier!r} must be the name of a whatsapp "
                               "notifier (it sends the one-time codes)"])
        self.provider = CurrentProvider(engine.notifiers, config.notifier)  # a reload's new settings apply
        self.store = RegistrationStore(engine.config.settings.state.path)
        self.page = RegistrationPage(config, self.store, send_code=self.provider.send, on_verified=self.verified,
                                     country_code=notifier.config.country_code)
        self.approvals: Any = None
        self.codes: Any = None  # approval_codes.CodeApprovals: WhatsApp admins answer SETUJUI K7F2
        self.signup: Any = None  # signup.TelegramSignup: /daftar in the bot
        self.origins: Any = None
        self.self_service: Any = None
        # relayed messages, page chats and rejection-reason prompts, kept across restarts
        self.threads = RelayStore(engine.config.settings.state.path, keep=config.relay_keep)
        if config.chat:
            self.page.chat = ChatPage(self.page, self.threads)
        self._asked: dict[str, list[str]] = {}  # request id → chats its approval post reached
        self.web = WebServer(HttpConfig(listen=config.listen))
        self.web.add_routes(self.page.routes())

    async def start(self) -> None:
        if self.config.router is not None:  # after the bot started: the buttons go through its Telegram
            from .approval import Approvals
            from .approval_codes import CodeApprovals
            from .signup_store import SignupStore

            self.approvals = Approvals(self.engine, self.config, self.store, self.provider, self.page.packages,
                                       threads=self.threads)
            self.page.status_of = self.approvals.shown.get
            self.origins = self.approvals.origins = SignupStore(self.engine.config.settings.state.path)
            self.codes = CodeApprovals(self.approvals, self.origins, self.engine.bot, language=self.config.language)
            if self.config.telegram_signup:
                from .signup import TelegramSignup

                self.signup = TelegramSignup(self, self.origins)
        if self.config.self_service:
            self._start_self_service()
        self._start_relay()
        pruned = self.threads.prune(time.time())  # expired relay threads, reason prompts, page chats
        if pruned:
            log.info("relay.pruned", rows=pruned)
        try:
            await self.web.start()
        except ConfigError as exc:
            raise ConfigError([p.replace("http.listen", "registration.listen") for p in exc.problems]) from None

    def _start_self_service(self) -> None:
        from .selfservice import SelfService

        bot = getattr(self.engine, "bot", None)
        if bot is None or getattr(bot, "whatsapp", None) is None:
            raise ConfigError(["registration.self_service: needs the bot's WhatsApp inbound (bot.whatsapp)"])
        settings = self.engine.config.settings
        routers = [r for r in settings.routers if "hotspot" in r.watch]
        self.self_service = SelfService(routers, timezone=settings.timezone, language=self.config.language,
                                        link=self.config.link)
        bot.whatsapp.fallback = self.self_service.answer

    def _start_relay(self) -> None:
        """The live chat relay to the bot's Telegram admins: for self-service numbers (when the bot is
        on Telegram) and for the page chat (which needs it)."""
        bot = getattr(self.engine, "bot", None)
        telegram = getattr(bot, "telegram", None)
        if telegram is None:
            if self.config.chat:
                raise ConfigError(["registration.chat: needs the bot on Telegram (bot.telegram): the admins "
                                   "answer there"])
            return
        if self.self_service is None and not self.config.chat:
            return
        from .relay import Relay

        cfg = bot.config
        admins = [uid for uid, role in cfg.telegram_users.items() if role == "admin"] + \
                 [gid for gid, role in cfg.telegram_groups.items() if role == "admin"]
        relay = Relay(telegram, admins, self.provider, self.threads, language=self.config.language)
        if self.self_service is not None:
            self.self_service.relay = relay
        if self.page.chat is not None:
            self.page.chat.relay = relay
        log.info("relay.started", admin_chats=len(admins), chat=self.config.chat)

    async def verified(self, request: Request) -> None:
        """The request with buttons to the admins first, then the event: a route's Telegram target
        whose chat already got the buttons is skipped (``covered``), so each chat sees it once."""
        package = self.page.packages[request.package]
        log.info("registration.verified", request=request.id, phone=mask_recipient(request.phone),
                 package=request.package)
        if self.approvals is not None:
            await self.codes.ask(request)  # gives the request its code, shown to Telegram admins too
            self._asked[request.id] = await self.approvals.ask(request)
        await self.engine.emit(Event("registration.verified", Source(kind="pantau", name="registration"),
                                     {"request": request.id, "name": request.name, "phone": request.phone,
                                      "package": package.name, "profile": package.profile,
                                      "message": request.message or None}))
        self._asked.pop(request.id, None)

    def covered(self, event: Event, names: list[str]) -> list[str]:
        """The notifiers ``event`` still goes to: for ``registration.verified``, a Telegram notifier
        whose chat got the approval request with its buttons is left out (that post is its delivery)."""
        chats = self._asked.get(str(event.data.get("request"))) if event.type == "registration.verified" else None
        if not chats:
            return names
        skipped = [name for name in names if _telegram_chat(self.engine.notifiers.get(name)) in chats]
        if skipped:
            log.info("registration.route_covered", request=event.data.get("request"), skipped=skipped,
                     reason="the approval request with buttons went to the same chat")
        return [name for name in names if name not in skipped]

    async def aclose(self) -> None:
        await self.web.aclose()
        self.store.close()
        if self.origins is not None:
            self.origins.close()
        self.threads.close()


def _telegram_chat(notifier: Any) -> str | None:
    config = getattr(notifier, "config", None)
    return str(config.chat_id) if getattr(config, "type", None) == "telegram" else None
