"""WhatsApp self-service for subscribers (issue 15 item 5): a number that is not an operator of the
bot writes ``cek`` / ``status`` / ``kuota`` (its accounts: remaining data and time, validity date,
online now) or ``bantuan``; a number with no account gets the registration link. Accounts are found
by the phone in the hotspot user's comment (the router's ``subscriber:`` settings) or in a PPP
secret's comment, read with the read-only user. Answers are rate limited per number; logs mask the number."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from ..delivery.phone import mask_recipient
from ..delivery.templates.renderer import human_bytes
from ..errors import RouterError, RouterTrap
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig
from ..subscriptions.poller import ACTIVE_FIELDS, SECRET_FIELDS, USER_FIELDS, ppp_usages, usages
from .limits import WindowLimit

log = structlog.get_logger("pantau.registration")

CHECK = {"cek", "status", "kuota", "check", "quota"}
HELP = {"bantuan", "help", "menu", "halo", "hi"}
_T = {
    "help": ("Layanan pelanggan hotspot. Kirim:\n- cek (atau status / kuota): sisa kuota dan masa aktif\n"
             "- bantuan: pesan ini",
             "Hotspot subscriber service. Send:\n- cek (or status / kuota): remaining quota and validity\n"
             "- bantuan: this message"),
    "relayed": ("Pesan Anda sudah diteruskan ke admin.", "Your message was passed on to the admin."),
    "unknown": ("Nomor ini belum terdaftar sebagai pelanggan. Daftar di: {link}",
                "This number is not a subscriber yet. Register at: {link}"),
    "unknown_nolink": ("Nomor ini belum terdaftar sebagai pelanggan. Hubungi admin.",
                       "This number is not a subscriber yet. Contact the admin."),
    "down": ("Maaf, data akun tidak dapat dibaca saat ini. Coba lagi nanti.",
             "Sorry, your account cannot be read right now. Try again later."),
    "user": ("User: {user} (paket {profile}){state}", "User: {user} (package {profile}){state}"),
    "ppp": ("PPPoE: {user} (paket {profile}){state}", "PPPoE: {user} (package {profile}){state}"),
    "disabled": (" — nonaktif", " — disabled"),
    "online": ("Sedang online", "Online now"),
    "data": ("Sisa kuota: {left} dari {limit}", "Data left: {left} of {limit}"),
    "uptime": ("Sisa waktu online: {left} dari {limit}", "Online time left: {left} of {limit}"),
    "until": ("Berlaku sampai: {when}", "Valid until: {when}"),
    "ended": ("Masa aktif berakhir: {when}", "Validity ended: {when}"),
}


def _t(key: str, lang: str, **values: str) -> str:
    return _T[key][0 if lang == "id" else 1].format(**values)


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    return " ".join(p for p in (f"{days}h" if days else "", f"{hours}j" if hours else "",
                                f"{minutes}m" if minutes or not (days or hours) else "") if p)


class SelfService:
    def __init__(self, routers: list[RouterConfig], *, timezone: str, language: str, link: str | None,
                 per_number: int = 10, window: float = 3600.0, clock: Callable[[], float] = time.time):
        self.routers, self.tz, self.language, self.link = routers, ZoneInfo(timezone), language, link
        self.limit = WindowLimit(per_number, window)
        self.clock = clock
        self.relay: Any = None  # monitor.registration.relay.Relay when the bot is on Telegram

    async def answer(self, number: str, text: str) -> str | None:
        """The reply to one message from a number that is not a bot operator (None: stay silent)."""
        lang = self.language
        if not self.limit.allow(number, self.clock()):
            log.warning("selfservice.limited", phone=mask_recipient(number))
            return None
        word = text.strip().lower().split()[0] if text.strip() else ""
        try:
            accounts = await self.accounts(number)
        except (RouterError, RouterTrap) as exc:
            log.warning("selfservice.read_failed", phone=mask_recipient(number), error=str(exc))
            return _t("down", lang)
        # only a known word is logged: free text may carry a number or anything else personal
        log.info("selfservice.asked", phone=mask_recipient(number), word=word if word in CHECK | HELP else "other",
                 accounts=len(accounts))
        if word in CHECK and accounts:
            return "\n\n".join(self._describe(a) for a in accounts)
        relayed = word not in CHECK | HELP and self.relay is not None and await self.relay.forward(number, text)
        if not accounts:
            answer = _t("unknown", lang, link=self.link) if self.link else _t("unknown_nolink", lang)
            return f"{_t('relayed', lang)}\n{answer}" if relayed else answer
        return _t("relayed", lang) if relayed else _t("help", lang)

    async def accounts(self, number: str) -> list[tuple[Any, bool]]:
        """(usage, online) of every hotspot user and PPP secret whose comment names ``number``, on
        every router (PPP secrets where the router watches ppp: a PPPoE customer asks too)."""
        found = []
        for router in self.routers:
            client = await RouterClient.for_router(router)
            try:
                fields = list(dict.fromkeys(USER_FIELDS + [router.subscriber.field]))
                users = await client.print("/ip/hotspot/user", proplist=fields) if "hotspot" in router.watch else []
                mine = [u for u in users if router.subscriber.phone_from(u.get(router.subscriber.field)) == number]
                active = await client.print("/ip/hotspot/active", proplist=ACTIVE_FIELDS) if mine else []
                secrets = await client.print("/ppp/secret", proplist=SECRET_FIELDS) if "ppp" in router.watch else []
                mine_ppp = [s for s in secrets if router.subscriber.phone_from(s.get("comment")) == number]
                connected = await client.print("/ppp/active", proplist=["name"]) if mine_ppp else []
            finally:
                await client.close()
            online = {row.get("user") for row in active}
            found += [(usage, usage.user in online) for usage in usages(router.name, mine, active, self.tz)]
            online_ppp = {row.get("name") for row in connected}
            found += [(usage, usage.user in online_ppp) for usage in ppp_usages(router.name, mine_ppp, self.tz)]
        return found

    def _describe(self, account: tuple[Any, bool]) -> str:
        usage, online = account
        lang = self.language
        lines = [_t("ppp" if usage.service == "ppp" else "user", lang, user=usage.user, profile=usage.profile or "-",
                    state=_t("disabled", lang) if usage.disabled else "")]
        if online:
            lines.append(_t("online", lang))
        if usage.limit_total:
            used = usage.bytes_in + usage.bytes_out
            lines.append(_t("data", lang, left=human_bytes(max(0, usage.limit_total - used)),
                            limit=human_bytes(usage.limit_total)))
        if usage.limit_uptime_s:
            lines.append(_t("uptime", lang, left=_duration(usage.limit_uptime_s - usage.uptime_s),
                            limit=_duration(usage.limit_uptime_s)))
        if usage.expires_at is not None:
            when = usage.expires_at.strftime("%d/%m/%Y %H:%M")
            ended = usage.expires_at <= datetime.fromtimestamp(self.clock(), self.tz)
            lines.append(_t("ended" if ended else "until", lang, when=when))
        return "\n".join(lines)
