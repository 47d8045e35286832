"""The live chat relay (issue 15 item 2): a message from a WhatsApp number that is not on the bot's
lists (and is not a self-service word), or from the chat on the registration page, goes to the
admins' Telegram chats; an admin's (or operator's) Telegram reply to that relayed message goes back
to the person — over WhatsApp, or onto their open page (and over WhatsApp too when that browser
verified a number). Which Telegram message belongs to whom is kept in the state DB
(monitor/registration/threads.py), so replies work across a restart until the thread expires."""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape
from typing import Any

import structlog

from ..delivery.phone import mask_recipient
from ..errors import PantauError
from .threads import ChatSession, RelayStore

log = structlog.get_logger("pantau.registration")

_W = {
    "from_wa": ("Pesan dari", "Message from"),
    "from_page": ("Pesan dari halaman pendaftaran", "Message from the registration page"),
    "chat": ("chat", "chat"),
    "unverified": ("nomor belum diverifikasi", "number not verified"),
    "hint": ("Balas pesan ini untuk menjawab.", "Reply to this message to answer."),
    "sent": ("Terkirim.", "Sent."),
    "not_sent": ("Gagal dikirim.", "Not sent."),
    "to_page": ("Terkirim ke halaman.", "Sent to the page."),
    "to_page_wa": ("Terkirim ke halaman dan WhatsApp.", "Sent to the page and WhatsApp."),
    "to_page_not_wa": ("Terkirim ke halaman; WhatsApp gagal.", "Sent to the page; WhatsApp failed."),
    "gone": ("Percakapan ini sudah kedaluwarsa.", "This conversation has expired."),
}


class Relay:
    def __init__(self, telegram: Any, admin_chats: list[int], sender: Any, threads: RelayStore, *,
                 language: str, clock: Callable[[], float] = time.time):
        self.telegram, self.admin_chats, self.sender, self.language = telegram, admin_chats, sender, language
        self.threads, self.clock = threads, clock
        self._pruned = 0.0
        telegram.reply_handlers.append(self.reply)

    def _w(self, key: str) -> str:
        return _W[key][0 if self.language == "id" else 1]

    async def forward(self, number: str, text: str) -> bool:
        """Relay a WhatsApp message to every admin chat; True when at least one got it."""
        body = f"<b>{self._w('from_wa')} {escape(number)}</b>\n{escape(text[:2000])}\n<i>{self._w('hint')}</i>"
        delivered = await self._send(body, "wa", number)
        log.info("relay.forwarded", channel="whatsapp", phone=mask_recipient(number), delivered=delivered)
        return delivered

    async def forward_page(self, session: ChatSession, text: str) -> bool:
        """Relay a message written in the page chat; True when at least one admin chat got it."""
        who = f"WhatsApp {escape(session.phone)}" if session.phone else self._w("unverified")
        body = (f"<b>{self._w('from_page')}</b> ({self._w('chat')} {escape(session.id)}, {who})\n"
                f"{escape(text[:2000])}\n<i>{self._w('hint')}</i>")
        delivered = await self._send(body, "page", session.id)
        log.info("relay.forwarded", channel="page", chat_session=session.id, verified=session.phone is not None,
                 delivered=delivered)
        return delivered

    async def _send(self, body: str, kind: str, target: str) -> bool:
        now = self.clock()
        if now - self._pruned >= 3600:  # expired threads and chats go at most hourly
            self._pruned = now
            self.threads.prune(now)
        delivered = False
        for chat in self.admin_chats:
            try:
                sent = await self.telegram.call("sendMessage", {"chat_id": chat, "text": body, "parse_mode": "HTML"})
            except PantauError as exc:
                log.warning("relay.forward_failed", chat=chat, error=str(exc))
                continue
            if isinstance(sent, dict) and "message_id" in sent:
                self.threads.add_thread(chat, int(sent["message_id"]), kind, target, now=now)
                delivered = True
        return delivered

    async def reply(self, who: Any, message: dict[str, Any]) -> bool:
        chat = (message.get("chat") or {}).get("id")
        replied = (message.get("reply_to_message") or {}).get("message_id")
        now = self.clock()
        found = self.threads.thread(chat, replied, now=now) if isinstance(replied, int) and chat is not None else None
        text = str(message.get("text") or "").strip()
        if found is None or found[0] not in ("wa", "page") or not text or not who.may("operator"):
            return False
        kind, target = found
        if kind == "wa":
            ok = await self._whatsapp(target, text)
            log.info("relay.replied", channel="whatsapp", identity=who.key, phone=mask_recipient(target), delivered=ok)
            done = self._w("sent" if ok else "not_sent")
        else:
            done = await self._to_page(who, target, text, now)
        try:
            await self.telegram.call("sendMessage", {"chat_id": chat, "text": done,
                                                     "reply_parameters": {"message_id": message.get("message_id")}})
        except PantauError as exc:
            log.warning("relay.ack_failed", error=str(exc))
        return True

    async def _to_page(self, who: Any, session_id: str, text: str, now: float) -> str:
        session = self.threads.session_by_id(session_id)
        if session is None or session.last <= now - self.threads.keep:
            log.info("relay.replied", channel="page", identity=who.key, chat_session=session_id, delivered=False,
                     reason="expired")
            return self._w("gone")
        self.threads.add_message(session.id, "admin", text[:2000], now=now)
        wa = await self._whatsapp(session.phone, text) if session.phone else None
        log.info("relay.replied", channel="page", identity=who.key, chat_session=session.id, delivered=True,
                 whatsapp=wa)
        return self._w("to_page" if wa is None else "to_page_wa" if wa else "to_page_not_wa")

    async def _whatsapp(self, number: str, text: str) -> bool:
        try:
            await self.sender.send(number, f"Admin: {text[:2000]}")
            return True
        except PantauError as exc:
            log.warning("relay.reply_failed", phone=mask_recipient(number), error=str(exc))
            return False
