"""Approvals: a verified request goes to the bot's Telegram admins with Setujui / Tolak; the first
press decides (the request row moves out of ``verified`` in one UPDATE, so a second admin, a double
press or a replayed callback does nothing). Approving creates the account through
``provision.provision`` (the router's ``manage:`` user, the package's profile, a generated password,
Mikhmon's comment); the credentials go to the requester over WhatsApp and show on the page while
it is open. Rejecting tells the requester. Every decision is in the bot's audit."""

from __future__ import annotations

import time
from html import escape
from typing import Any

import structlog

from ..bot.core import Reply
from ..delivery.phone import mask_recipient
from ..errors import ConfigError, PantauError, RouterError
from ..events import Event, Source
from ..routeros.config import RouterConfig
from .config import PackageConfig, RegistrationConfig
from .provision import credentials, provision
from .store import RegistrationStore, Request
from .threads import RelayStore

log = structlog.get_logger("pantau.registration")

_WORDS = {
    "rejected": ("Maaf, permintaan akun hotspot Anda ditolak oleh admin. Silakan hubungi admin untuk informasi.",
                 "Sorry, the admin turned down your hotspot account request. Please contact the admin."),
}


def words(key: str, language: str, **values: str) -> str:
    return _WORDS[key][0 if language == "id" else 1].format(**values)


class Approvals:
    def __init__(self, engine: Any, config: RegistrationConfig, store: RegistrationStore, sender: Any,
                 packages: dict[str, PackageConfig], *, threads: RelayStore):
        settings = engine.config.settings
        routers = {r.name: r for r in settings.routers}
        router = routers.get(config.router or "")
        problems = []
        if router is None:
            problems.append(f"registration.router: no router named {config.router!r}")
        elif router.manage is None:
            problems.append(f"registration.router: router {config.router!r} has no manage: user (accounts are "
                            "created through it)")
        bot = getattr(engine, "bot", None)
        if bot is None or getattr(bot, "telegram", None) is None:
            problems.append("registration.router: approvals need the bot on Telegram (bot.telegram)")
        if problems:
            raise ConfigError(problems)
        assert router is not None
        self.engine, self.config, self.store, self.sender, self.packages = engine, config, store, sender, packages
        self.router: RouterConfig = router
        self.telegram = bot.telegram
        self.bot_store = bot.store
        self.timezone = settings.timezone
        self.language = config.language
        self.shown: dict[str, dict[str, str]] = {}  # request id → what its page shows (in memory only)
        for request_id in store.interrupted():
            log.error("registration.interrupted", request=request_id,
                      hint="pantau stopped while creating this account: check the router and tell the requester")
        self.telegram.callbacks["rg"] = self.decide
        self.telegram.reply_handlers.append(self.reason)
        self.threads = threads  # (chat, prompt message id) → rejected request id, kind "reason" (state DB)
        cfg = bot.config
        self.admin_chats = [uid for uid, role in cfg.telegram_users.items() if role == "admin"] + \
                           [gid for gid, role in cfg.telegram_groups.items() if role == "admin"]
        self.origins: Any = None  # SignupStore: a request from /daftar is answered in its Telegram chat

    async def ask(self, request: Request) -> list[str]:
        """Send the request to every admin chat with Setujui / Tolak; returns the chats reached."""
        lines = ["<b>Permintaan akun baru</b>" if self.language == "id" else "<b>New account request</b>",
                 f"Nama: {escape(request.name)}", f"WhatsApp: {escape(request.phone or '-')}",
                 f"Paket: {escape(request.package)}"]
        origin = self.origins.origin(request.id) if self.origins is not None else None
        if origin is not None and origin.channel == "telegram":
            lines.append(f"Lewat: Telegram /daftar ({escape(origin.chat)})")
        if origin is not None and origin.code:  # also for WhatsApp admins: SETUJUI CODE / TOLAK CODE
            lines.append(f"Kode: <code>{escape(origin.code)}</code>")
        if request.message:
            lines.append(f"Pesan: {escape(request.message)}")
        # the admin may approve with another package than the one asked for
        others = [(f"Setujui: {name}", f"rg:{request.id}:p{i}") for i, name in enumerate(self.packages)
                  if name != request.package]
        reply = Reply(["\n".join(lines)], buttons=[("Setujui", f"rg:{request.id}:y"), *others,
                                                   ("Tolak", f"rg:{request.id}:n")])
        reached = []
        for chat in self.admin_chats:
            try:
                ids = await self.telegram.send(chat, reply)
            except PantauError as exc:
                log.warning("registration.ask_failed", chat=chat, error=str(exc))
                continue
            reached.append(str(chat))
            if ids:  # kept (state DB) so a decision anywhere closes this prompt, also after a restart
                self.threads.add_thread(chat, ids[-1], "prompt", request.id, now=time.time())
        return reached

    async def _close_prompts(self, request_id: str, text: str, chat: Any, edit: str | None) -> None:
        """The other admins' prompts of a decided request lose their buttons and say the outcome
        (the deciding prompt is edited by ``decide`` itself; a WhatsApp decision has none)."""
        for other_chat, message_id in self.threads.take_threads_to("prompt", request_id):
            if str(other_chat) == str(chat) and str(message_id) == str(edit):
                continue
            await self._edit(other_chat, text, str(message_id))

    async def decide(self, who: Any, request_id: str, choice: str, message: dict[str, Any], *,
                     channel: str = "telegram", reason: str = "") -> str:
        """One admin's decision (a Telegram button, or a WhatsApp code with ``channel`` and an
        inline rejection ``reason``); returns the short answer for the decider."""
        now = time.time()
        chat = (message.get("chat") or {}).get("id")
        edit = str(message["message_id"]) if "message_id" in message else None
        approve = choice == "y" or (choice[:1] == "p" and choice[1:].isdigit() and int(choice[1:]) < len(self.packages))
        command = "registration.approve" if approve else "registration.reject"
        if not who.may("admin"):
            await self._audit(who, command, [request_id], "denied", "needs admin", now, channel)
            return "Hanya admin." if self.language == "id" else "Admins only."
        request = self.store.get(request_id)
        if request is None or not self.store.claim(request_id, "approving" if approve else "rejected",
                                                   by=who.key):
            state, by, _ = self.store.outcome(request_id) or ("unknown", None, None)
            log.info("registration.decision_stale", identity=who.key, request=request_id, state=state, by=by)
            by = f", {'oleh' if self.language == 'id' else 'by'} {by}" if by else ""
            return f"Sudah diputuskan ({state}{by})." if self.language == "id" else f"Already decided ({state}{by})."
        if not approve:
            label = "Alasan" if self.language == "id" else "Reason"
            await self._tell(request, words("rejected", self.language) + (f"\n{label}: {reason[:500]}" if reason
                                                                         else ""))
            self._show(request_id, {"status": "rejected"})
            await self._audit(who, command, [request_id, request.package], "ok", "with reason" if reason else None,
                              now, channel)
            hint = "Balas pesan ini untuk mengirim alasan ke pemohon." if self.language == "id" else \
                "Reply to this message to send the requester a reason."
            text = f"Ditolak oleh {who.key}: {escape(request.name)}\n{hint}"
            if edit is not None and chat is not None:
                self.threads.add_thread(chat, int(edit), "reason", request_id, now=now)
            await self._edit(chat, text, edit)
            await self._close_prompts(request_id, f"Ditolak oleh {who.key}: {escape(request.name)}", chat, edit)
            return "Ditolak." if self.language == "id" else "Rejected."
        package = self.packages[request.package] if choice == "y" else list(self.packages.values())[int(choice[1:])]
        try:
            account = await provision(self.router, package, name=request.name, phone=request.phone, now=now,
                                      timezone=self.timezone, state_path=self.engine.config.settings.state.path)
        except RouterError as exc:
            self.store.finish(request_id, "failed", detail=str(exc))
            await self._audit(who, command, [request_id, package.name], "router_down", str(exc), now, channel)
            failed = f"Gagal membuat akun: {escape(str(exc))}"
            await self._edit(chat, failed, edit)
            await self._close_prompts(request_id, f"{failed} ({who.key}: {escape(request.name)})", chat, edit)
            return "Gagal." if self.language == "id" else "Failed."
        user = account.user
        self.store.finish(request_id, "approved", username=user, package=package.name)
        text = credentials(account, self.language)
        self._show(request_id, {"status": "approved", "text": text})
        sent = await self._tell(request, text)
        await self._audit(who, command, [request_id, package.name, user], "ok",
                          None if sent else "credentials not delivered", now, channel)
        outcome = (f"Disetujui oleh {who.key}: {escape(request.name)} → "
                   f"{'PPPoE secret' if account.service == 'pppoe' else 'user'} <code>{escape(user)}"
                   f"</code> ({escape(package.profile)})" + ("" if sent else " — WhatsApp gagal"))
        await self._edit(chat, outcome, edit)
        await self._close_prompts(request_id, outcome, chat, edit)
        return "Disetujui." if self.language == "id" else "Approved."

    async def reason(self, who: Any, message: dict[str, Any]) -> bool:
        """An admin's reply to a rejected request's prompt: its text goes to the requester (once)."""
        chat = (message.get("chat") or {}).get("id")
        replied = (message.get("reply_to_message") or {}).get("message_id")
        text = str(message.get("text") or "").strip()
        if not isinstance(replied, int) or chat is None or not text or not who.may("admin"):
            return False
        request_id = self.threads.take_thread(chat, replied, "reason", now=time.time())  # once
        request = self.store.get(request_id) if request_id is not None else None
        if request is None:
            return False
        label = "Alasan" if self.language == "id" else "Reason"
        sent = await self._tell(request, f"{words('rejected', self.language)}\n{label}: {text[:500]}")
        await self._audit(who, "registration.reason", [request_id], "ok" if sent else "failed", None, time.time())
        done = ("Alasan dikirim." if sent else "Alasan gagal dikirim.") if self.language == "id" else \
            ("Reason sent." if sent else "The reason could not be sent.")
        await self._edit(chat, done, None)
        return True

    def _show(self, request_id: str, shown: dict[str, str]) -> None:
        self.shown[request_id] = shown
        while len(self.shown) > 500:  # pages still open are few: forget the oldest
            del self.shown[next(iter(self.shown))]

    async def _tell(self, request: Request, text: str) -> bool:
        """To the requester: over WhatsApp when there is a (verified) number, and to the Telegram
        chat of a /daftar request. True when one of them got it."""
        origin = self.origins.origin(request.id) if self.origins is not None else None
        told = False
        if origin is not None and origin.channel == "telegram" and origin.chat:
            try:
                await self.telegram.send(origin.chat, Reply([escape(text)]))
                told = True
            except PantauError as exc:
                log.warning("registration.tell_failed", request=request.id, channel="telegram", error=str(exc))
        if request.phone:
            try:
                await self.sender.send(request.phone, text)
                told = True
            except PantauError as exc:
                log.warning("registration.tell_failed", request=request.id, phone=mask_recipient(request.phone),
                            error=str(exc))
        return told

    async def _edit(self, chat: Any, text: str, edit: str | None) -> None:
        if chat is None:
            return
        try:
            await self.telegram.send(chat, Reply([text], edit=edit))
        except PantauError as exc:
            log.warning("registration.edit_failed", error=str(exc))

    async def _audit(self, who: Any, command: str, args: list[str], result: str, detail: str | None,
                     now: float, channel: str = "telegram") -> None:
        self.bot_store.audit(at=now, channel=channel, identity=who.key, role=who.role, router=self.router.name,
                             command=command, args=args, result=result, detail=detail)
        log.info("bot.audit", identity=who.key, channel=channel, role=who.role, router=self.router.name,
                 command=command, args=args, result=result)
        kind = "audit.refused" if result == "denied" else "audit.command"
        await self.engine.emit(Event(kind, Source(kind="bot", name=channel),
                                     {"identity": who.key, "channel": channel, "role": who.role,
                                      "router": self.router.name, "command": command, "args": args,
                                      "result": result, "detail": detail}))
