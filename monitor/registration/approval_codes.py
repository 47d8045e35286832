"""Approval by WhatsApp code: admins who reach pantau over WhatsApp (the bot's ``whatsapp_numbers``
with role admin) get each request with a short code and answer ``SETUJUI K7F2``,
``SETUJUI K7F2 PAKET`` or ``TOLAK K7F2 alasan`` — parsed by the bot core next to the ``YA 1234``
confirmation codes, so the same rules hold: an identity on no list is refused like any command, the
role is checked by the decision itself. The decision is ``Approvals.decide``: the request row
leaves ``verified`` in one UPDATE, so Telegram and WhatsApp together still execute it at most once,
and whoever comes second is told who decided it. Audited with the channel."""

from __future__ import annotations

from html import escape
from typing import Any

import structlog

from ..bot.core import Reply
from ..delivery.phone import mask_recipient
from ..errors import PantauError
from .signup_store import SignupStore
from .store import Request

log = structlog.get_logger("pantau.registration")

_T = {
    "ask": ("Permintaan akun baru\nNama: {name}\nWhatsApp: {phone}\nPaket: {package}{via}\nKode: {code}\n"
            "Balas: SETUJUI {code} | SETUJUI {code} PAKET ({packages}) | TOLAK {code} alasan",
            "New account request\nName: {name}\nWhatsApp: {phone}\nPackage: {package}{via}\nCode: {code}\n"
            "Answer: SETUJUI {code} | SETUJUI {code} PACKAGE ({packages}) | TOLAK {code} reason"),
    "via": ("\nLewat: Telegram /daftar", "\nVia: Telegram /daftar"),
    "no_code": ("Tidak ada permintaan dengan kode {code}.", "No request with code {code}."),
    "no_package": ("Paket {package} tidak ada. Paket: {packages}", "No package {package}. Packages: {packages}"),
    "approved": ("Disetujui: {name} → user {user} ({package})", "Approved: {name} → user {user} ({package})"),
    "rejected": ("Ditolak: {name}", "Rejected: {name}"),
}


def _t(key: str, lang: str, **values: str) -> str:
    return _T[key][0 if lang == "id" else 1].format(**values)


class CodeApprovals:
    def __init__(self, approvals: Any, origins: SignupStore, bot: Any, *, language: str):
        self.approvals, self.origins, self.language = approvals, origins, language
        whatsapp = getattr(bot, "whatsapp", None)
        # answers come back through the bot's WhatsApp inbound: without it nobody could answer
        self.numbers = [n for n, role in bot.config.whatsapp_numbers.items() if role == "admin"] \
            if whatsapp is not None else []
        self.sender = whatsapp.sender if whatsapp is not None else None
        bot.core.decision_code = self.decide

    async def ask(self, request: Request) -> str:
        """Give the request its code and send it to every WhatsApp admin; returns the code."""
        code = self.origins.assign_code(request.id)
        if not self.numbers or self.sender is None:
            return code
        origin = self.origins.origin(request.id)
        via = _t("via", self.language) if origin is not None and origin.channel == "telegram" else ""
        text = _t("ask", self.language, name=request.name, phone=request.phone or "-", package=request.package,
                  via=via, code=code, packages=", ".join(self.approvals.packages))
        for number in self.numbers:
            try:
                await self.sender.send(number, text)
            except PantauError as exc:
                log.warning("registration.ask_failed", channel="whatsapp", phone=mask_recipient(number),
                            error=str(exc))
        log.info("registration.asked_whatsapp", request=request.id, admins=len(self.numbers))
        return code

    async def decide(self, who: Any, channel: str, code: str, approve: bool, rest: str,
                     markup: str = "text") -> list[Reply]:
        """``SETUJUI CODE [PAKET]`` / ``TOLAK CODE [alasan]`` from an identity on the bot's lists."""
        lang = self.language
        request_id = self.origins.by_code(code)
        request = self.approvals.store.get(request_id) if request_id else None
        if request is None:
            return [self._reply(_t("no_code", lang, code=code), markup)]
        choice = "n"
        if approve:
            names = list(self.approvals.packages)
            wanted = rest.split()[0] if rest.split() else request.package
            match = next((i for i, n in enumerate(names) if n.lower() == wanted.lower()), None)
            if match is None:
                return [self._reply(_t("no_package", lang, package=wanted, packages=", ".join(names)), markup)]
            choice = "y" if names[match] == request.package else f"p{match}"
        answer = await self.approvals.decide(who, request.id, choice, {}, channel=channel,
                                             reason="" if approve else rest)
        status, by, user = self.approvals.store.outcome(request.id) or ("unknown", None, None)
        if request.status != "verified" or by != who.key:
            pass  # not this decider's doing: the answer says who decided it, or that they may not
        elif status == "approved":
            granted = self.approvals.store.get(request.id)
            answer = _t("approved", lang, name=request.name, user=user or "?",
                        package=granted.package if granted else request.package)
        elif status == "rejected":
            answer = _t("rejected", lang, name=request.name)
        return [self._reply(answer, markup)]

    @staticmethod
    def _reply(text: str, markup: str) -> Reply:
        return Reply([escape(text) if markup == "html" else text])
