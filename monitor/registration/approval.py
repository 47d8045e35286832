"""Approvals: a verified request goes to the bot's Telegram admins with Setujui / Tolak; the first
press decides (the request row moves out of ``verified`` in one UPDATE, so a second admin, a double
press or a replayed callback does nothing). Approving creates the hotspot user through the router's
``manage:`` user — the package's profile created or updated first when the package sets a rate
limit, shared users or a session timeout — with a generated password and the phone and expiry in
the comment in Mikhmon's format; the credentials go to the requester over WhatsApp and show on the
page while it is open. Rejecting tells the requester. Every decision is in the bot's audit."""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from ..bot.commands.hotspot_manage import new_code
from ..bot.core import Reply
from ..delivery.phone import mask_recipient
from ..errors import ConfigError, PantauError, RouterError
from ..events import Event, Source
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig
from ..subscriptions.mikhmon import format_expiry
from .config import PackageConfig, RegistrationConfig
from .store import RegistrationStore, Request

log = structlog.get_logger("pantau.registration")

USER, PROFILE = "/ip/hotspot/user", "/ip/hotspot/user/profile"
_WORDS = {
    "approved": ("Akun hotspot Anda sudah aktif.\nUser: {user}\nSandi: {password}\nPaket: {package}{until}",
                 "Your hotspot account is ready.\nUser: {user}\nPassword: {password}\nPackage: {package}{until}"),
    "until": ("\nBerlaku sampai: {when}", "\nValid until: {when}"),
    "rejected": ("Maaf, permintaan akun hotspot Anda ditolak oleh admin. Silakan hubungi admin untuk informasi.",
                 "Sorry, the admin turned down your hotspot account request. Please contact the admin."),
}


def words(key: str, language: str, **values: str) -> str:
    return _WORDS[key][0 if language == "id" else 1].format(**values)


def routeros_duration(seconds: float) -> str:
    """3600 → ``1h``, 90000 → ``1d1h``: the form RouterOS takes for session-timeout."""
    left, out = int(seconds), ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            out += f"{left // size}{unit}"
            left %= size
    return out or "0s"


def profile_attrs(package: PackageConfig) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if package.rate_limit:
        attrs["rate-limit"] = package.rate_limit
    if package.shared_users is not None:
        attrs["shared-users"] = str(package.shared_users)
    if package.session_timeout is not None:
        attrs["session-timeout"] = routeros_duration(package.session_timeout)
    return attrs


def username_base(name: str) -> str:
    return (re.sub(r"[^a-z0-9]", "", name.lower().split()[0] if name.split() else "") or "user")[:12]


async def create_account(client: RouterClient, package: PackageConfig, request: Request, *,
                         expiry: datetime | None) -> tuple[str, str]:
    """Ensure the profile, add the user; returns (user name, password)."""
    attrs = profile_attrs(package)
    if attrs:
        rows = await client.print(PROFILE, queries=[f"?name={package.profile}"])
        if rows:
            await client.command(f"{PROFILE}/set", {".id": rows[0][".id"], **attrs})
        else:
            await client.command(f"{PROFILE}/add", {"name": package.profile, **attrs})
    v7 = False
    if expiry is not None:
        resource = await client.print("/system/resource")
        v7 = str((resource[0] if resource else {}).get("version", "")).startswith("7")
    comment = " ".join(p for p in (format_expiry(expiry, v7=v7) if expiry else None, f"WA {request.phone}",
                                   "pantau") if p)
    base = username_base(request.name)
    for _ in range(10):
        name = f"{base}{secrets.randbelow(900) + 100}"
        if not await client.print(USER, queries=[f"?name={name}"]):
            break
    else:
        raise RouterError("no free user name")
    password = new_code(8)
    await client.command(f"{USER}/add", {"name": name, "password": password, "profile": package.profile,
                                         "comment": comment})
    return name, password


class Approvals:
    def __init__(self, engine: Any, config: RegistrationConfig, store: RegistrationStore, sender: Any,
                 packages: dict[str, PackageConfig]):
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
        self.tz = ZoneInfo(settings.timezone)
        self.language = config.language
        self.shown: dict[str, dict[str, str]] = {}  # request id → what its page shows (in memory only)
        for request_id in store.interrupted():
            log.error("registration.interrupted", request=request_id,
                      hint="pantau stopped while creating this account: check the router and tell the requester")
        self.telegram.callbacks["rg"] = self.decide
        self.telegram.reply_handlers.append(self.reason)
        self._rejected: dict[tuple[Any, int], str] = {}  # (chat, prompt message id) → request id (memory)
        cfg = bot.config
        self.admin_chats = [uid for uid, role in cfg.telegram_users.items() if role == "admin"] + \
                           [gid for gid, role in cfg.telegram_groups.items() if role == "admin"]

    async def ask(self, request: Request) -> list[str]:
        """Send the request to every admin chat with Setujui / Tolak; returns the chats reached."""
        lines = ["<b>Permintaan akun baru</b>" if self.language == "id" else "<b>New account request</b>",
                 f"Nama: {escape(request.name)}", f"WhatsApp: {escape(request.phone)}",
                 f"Paket: {escape(request.package)}"]
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
                await self.telegram.send(chat, reply)
                reached.append(str(chat))
            except PantauError as exc:
                log.warning("registration.ask_failed", chat=chat, error=str(exc))
        return reached

    async def decide(self, who: Any, request_id: str, choice: str, message: dict[str, Any]) -> str:
        now = time.time()
        chat = (message.get("chat") or {}).get("id")
        edit = str(message["message_id"]) if "message_id" in message else None
        approve = choice == "y" or (choice[:1] == "p" and choice[1:].isdigit() and int(choice[1:]) < len(self.packages))
        command = "registration.approve" if approve else "registration.reject"
        if not who.may("admin"):
            await self._audit(who, command, [request_id], "denied", "needs admin", now)
            return "Hanya admin." if self.language == "id" else "Admins only."
        request = self.store.get(request_id)
        if request is None or not self.store.claim(request_id, "approving" if approve else "rejected",
                                                   by=who.key):
            state = request.status if request else "unknown"
            log.info("registration.decision_stale", identity=who.key, request=request_id, state=state)
            return f"Sudah diputuskan ({state})." if self.language == "id" else f"Already decided ({state})."
        if not approve:
            await self._tell(request, words("rejected", self.language))
            self._show(request_id, {"status": "rejected"})
            await self._audit(who, command, [request_id, request.package], "ok", None, now)
            hint = "Balas pesan ini untuk mengirim alasan ke pemohon." if self.language == "id" else \
                "Reply to this message to send the requester a reason."
            text = f"Ditolak oleh {who.key}: {escape(request.name)}\n{hint}"
            if edit is not None:
                self._rejected[(chat, int(edit))] = request_id
                while len(self._rejected) > 500:
                    del self._rejected[next(iter(self._rejected))]
            await self._edit(chat, text, edit)
            return "Ditolak." if self.language == "id" else "Rejected."
        package = self.packages[request.package] if choice == "y" else list(self.packages.values())[int(choice[1:])]
        expiry = (datetime.fromtimestamp(now, self.tz) + timedelta(seconds=package.validity)).replace(microsecond=0) \
            if package.validity else None
        manage = self.router.manage
        assert manage is not None
        try:
            client = await RouterClient.for_router(self.router, username=manage.username,
                                                   password=manage.password.get_secret_value())
            try:
                user, password = await create_account(client, package, request, expiry=expiry)
            finally:
                await client.close()
        except RouterError as exc:
            self.store.finish(request_id, "failed", detail=str(exc))
            await self._audit(who, command, [request_id, package.name], "router_down", str(exc), now)
            await self._edit(chat, f"Gagal membuat akun: {escape(str(exc))}", edit)
            return "Gagal." if self.language == "id" else "Failed."
        self.store.finish(request_id, "approved", username=user, package=package.name)
        until = words("until", self.language, when=expiry.strftime("%d/%m/%Y %H:%M")) if expiry else ""
        credentials = words("approved", self.language, user=user, password=password, package=package.name,
                            until=until)
        self._show(request_id, {"status": "approved", "text": credentials})
        sent = await self._tell(request, credentials)
        await self._audit(who, command, [request_id, package.name, user], "ok",
                          None if sent else "credentials not delivered over WhatsApp", now)
        await self._edit(chat, f"Disetujui oleh {who.key}: {escape(request.name)} → user <code>{escape(user)}"
                               f"</code> ({escape(package.profile)})" + ("" if sent else " — WhatsApp gagal"), edit)
        return "Disetujui." if self.language == "id" else "Approved."

    async def reason(self, who: Any, message: dict[str, Any]) -> bool:
        """An admin's reply to a rejected request's prompt: its text goes to the requester (once)."""
        chat = (message.get("chat") or {}).get("id")
        replied = (message.get("reply_to_message") or {}).get("message_id")
        request_id = self._rejected.get((chat, replied)) if isinstance(replied, int) else None
        text = str(message.get("text") or "").strip()
        if request_id is None or not text or not who.may("admin"):
            return False
        del self._rejected[(chat, replied)]
        request = self.store.get(request_id)
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
        try:
            await self.sender.send(request.phone, text)
            return True
        except PantauError as exc:
            log.warning("registration.tell_failed", request=request.id, phone=mask_recipient(request.phone),
                        error=str(exc))
            return False

    async def _edit(self, chat: Any, text: str, edit: str | None) -> None:
        if chat is None:
            return
        try:
            await self.telegram.send(chat, Reply([text], edit=edit))
        except PantauError as exc:
            log.warning("registration.edit_failed", error=str(exc))

    async def _audit(self, who: Any, command: str, args: list[str], result: str, detail: str | None,
                     now: float) -> None:
        self.bot_store.audit(at=now, channel="telegram", identity=who.key, role=who.role, router=self.router.name,
                             command=command, args=args, result=result, detail=detail)
        log.info("bot.audit", identity=who.key, channel="telegram", role=who.role, router=self.router.name,
                 command=command, args=args, result=result)
        kind = "audit.refused" if result == "denied" else "audit.command"
        await self.engine.emit(Event(kind, Source(kind="bot", name="telegram"),
                                     {"identity": who.key, "channel": "telegram", "role": who.role,
                                      "router": self.router.name, "command": command, "args": args,
                                      "result": result, "detail": detail}))
