"""The live chat relay (issue 15 item 2, WhatsApp side): a message from a number that is not on the
bot's lists and is not a self-service word goes to the admins' Telegram chats; an admin's reply to
that relayed message goes back to the number over WhatsApp. Which Telegram message belongs to which
number is kept in memory (bounded): after a restart, replies to old relayed messages are ordinary
messages."""

from __future__ import annotations

from html import escape
from typing import Any

import structlog

from ..delivery.phone import mask_recipient
from ..errors import PantauError

log = structlog.get_logger("pantau.registration")


class Relay:
    def __init__(self, telegram: Any, admin_chats: list[int], sender: Any, *, language: str):
        self.telegram, self.admin_chats, self.sender, self.language = telegram, admin_chats, sender, language
        self._threads: dict[tuple[int, int], str] = {}  # (chat, relayed message id) → number
        telegram.reply_handlers.append(self.reply)

    async def forward(self, number: str, text: str) -> bool:
        """Relay to every admin chat; True when at least one got it."""
        head = "Pesan dari" if self.language == "id" else "Message from"
        hint = "Balas pesan ini untuk menjawab." if self.language == "id" else "Reply to this message to answer."
        body = f"<b>{head} {escape(number)}</b>\n{escape(text[:2000])}\n<i>{hint}</i>"
        delivered = False
        for chat in self.admin_chats:
            try:
                sent = await self.telegram.call("sendMessage", {"chat_id": chat, "text": body, "parse_mode": "HTML"})
            except PantauError as exc:
                log.warning("relay.forward_failed", chat=chat, error=str(exc))
                continue
            if isinstance(sent, dict) and "message_id" in sent:
                self._threads[(chat, int(sent["message_id"]))] = number
                while len(self._threads) > 1000:
                    del self._threads[next(iter(self._threads))]
                delivered = True
        log.info("relay.forwarded", phone=mask_recipient(number), delivered=delivered)
        return delivered

    async def reply(self, who: Any, message: dict[str, Any]) -> bool:
        chat = (message.get("chat") or {}).get("id")
        replied = (message.get("reply_to_message") or {}).get("message_id")
        number = self._threads.get((chat, replied)) if isinstance(replied, int) else None
        text = str(message.get("text") or "").strip()
        if number is None or not text or not who.may("operator"):
            return False
        label = "Admin" if self.language == "id" else "Admin"
        try:
            await self.sender.send(number, f"{label}: {text[:2000]}")
            ok = True
        except PantauError as exc:
            log.warning("relay.reply_failed", phone=mask_recipient(number), error=str(exc))
            ok = False
        log.info("relay.replied", identity=who.key, phone=mask_recipient(number), delivered=ok)
        done = ("Terkirim." if ok else "Gagal dikirim.") if self.language == "id" else ("Sent." if ok else "Not sent.")
        try:
            await self.telegram.call("sendMessage", {"chat_id": chat, "text": done,
                                                     "reply_parameters": {"message_id": message.get("message_id")}})
        except PantauError as exc:
            log.warning("relay.ack_failed", error=str(exc))
        return True
