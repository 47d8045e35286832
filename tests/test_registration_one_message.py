"""A verified registration request reaches each admin chat once: the approval post with Setujui /
Tolak counts as the delivery for a route's Telegram target in the same chat (even through another
bot); a route target in another chat still gets the ``registration.verified`` message; when the
approval post to a chat fails, the route's copy goes out there (nothing lost)."""

from __future__ import annotations

import asyncio

import aiohttp

from monitor.config.model import parse_config
from monitor.engine import Engine
from tests.bot_helpers import make_sim
from tests.fake_peers import waha_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_registration import free_port
from tests.test_registration_approval import ADMIN, config, register

OTHER_CHAT = -100777


def with_routes(tmp_path, sim_port: int, bot_api: FakeBotApi, notify_api: FakeBotApi, wa_url: str,
                port: int) -> dict:
    data = config(tmp_path, sim_port, bot_api, wa_url, port)
    api = {"token": notify_api.token, "api_url": notify_api.url}
    data["notifiers"] += [{"name": "tg-admin", "type": "telegram", "chat_id": ADMIN, **api},
                          {"name": "tg-office", "type": "telegram", "chat_id": OTHER_CHAT, **api}]
    data["routes"] = [{"events": ["registration.*"], "notify": ["tg-admin", "tg-office"]}]
    return data


def about(apis: list[FakeBotApi], chat: int, name: str) -> list[dict]:
    return [p for api in apis for p in api.sent() if p["chat_id"] == chat and name in p["text"]]


async def run_one(tmp_path, *, fail_admin: bool) -> tuple[list[dict], list[dict]]:
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as bot_api, FakeBotApi("654321:ROUTES-token") as notify_api, \
            waha_peer() as gw, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        if fail_admin:
            bot_api.fail_chats.add(ADMIN)
        engine = Engine(parse_config(with_routes(tmp_path, sim.port, bot_api, notify_api, gw.url, port)))
        await engine.start()
        apis = [bot_api, notify_api]
        try:
            await register(http, f"http://127.0.0.1:{port}", gw, "Budi Santoso", "0857-1234-5678")
            await notify_api.wait_for(lambda: about(apis, OTHER_CHAT, "Budi Santoso"))
            await notify_api.wait_for(lambda: about(apis, ADMIN, "Budi Santoso")) if fail_admin else \
                await bot_api.wait_for(lambda: about(apis, ADMIN, "Budi Santoso"))
            await asyncio.sleep(0.5)  # a second copy would be sent by now (the outbox sends at once)
        finally:
            await engine.stop(grace=0.5)
    return about(apis, ADMIN, "Budi Santoso"), about(apis, OTHER_CHAT, "Budi Santoso")


async def test_the_admin_chat_sees_a_request_once_and_another_chat_still_gets_it(tmp_path):
    admin, office = await run_one(tmp_path, fail_admin=False)
    assert len(admin) == 1 and "reply_markup" in admin[0]  # the post with buttons, and only it
    assert len(office) == 1 and "reply_markup" not in office[0]


async def test_a_failed_approval_post_leaves_the_route_copy_for_that_chat(tmp_path):
    admin, office = await run_one(tmp_path, fail_admin=True)
    assert len(admin) == 1 and "reply_markup" not in admin[0]  # the route's registration.verified
    assert len(office) == 1
