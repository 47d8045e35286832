"""/daftar: registration through the bot's Telegram for people on none of the bot's lists.

Public commands (the only ones a stranger may use; everything else is refused as before):
``/start``, ``/bantuan``/``/help`` (what /daftar does), ``/daftar`` and ``/batal``. The
conversation, in a private chat only: the package (inline buttons, or ``/daftar PAKET NAMA`` as
text), the name, then optionally the WhatsApp number — shared with Telegram's "share contact"
button (accepted only when the contact's ``user_id`` is the sender: Telegram vouches for that
number, no code needed), typed (then it gets the page's one-time code over WhatsApp first), or
skipped. The request then joins the page's requests (same store, same bound, same admin approval)
with its Telegram chat as origin, where the answer goes. Each step is saved in the state DB, so a
restart continues the conversation. Limits: conversations per Telegram user per window, the bot's
per-identity rate limit on every message, one open request per user, ``max_pending``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from html import escape
from typing import Any

import structlog

from ..bot.core import Reply
from ..delivery.phone import mask_recipient, normalize_msisdn
from ..errors import PantauError
from .limits import WindowLimit
from .signup_store import Conversation, SignupStore
from .text import text as page_text

log = structlog.get_logger("pantau.registration")

CONVERSATION_TTL = 3600.0  # an idle /daftar conversation is forgotten after an hour
SKIP = {"lewati", "skip", "-"}
_T = {
    "help": ("Bot ini untuk admin jaringan. Ingin akun hotspot? Kirim /daftar: pilih paket, tulis nama Anda, "
             "admin akan menyetujui dan akun dikirim ke sini.\n/batal menghentikan pendaftaran.",
             "This bot is for the network's admins. Want a hotspot account? Send /daftar: choose a package, "
             "give your name; once an admin approves, the account is sent here.\n/batal stops the registration."),
    "packages": ("Pilih paket dengan tombol di bawah, atau ketik /daftar PAKET NAMA.\n{list}",
                 "Choose a package with the buttons below, or type /daftar PACKAGE NAME.\n{list}"),
    "bad_package": ("Paket {package} tidak ada.", "There is no package {package}."),
    "name": ("Paket: {package}\nKetik nama Anda:", "Package: {package}\nType your name:"),
    "phone": ("Nomor WhatsApp (boleh dilewati): tekan \u00ab{share}\u00bb untuk membagikan nomor Telegram Anda, "
              "ketik nomor lain (kode verifikasi dikirim ke WhatsApp itu), atau tekan \u00ab{skip}\u00bb.",
              "WhatsApp number (optional): press \u00ab{share}\u00bb to share your Telegram number, type another "
              "number (a verification code goes to that WhatsApp), or press \u00ab{skip}\u00bb."),
    "share": ("Bagikan nomor saya", "Share my number"),
    "skip": ("Lewati", "Skip"),
    "not_yours": ("Hanya nomor Telegram Anda sendiri yang bisa dibagikan di sini. Ketik nomornya untuk menerima "
                  "kode verifikasi, atau tekan \u00ab{skip}\u00bb.",
                  "Only your own Telegram number can be shared here. Type the number to get a verification code, "
                  "or press \u00ab{skip}\u00bb."),
    "code_sent": ("Kode verifikasi dikirim ke WhatsApp {phone}. Ketik kodenya di sini.",
                  "A verification code was sent to WhatsApp {phone}. Type it here."),
    "done": ("Terima kasih, {name}. Permintaan Anda diteruskan ke admin; jawabannya dikirim ke sini.",
             "Thank you, {name}. Your request went to the admin; the answer comes here."),
    "waiting": ("Permintaan Anda masih menunggu keputusan admin.", "Your request is still waiting for the admin."),
    "cancelled": ("Pendaftaran dibatalkan.", "Registration cancelled."),
    "nothing": ("Tidak ada pendaftaran yang berjalan. Kirim /daftar untuk mulai.",
                "No registration in progress. Send /daftar to start."),
}


def _t(key: str, lang: str, **values: str) -> str:
    return _T[key][0 if lang == "id" else 1].format(**values)


class TelegramSignup:
    def __init__(self, service: Any, origins: SignupStore, *, clock: Callable[[], float] = time.time):
        bot = service.engine.bot
        self.service, self.config, self.store = service, service.config, service.store
        self.origins, self.clock = origins, clock
        self.packages = service.page.packages
        self.lang = self.config.language
        self.telegram, self.core = bot.telegram, bot.core
        self.per_user = WindowLimit(self.config.per_telegram_user, self.config.window)
        self.per_number = service.page.per_number  # one budget per number, page and bot together
        self.core.public.update({"daftar": self.daftar, "menu": self.help, "batal": self.cancel})
        self.telegram.message_handlers.append(self.message)
        self.telegram.callbacks["dg"] = self.button

    # -- public commands ---------------------------------------------------------------------------

    async def help(self, who: Any, channel: str, args: list[str], markup: str) -> list[Reply] | None:
        """/start, /bantuan, /help; ``/start daftar`` (the link t.me/BOT?start=daftar) starts /daftar."""
        if args and args[0].lower() == "daftar":
            return await self.daftar(who, channel, [], markup)
        return [Reply([escape(_t("help", self.lang))])] if _private(who, channel) else None

    async def cancel(self, who: Any, channel: str, args: list[str], markup: str) -> list[Reply] | None:
        if not _private(who, channel):
            return None
        user = _user(who)
        conv = self.origins.conversation(user, now=self.clock(), ttl=CONVERSATION_TTL)
        if conv is None:
            return [Reply([escape(_t("nothing", self.lang))])]
        self._drop_unverified(conv)
        self.origins.end(user)
        log.info("signup.cancelled", identity=who.key, step=conv.step)
        await self._send(who.chat, _t("cancelled", self.lang), remove_keyboard=True)
        return []

    async def daftar(self, who: Any, channel: str, args: list[str], markup: str) -> list[Reply] | None:
        if not _private(who, channel):
            return None  # a stranger in a group, or on WhatsApp: refused like any command
        now, user, lang = self.clock(), _user(who), self.lang
        open_id = self.origins.open_request(who.chat)
        opened = self.store.get(open_id) if open_id else None
        if opened is not None and opened.status != "unverified":
            return [Reply([escape(_t("waiting", lang))])]
        conv = self.origins.conversation(user, now=now, ttl=CONVERSATION_TTL)
        if conv is not None:
            self._drop_unverified(conv)  # starting over (e.g. a mistyped number waiting for its code)
        elif not self.per_user.allow(who.key, now):
            log.warning("signup.limited", identity=who.key, by="telegram_user")
            return [Reply([escape(page_text("limited", lang))])]
        elif self.origins.conversations(now, CONVERSATION_TTL) >= 10 * self.config.max_pending or \
                self.store.pending(now) >= self.config.max_pending:
            log.warning("signup.full", identity=who.key, pending=self.config.max_pending)
            return [Reply([escape(page_text("busy", lang))])]
        log.info("signup.started", identity=who.key, with_args=bool(args))
        if args:
            package = self._package(args[0])
            if package is None:
                return self._package_list(who, now, error=_t("bad_package", lang, package=args[0]))
            name = " ".join(args[1:])
            if not name:
                self.origins.save(user, who.chat, "name", now=now, package=package)
                return [Reply([escape(_t("name", lang, package=package))])]
            return await self._named(who, package, name, now)
        return self._package_list(who, now)

    # -- the conversation --------------------------------------------------------------------------

    async def button(self, who: Any, user_id: str, choice: str, message: dict[str, Any]) -> str:
        """A package button (``dg:USER:pN``), pressed by that user in their chat."""
        now = self.clock()
        names = list(self.packages)
        conv = self.origins.conversation(int(user_id), now=now, ttl=CONVERSATION_TTL) \
            if user_id.lstrip("-").isdigit() else None
        index = int(choice[1:]) if choice[:1] == "p" and choice[1:].isdigit() else len(names)
        if conv is None or who.key != f"tg:{conv.user}" or conv.step not in ("package", "name") or \
                index >= len(names):
            return _t("nothing", self.lang)[:190]
        self.origins.save(conv.user, conv.chat, "name", now=now, package=names[index])
        prompt = escape(_t("name", self.lang, package=names[index]))
        await self._send(conv.chat, prompt, edit=message.get("message_id"))
        return names[index]

    async def message(self, who: Any, message: dict[str, Any]) -> bool:
        """A stranger's message in a /daftar conversation (text or a shared contact); True: taken."""
        text = message.get("text")
        if who.role is not None or not _private(who, "telegram") or \
                (isinstance(text, str) and text.strip().startswith("/")):
            return False  # commands go to the core (/daftar, /batal, or refused)
        now = self.clock()
        conv = self.origins.conversation(_user(who), now=now, ttl=CONVERSATION_TTL)
        if conv is None:
            return False
        if not self.core.limiter.allow(who.key, now):
            log.warning("bot.rate_limited", identity=who.key, channel="telegram", command="daftar")
            return True
        words = " ".join(str(text or "").split())
        if conv.step == "package":
            package = self._package(words.split()[0] if words else "")
            if package is None:
                await self._reply_all(who.chat, self._package_list(who, now))
                return True
            self.origins.save(conv.user, conv.chat, "name", now=now, package=package)
            await self._send(who.chat, escape(_t("name", self.lang, package=package)))
        elif conv.step == "name":
            await self._reply_all(who.chat, await self._named(who, conv.package, words, now))
        elif conv.step == "phone":
            await self._phone(who, conv, message, words, now)
        elif conv.step == "code":
            await self._code(who, conv, words, now)
        return True

    async def _named(self, who: Any, package: str, name: str, now: float) -> list[Reply]:
        name = " ".join(name.split())
        if not 1 <= len(name) <= 60:
            self.origins.save(_user(who), who.chat, "name", now=now, package=package)
            return [Reply([escape(page_text("bad_name", self.lang))])]
        self.origins.save(_user(who), who.chat, "phone", now=now, package=package, name=name)
        share, skip = _t("share", self.lang), _t("skip", self.lang)
        await self._send(who.chat, escape(_t("phone", self.lang, share=share, skip=skip)),
                         keyboard={"keyboard": [[{"text": share, "request_contact": True}], [{"text": skip}]],
                                   "one_time_keyboard": True, "resize_keyboard": True})
        return []

    async def _phone(self, who: Any, conv: Conversation, message: dict[str, Any], words: str, now: float) -> None:
        lang = self.lang
        contact = message.get("contact")
        if isinstance(contact, dict):
            if contact.get("user_id") != int(conv.user):  # someone else's card: Telegram vouches for nothing
                log.warning("signup.contact_refused", identity=who.key)
                await self._send(who.chat, escape(_t("not_yours", lang, skip=_t("skip", lang))))
                return
            number = normalize_msisdn(str(contact.get("phone_number", "")), self.service.page.country_code)
            if number is None:
                await self._send(who.chat, escape(page_text("bad_phone", lang)))
                return
            await self._submit(who, conv, number, now, verified=True)
        elif words.lower() in SKIP:
            await self._submit(who, conv, "", now, verified=True)
        else:
            number = normalize_msisdn(words, self.service.page.country_code)
            if number is None:
                await self._send(who.chat, escape(page_text("bad_phone", lang)))
                return
            if not self.per_number.allow(number, now):
                log.warning("signup.limited", identity=who.key, by="number", phone=mask_recipient(number))
                await self._send(who.chat, escape(page_text("limited", lang)))
                return
            await self._submit(who, conv, number, now, verified=False)

    async def _submit(self, who: Any, conv: Conversation, phone: str, now: float, *, verified: bool) -> None:
        """The request joins the page's: verified at once (a vouched number, or none), or after the
        one-time code sent to a typed number."""
        lang = self.lang
        self.store.prune(now)
        if self.store.pending(now) >= self.config.max_pending:
            log.warning("signup.full", identity=who.key, pending=self.config.max_pending)
            await self._send(who.chat, escape(page_text("busy", lang)), remove_keyboard=True)
            return
        request_id = secrets.token_urlsafe(16)
        code = f"{secrets.randbelow(1_000_000):06d}"
        self.store.add(request_id, now=now, name=conv.name, phone=phone, package=conv.package, message="",
                       ip="telegram", code=code, ttl=self.config.code_ttl)
        self.origins.set_origin(request_id, "telegram", conv.chat)
        if not verified:
            minutes = str(max(1, round(self.config.code_ttl / 60)))
            try:
                await self.service.provider.send(phone, page_text("wa_code", lang, code=code, minutes=minutes))
            except PantauError as exc:
                self.store.check_code(request_id, "", now=float("inf"), max_attempts=1)  # drops it
                log.warning("signup.code_failed", identity=who.key, phone=mask_recipient(phone), error=str(exc))
                await self._send(who.chat, escape(page_text("send_failed", lang)))
                return
            self.origins.save(conv.user, conv.chat, "code", now=now, package=conv.package, name=conv.name,
                              request_id=request_id)
            log.info("signup.code_sent", identity=who.key, request=request_id, phone=mask_recipient(phone))
            await self._send(who.chat, escape(_t("code_sent", lang, phone=mask_recipient(phone))),
                             remove_keyboard=True)
            return
        self.store.check_code(request_id, code, now=now, max_attempts=self.config.code_attempts)
        await self._verified(who, conv, request_id)

    async def _code(self, who: Any, conv: Conversation, words: str, now: float) -> None:
        result = self.store.check_code(conv.request_id, words, now=now, max_attempts=self.config.code_attempts)
        log.info("signup.code_checked", identity=who.key, request=conv.request_id, result=result)
        if result == "wrong":
            await self._send(who.chat, escape(page_text("wrong_code", self.lang)))
        elif result == "ok":
            await self._verified(who, conv, conv.request_id)
        else:
            self.origins.end(conv.user)
            await self._send(who.chat, escape(page_text("expired", self.lang).split(".")[0] + ". /daftar"))

    async def _verified(self, who: Any, conv: Conversation, request_id: str) -> None:
        self.origins.end(conv.user)
        request = self.store.get(request_id)
        assert request is not None
        log.info("signup.submitted", identity=who.key, request=request_id, package=request.package,
                 phone=mask_recipient(request.phone) if request.phone else None)
        await self._send(who.chat, escape(_t("done", self.lang, name=request.name)), remove_keyboard=True)
        await self.service.verified(request)

    # -- helpers -----------------------------------------------------------------------------------

    def _package(self, word: str) -> str | None:
        return next((n for n in self.packages if n.lower() == word.lower()), None) if word else None

    def _package_list(self, who: Any, now: float, error: str = "") -> list[Reply]:
        self.origins.save(_user(who), who.chat, "package", now=now)
        listing = "\n".join(f"- {p.name}" + (f": {p.label}" if p.label else "") for p in self.packages.values())
        body = (f"{error}\n" if error else "") + _t("packages", self.lang, list=listing)
        return [Reply([escape(body)], buttons=[(name, f"dg:{_user(who)}:p{i}")
                                               for i, name in enumerate(self.packages)])]

    def _drop_unverified(self, conv: Conversation) -> None:
        if conv.step == "code" and conv.request_id:
            self.store.check_code(conv.request_id, "", now=float("inf"), max_attempts=1)  # drops it

    async def _reply_all(self, chat: str, replies: list[Reply]) -> None:
        for reply in replies:
            try:
                await self.telegram.send(chat, reply)
            except PantauError as exc:
                log.warning("signup.reply_failed", error=str(exc))

    async def _send(self, chat: str, html: str, *, keyboard: dict[str, Any] | None = None,
                    remove_keyboard: bool = False, edit: Any = None) -> None:
        payload: dict[str, Any] = {"chat_id": chat, "text": html, "parse_mode": "HTML"}
        if keyboard is not None or remove_keyboard:
            payload["reply_markup"] = keyboard or {"remove_keyboard": True}
        try:
            if isinstance(edit, int):
                await self.telegram.call("editMessageText", {**payload, "message_id": edit})
            else:
                await self.telegram.call("sendMessage", payload)
        except PantauError as exc:
            log.warning("signup.reply_failed", error=str(exc))


def _user(who: Any) -> int:
    return int(who.key.split(":", 1)[1])


def _private(who: Any, channel: str) -> bool:
    """A Telegram user in their own chat with the bot (not a group, not WhatsApp)."""
    return channel == "telegram" and who.key == f"tg:{who.chat}"
