"""The bot inside the engine: audit.* events routed to an admin notifier, Telegram webhook mode,
and the per-identity rate limit."""

from __future__ import annotations

import aiohttp

from monitor.config.model import parse_config
from monitor.engine import Engine
from tests.bot_helpers import ADMIN, MANAGE_PW, READ_PW, STRANGER, VIEWER, make_core, make_sim, router, who
from tests.fake_peers import generic_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_bot_whatsapp import free_port


def engine_config(tmp_path, sim_port: int, api: FakeBotApi, audit_url: str, **telegram) -> dict:
    return {"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
            "http": {"listen": f"127.0.0.1:{free_port()}"},
            "notifiers": [{"name": "admins", "type": "webhook", "url": audit_url}],
            "routes": [{"events": ["audit.*"], "notify": ["admins"]}],
            "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                         "password": READ_PW, "timeout": 2, "mode": "poll", "poll_interval": 1,
                         "manage": {"username": "pantau-manage", "password": MANAGE_PW}}],
            "bot": {"telegram_users": {ADMIN: "admin"},
                    "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 1, **telegram}}}


async def test_audit_events_reach_the_admin_route_with_secrets_masked(tmp_path):
    async with make_sim() as sim, FakeBotApi() as api, generic_peer() as hook:
        sim.add_hotspot_user("budi")
        engine = Engine(parse_config(engine_config(tmp_path, sim.port, api, hook.url)))
        await engine.start()
        try:
            await api.message(ADMIN, "/hotspot password budi rahasia-77")
            prompt = (await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p]))[0]
            await api.press(ADMIN, prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                            prompt["_message_id"])
            await api.message(STRANGER, "/status")
            await hook.wait_received(3, timeout=10)
        finally:
            await engine.stop(grace=0.5)
        events = [r.json for r in hook.received]
        assert [(e["type"], e["data"]["result"]) for e in events] == [
            ("audit.command", "pending"), ("audit.command", "ok"), ("audit.refused", "refused")]
        assert events[1]["data"]["args"] == ["budi", "***"] and events[1]["data"]["identity"] == f"tg:{ADMIN}"
        assert all("rahasia-77" not in r.body.decode() for r in hook.received)


async def test_telegram_webhook_mode_checks_the_secret_token(tmp_path):
    async with make_sim() as sim, FakeBotApi() as api, generic_peer() as hook, aiohttp.ClientSession() as http:
        cfg = engine_config(tmp_path, sim.port, api, hook.url, mode="webhook", webhook_secret="tg-secret-1")
        engine = Engine(parse_config(cfg))
        await engine.start()
        url = f"http://127.0.0.1:{engine.web.port}/bot/telegram"
        update = {"update_id": 77, "message": {"message_id": 1, "from": {"id": ADMIN}, "chat": {"id": ADMIN},
                                               "text": "/resource"}}
        try:
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                assert r.status == 401
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret-1"}) as r:
                assert r.status == 200
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret-1"}) as r:
                assert r.status == 200  # Telegram retried the same update: handled once
            await api.wait_for(lambda: api.sent())
            assert len(api.sent()) == 1 and "Versi: 7.18.2" in api.sent()[0]["text"]
            assert not [o for o in api.offsets]  # webhook mode never polls
        finally:
            await engine.stop(grace=0.5)


async def test_rate_limit_per_identity(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)], rate_limit={"count": 2, "per": 60})
        texts = [(await core.handle(who(VIEWER), "telegram", "/menu"))[0].text for _ in range(3)]
        assert "Terlalu banyak perintah" in texts[2] and "Perintah" in texts[1]
        assert "Perintah" in (await core.handle(who(ADMIN), "telegram", "/menu"))[0].text  # others unaffected
        core.clock.now += 61
        assert "Perintah" in (await core.handle(who(VIEWER), "telegram", "/menu"))[0].text


async def test_strangers_are_rate_limited_silently(tmp_path):
    core = make_core(tmp_path, [router(1)], rate_limit={"count": 2, "per": 60})
    replies = [await core.handle(who(STRANGER), "telegram", "/status") for _ in range(5)]
    assert [len(r) for r in replies] == [1, 1, 0, 0, 0]
    assert len(core.store.audit_rows()) == 2  # the flood does not flood the audit trail
