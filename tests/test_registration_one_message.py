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
from tests.test_registration import csrf_of, free_port
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


async def test_codes_follow_a_reloaded_notifier_which_cannot_be_removed(tmp_path):
    """The page sends its codes through the notifier as it is now: after a reload that moves
    ``wa-otp`` to another gateway the next code goes there; a reload removing it is refused."""
    from monitor.errors import ConfigError

    port = free_port()

    def cfg(url: str | None) -> dict:
        notifiers = [{"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9"}]
        if url is not None:
            notifiers.append({"name": "wa-otp", "type": "whatsapp", "provider": "waha", "url": url,
                              "to": ["subscriber"]})
        return parse_config({"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
                             "hosts": [{"name": "x", "address": "127.0.0.1"}], "notifiers": notifiers,
                             "routes": [{"events": ["*"], "notify": ["hook"]}],
                             "registration": {"listen": f"127.0.0.1:{port}", "notifier": "wa-otp",
                                              "packages": [{"name": "2M-harian", "profile": "2M-harian"}]}},
                            env={})

    async with waha_peer() as gw1, waha_peer() as gw2, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        engine = Engine(cfg(gw1.url), probe=_Silent())
        await engine.start()
        try:
            await ask_code(http, f"http://127.0.0.1:{port}", gw1, "Budi Santoso", "0857-1234-5678")
            plan = await engine.reload(cfg(gw2.url))
            assert plan.notifiers.changed == ["wa-otp"]
            await ask_code(http, f"http://127.0.0.1:{port}", gw2, "Sari Dewi", "0857-8765-4321")
            assert "Sari" not in str(gw1.received[-1].fields) and len(gw2.received) == 1
            assert len(gw1.received) == 1  # only Budi's code went through the old gateway
            try:
                await engine.reload(cfg(None))
                raise AssertionError("a reload removing the code sender must fail")
            except ConfigError as exc:
                assert exc.problems == ["registration.notifier: 'wa-otp' must stay a whatsapp notifier while the "
                                        "registration page runs (it sends the codes)"]
            assert "wa-otp" in engine.notifiers
        finally:
            await engine.stop(grace=0.5)


async def ask_code(http, base: str, gw, name: str, phone: str) -> None:
    """The form filled in: a one-time code must arrive at ``gw``."""
    async with http.get(base + "/") as r:
        page = await r.text()
    seen = len(gw.received)
    async with http.post(base + "/", data={"csrf": csrf_of(page), "name": name, "phone": phone,
                                           "package": "2M-harian", "message": ""}) as r:
        assert r.status == 200, await r.text()
    await gw.wait_received(seen + 1, timeout=10)


class _Silent:
    """A probe for the one host this test needs (the engine wants a source): always up."""

    async def check(self, address: str, *, count: int, timeout: float, interval: float):
        from monitor.hosts.probe import CheckResult

        return CheckResult(address, count, count, (1.0,) * count, None)

    async def aclose(self) -> None:
        return None
