"""A fake Telegram Bot API for the bot's end-to-end tests: a real aiohttp server on 127.0.0.1.

``getUpdates`` long-polls like Telegram: it returns updates with ``update_id >= offset`` (an
offset acknowledges and drops everything before it), waits up to ``timeout`` seconds for one,
and answers 409 Conflict while ``conflict`` is set. sendMessage/editMessageText/answerCallbackQuery/
setMyCommands are recorded in ``calls`` and answered with Telegram's shapes.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import web


class FakeBotApi:
    def __init__(self, token: str = "123456:TEST-token"):
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.offsets: list[int | None] = []  # the offset of every getUpdates, in order
        self.conflict = False
        self.fail_chats: set[Any] = set()  # sendMessage to these answers 400 "chat not found"
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(500)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting -------------------------------------------------------------------------------

    async def _push(self, update: dict[str, Any]) -> int:
        update_id = next(self._ids)
        async with self._changed:
            self.updates.append({"update_id": update_id, **update})
            self._changed.notify_all()
        return update_id

    async def message(self, user: int, text: str, chat: int | None = None) -> int:
        chat = user if chat is None else chat
        return await self._push({"message": {"message_id": next(self._message_ids), "date": 1800000000,
                                             "from": {"id": user, "is_bot": False, "first_name": "op"},
                                             "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
                                             "text": text}})

    async def contact(self, user: int, phone: str, contact_user: int | None) -> int:
        """The user shares a contact card (Telegram's "share my number" button sends their own, with
        ``user_id`` = the sender; a forwarded card of someone else has another or no user_id)."""
        card: dict[str, Any] = {"phone_number": phone, "first_name": "c"}
        if contact_user is not None:
            card["user_id"] = contact_user
        return await self._push({"message": {"message_id": next(self._message_ids), "date": 1800000000,
                                             "from": {"id": user, "is_bot": False, "first_name": "op"},
                                             "chat": {"id": user, "type": "private"}, "contact": card}})

    async def press(self, user: int, data: str, message_id: int, chat: int | None = None) -> int:
        chat = user if chat is None else chat
        return await self._push({"callback_query": {"id": f"cq{next(self._ids)}", "data": data,
                                                    "from": {"id": user, "is_bot": False, "first_name": "op"},
                                                    "message": {"message_id": message_id, "chat": {"id": chat}}}})

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method]

    async def wait_for(self, predicate, timeout: float = 20.0) -> Any:
        """Wait until ``predicate()`` returns something truthy; return it."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                while not (found := predicate()):
                    await self._changed.wait()
                return found

    # -- the API ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        payload = await request.json() if request.can_read_body else {}
        if method == "getUpdates":
            return await self._get_updates(payload)
        if method == "sendMessage" and payload.get("chat_id") in self.fail_chats:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                                     status=400)
        mid = payload.get("message_id") or next(self._message_ids)
        async with self._changed:
            self.calls.append((method, {**payload, "_message_id": mid}))
            self._changed.notify_all()
        if method in ("sendMessage", "editMessageText"):
            return web.json_response({"ok": True, "result": {"message_id": mid, "date": 1800000000,
                                                             "chat": {"id": payload.get("chat_id")},
                                                             "text": payload.get("text")}})
        return web.json_response({"ok": True, "result": True})

    async def _get_updates(self, payload: dict[str, Any]) -> web.Response:
        offset = payload.get("offset")
        async with self._changed:
            self.offsets.append(offset)
            self._changed.notify_all()
        if self.conflict:
            return web.json_response({"ok": False, "error_code": 409, "description": "Conflict: terminated by "
                                      "other getUpdates request; make sure that only one bot instance is running"},
                                     status=409)
        if offset is not None:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(payload.get("timeout", 0))
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    while not self.updates:
                        await self._changed.wait()
        except TimeoutError:
            pass
        return web.json_response({"ok": True, "result": list(self.updates)})
