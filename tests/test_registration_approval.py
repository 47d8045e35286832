"""Approval end to end: form → WhatsApp code → Setujui on the fake Bot API → the profile and the user
in the RouterOS simulator with the package's limits and a Mikhmon comment → credentials on the fake
WAHA gateway and on the page; a second press does nothing; Tolak tells the requester; audited."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.errors import ConfigError
from monitor.registration.config import PackageConfig
from monitor.registration.provision import profile_attrs, username_base
from monitor.subscriptions.mikhmon import find_expiry
from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim
from tests.fake_peers import waha_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_registration import action_of, csrf_of, free_port

ADMIN, OPERATOR = 111, 222
PACKAGE = {"name": "2M-harian", "profile": "2M-harian", "rate_limit": "2M/2M", "shared_users": 1,
           "session_timeout": "1d", "validity": "1d"}


def config(tmp_path, sim_port: int, api: FakeBotApi, wa_url: str, port: int) -> dict:
    return {"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
            "notifiers": [{"name": "wa-otp", "type": "whatsapp", "provider": "waha", "url": wa_url,
                           "to": ["subscriber"]}],
            "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                         "password": READ_PW, "timeout": 2, "mode": "poll", "poll_interval": 1,
                         "manage": {"username": "pantau-manage", "password": MANAGE_PW}}],
            "bot": {"telegram_users": {ADMIN: "admin", OPERATOR: "operator"},
                    "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 1}},
            "registration": {"listen": f"127.0.0.1:{port}", "notifier": "wa-otp", "router": "core",
                             "packages": [PACKAGE, {"name": "5M", "profile": "default"}]}}


async def register(http, base: str, gw, name: str, phone: str) -> str:
    """The person's side: form, code from the gateway, verify. Returns the status page URL."""
    async with http.get(base + "/") as r:
        page = await r.text()
    seen = len(gw.received)
    async with http.post(base + "/", data={"csrf": csrf_of(page), "name": name, "phone": phone,
                                           "package": "2M-harian", "message": ""}) as r:
        code_page = await r.text()
        assert r.status == 200, code_page
    await gw.wait_received(seen + 1, timeout=10)
    code = re.search(r"\b(\d{6})\b", gw.received[seen].fields["text"]).group(1)
    async with http.post(base + action_of(code_page), data={"csrf": csrf_of(code_page), "code": code}) as r:
        done = await r.text()
        assert r.status == 200, done
    return base + re.search(r'href="(/request/[^"]+)"', done).group(1)


def prompt_for(api: FakeBotApi, name: str) -> dict:
    return next(p for p in api.sent() if "reply_markup" in p and name in p["text"] and p["chat_id"] == ADMIN)


async def test_approve_creates_the_account_and_delivers_credentials(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        sim.version = "7.18.2"
        engine = Engine(parse_config(config(tmp_path, sim.port, api, gw.url, port)))
        await engine.start()
        base = f"http://127.0.0.1:{port}"
        try:
            status_url = await register(http, base, gw, "Budi Santoso", "0857-1234-5678")
            async with http.get(status_url) as r:
                waiting = await r.text()
                assert "Menunggu keputusan admin" in waiting and 'http-equiv="refresh"' in waiting
            await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and p["chat_id"] == ADMIN])
            prompt = prompt_for(api, "Budi Santoso")
            assert not [p for p in api.sent() if "reply_markup" in p and p["chat_id"] == OPERATOR]
            labels = [b["text"] for b in prompt["reply_markup"]["inline_keyboard"][0]]
            assert labels == ["Setujui", "Setujui: 5M", "Tolak"]
            yes = prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            await api.press(OPERATOR, yes, prompt["_message_id"])  # not an admin: refused
            await api.wait_for(lambda: [a for a in api.sent("answerCallbackQuery") if a.get("text")])
            assert sim.menus["/ip/hotspot/user"].rows(["?profile=2M-harian"]) == []
            await api.press(ADMIN, yes, prompt["_message_id"])
            await api.press(ADMIN, yes, prompt["_message_id"])  # a double press: nothing more
            await api.wait_for(lambda: [p for p in api.sent("editMessageText") if "Disetujui" in p["text"]])
            await api.wait_for(lambda: [a for a in api.sent("answerCallbackQuery") if "Sudah diputuskan"
                                        in a.get("text", "")])
            users = sim.menus["/ip/hotspot/user"].rows(["?profile=2M-harian"])
            assert len(users) == 1
            user = users[0]
            assert re.fullmatch(r"budi\d{3}", user["name"])
            assert "WA 6285712345678" in user["comment"]
            expires = find_expiry(user["comment"], ZoneInfo("Asia/Jakarta"))
            assert expires is not None and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", user["comment"])
            left = expires.timestamp() - datetime.now().timestamp()
            assert 86400 - 120 < left <= 86400 + 1
            profile = sim.menus["/ip/hotspot/user/profile"].rows(["?name=2M-harian"])[0]
            assert profile["rate-limit"] == "2M/2M" and profile["shared-users"] == "1"
            assert profile["session-timeout"] in ("1d", "1d00:00:00", "24:00:00")
            await gw.wait_received(2, timeout=10)
            credentials = gw.received[1].fields
            assert credentials["chatId"] == "6285712345678@c.us"
            assert f"User: {user['name']}" in credentials["text"] and f"Sandi: {user['password']}" in credentials["text"]
            async with http.get(status_url) as r:
                shown = await r.text()
                assert user["name"] in shown and user["password"] in shown
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        audit = db.execute("SELECT identity, command, result FROM bot_audit WHERE command LIKE 'registration.%' "
                           "ORDER BY id").fetchall()
        assert audit == [(f"tg:{OPERATOR}", "registration.approve", "denied"),
                         (f"tg:{ADMIN}", "registration.approve", "ok")]
        assert all(user["password"] not in str(row) for row in db.execute("SELECT * FROM bot_audit"))
        assert db.execute("SELECT status, username FROM registration_requests").fetchall() == \
            [("approved", user["name"])]
        assert len(gw.received) == 2  # code + credentials, once


async def test_reject_tells_the_requester(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        engine = Engine(parse_config(config(tmp_path, sim.port, api, gw.url, port)))
        await engine.start()
        base = f"http://127.0.0.1:{port}"
        try:
            status_url = await register(http, base, gw, "Ani", "081234567890")
            await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and p["chat_id"] == ADMIN])
            prompt = prompt_for(api, "Ani")
            no = prompt["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
            await api.press(ADMIN, no, prompt["_message_id"])
            await gw.wait_received(2, timeout=10)
            assert "ditolak" in gw.received[1].fields["text"]
            assert gw.received[1].fields["chatId"] == "6281234567890@c.us"
            async with http.get(status_url) as r:
                assert "ditolak" in await r.text()
            assert sim.menus["/ip/hotspot/user"].rows([]) == []
            edited = await api.wait_for(lambda: [p for p in api.sent("editMessageText") if "Ditolak" in p["text"]])
            assert "Balas pesan ini" in edited[0]["text"]
            for user in (OPERATOR, ADMIN):  # the admin's reply to the prompt is the reason; not an operator's
                await api._push({"message": {"message_id": 900 + user, "date": 1800000000,
                                             "from": {"id": user, "is_bot": False, "first_name": "op"},
                                             "chat": {"id": ADMIN}, "text": f"Kuota desa penuh {user}",
                                             "reply_to_message": {"message_id": prompt["_message_id"]}}})
            await gw.wait_received(3, timeout=10)
            assert "Alasan: Kuota desa penuh 111" in gw.received[2].fields["text"]
            assert all("222" not in r.fields["text"] for r in gw.received)
        finally:
            await engine.stop(grace=0.2)


async def test_admin_approves_another_package(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        engine = Engine(parse_config(config(tmp_path, sim.port, api, gw.url, port)))
        await engine.start()
        try:
            await register(http, f"http://127.0.0.1:{port}", gw, "Rina", "081234567891")
            await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and p["chat_id"] == ADMIN])
            prompt = prompt_for(api, "Rina")
            other = prompt["reply_markup"]["inline_keyboard"][0][1]
            assert other["text"] == "Setujui: 5M"
            await api.press(ADMIN, other["callback_data"], prompt["_message_id"])
            await gw.wait_received(2, timeout=10)
            assert "Paket: 5M" in gw.received[1].fields["text"] and "Berlaku" not in gw.received[1].fields["text"]
            users = sim.menus["/ip/hotspot/user"].rows([])
            assert [(u["profile"], u["comment"]) for u in users] == [("default", "WA 6281234567891 pantau")]
            assert sim.menus["/ip/hotspot/user/profile"].rows(["?name=2M-harian"]) == []  # not touched
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        assert db.execute("SELECT package, status FROM registration_requests").fetchall() == [("5M", "approved")]


async def test_approvals_need_a_manage_user_and_the_telegram_bot(tmp_path):
    async with FakeBotApi() as api:
        data = config(tmp_path, 1, api, "http://127.0.0.1:9", 0)
        del data["routers"][0]["manage"]
        del data["bot"]
        engine = Engine(parse_config(data))
        with pytest.raises(ConfigError) as err:
            await engine.start()
        await engine.stop(grace=0.1)
    assert any("has no manage: user" in p for p in err.value.problems)
    assert any("bot.telegram" in p for p in err.value.problems)


def test_helpers():
    def timeout(seconds: float) -> str:  # session-timeout in the form RouterOS takes
        return profile_attrs(PackageConfig(name="p", profile="p", session_timeout=seconds))["session-timeout"]

    assert timeout(90000) == "1d1h" and timeout(3600) == "1h"
    assert username_base("Budi Santoso") == "budi" and username_base("  ") == "user"
    assert username_base("Ñoño") == "oo"


async def test_an_interrupted_approval_is_marked_failed_not_retried(tmp_path):
    from monitor.registration.store import RegistrationStore

    store = RegistrationStore(tmp_path / "state.db")
    store.add("r1", now=0, name="x", phone="6281234567890", package="2M-harian", message="", ip="1", code="1", ttl=60)
    store.check_code("r1", "1", now=1, max_attempts=5)
    assert store.claim("r1", "approving", by="tg:111")  # the crash came right after the press
    store.close()
    async with make_sim() as sim, FakeBotApi() as api:
        engine = Engine(parse_config(config(tmp_path, sim.port, api, "http://127.0.0.1:9", free_port())))
        await engine.start()
        await engine.stop(grace=0.2)
        assert sim.menus["/ip/hotspot/user"].rows([]) == []
    db = sqlite3.connect(tmp_path / "state.db")
    status, detail = db.execute("SELECT status, detail FROM registration_requests").fetchone()
    assert status == "failed" and detail.startswith("interrupted")
