"""Seed 001's story end to end through the real `pantau run` process, nobody touching Winbox or Mikhmon.

A person on the hotspot login page (RouterOS v6, as every seed router) asks for an account; the code
comes over WhatsApp (fake WAHA); the admin presses Setujui in Telegram (fake Bot API); the person
receives credentials on WhatsApp that the simulated hotspot accepts; pantau warns before the package
runs out — once, although the router reboots and pantau restarts in between — then says it has
expired, and disables the account so the same credentials no longer log in.

The package is 30 s long with one warning 20 s before the end, so the story takes about half a
minute of real time; every wait is for an observable result, with generous limits.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3

import aiohttp
import yaml
from test_restart_e2e import Pantau, wait_until

from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim
from tests.fake_peers import waha_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_registration import action_of, csrf_of, free_port

ADMIN = 111
PHONE, CHAT = "0857-1234-5678", "6285712345678@c.us"


def write_config(tmp_path, sim_port: int, api: FakeBotApi, wa_url: str, port: int):
    config = {
        "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
        "log": {"level": "info", "format": "json"},
        "routers": [{"name": "desa", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                     "password": READ_PW, "timeout": "2s", "mode": "poll", "poll_interval": "1s",
                     "manage": {"username": "pantau-manage", "password": MANAGE_PW}}],
        "notifiers": [{"name": "wa", "type": "whatsapp", "provider": "waha", "url": wa_url,
                       "to": ["subscriber"]}],
        "routes": [{"events": ["subscriber.*"], "notify": ["wa"]}],
        "bot": {"telegram_users": {ADMIN: "admin"},
                "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 1}},
        "registration": {"listen": f"127.0.0.1:{port}", "notifier": "wa", "router": "desa",
                         "packages": [{"name": "harian", "profile": "harian", "rate_limit": "2M/2M",
                                       "shared_users": 1, "validity": "30s"}]},
        "subscriptions": {"check_every": "500ms", "time_levels": ["20s"], "on_expiry": "disable"},
    }
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def to_person(gw) -> list[str]:
    return [r.fields["text"] for r in gw.received if r.fields.get("chatId") == CHAT]


async def test_seed_001_login_page_to_warning_once_across_a_reboot_and_a_restart(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        sim.version = "6.49.10 (long-term)"
        path = write_config(tmp_path, sim.port, api, gw.url, port)
        pantau = Pantau(path, tmp_path / "run1.log")
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_until(lambda: pantau.proc.poll() is None and _listening(port), timeout=30)
            # the person: the form on the login page, the code from WhatsApp
            async with http.get(base + "/") as r:
                page = await r.text()
            async with http.post(base + "/", data={"csrf": csrf_of(page), "name": "Siti Aminah", "phone": PHONE,
                                                   "package": "harian", "message": "minta akun"}) as r:
                code_page = await r.text()
                assert r.status == 200, code_page
            await wait_until(lambda: to_person(gw), timeout=20)
            code = re.search(r"\b(\d{6})\b", to_person(gw)[0]).group(1)
            async with http.post(base + action_of(code_page),
                                 data={"csrf": csrf_of(code_page), "code": code}) as r:
                assert r.status == 200

            # the admin, from Telegram
            await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and "Siti" in p["text"]])
            prompt = next(p for p in api.sent() if "reply_markup" in p and "Siti" in p["text"])
            assert prompt["chat_id"] == ADMIN
            await api.press(ADMIN, prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                            prompt["_message_id"])

            # working credentials on WhatsApp
            await wait_until(lambda: len(to_person(gw)) >= 2, timeout=20)
            credentials = to_person(gw)[1]
            user = re.search(r"User: (\S+)", credentials).group(1)
            password = re.search(r"Sandi: (\S+)", credentials).group(1)
            assert sim.hotspot_authenticate(user, password)
            assert not sim.hotspot_authenticate(user, password + "x")
            profile = sim.menus["/ip/hotspot/user/profile"].rows(["?name=harian"])[0]
            assert profile["rate-limit"] == "2M/2M" and profile["shared-users"] == "1"
            comment = sim.menus["/ip/hotspot/user"].rows([f"?name={user}"])[0]["comment"]
            assert re.match(r"[a-z]{3}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", comment), comment  # Mikhmon v6 date
            sim.hotspot_login(user, "10.5.50.20", "AA:BB:CC:00:00:20")

            # warned before the package runs out
            await wait_until(lambda: len(to_person(gw)) >= 3, timeout=25)
            assert not sim.menus["/ip/hotspot/user"].rows([f"?name={user}", "?disabled=true"])

            # the router reboots and pantau restarts: the warning is not sent again
            sim.reboot()
            pantau.stop("stop")
            pantau = Pantau(path, tmp_path / "run2.log")

            # the package ends: told once, disabled, the session ended, the credentials refused
            await wait_until(lambda: len(to_person(gw)) >= 4, timeout=40)
            await wait_until(lambda: not sim.hotspot_authenticate(user, password), timeout=20)
            assert sim.menus["/ip/hotspot/active"].rows([f"?user={user}"]) == []
            # a few more rounds (every 500 ms): nothing more reaches the person
            await asyncio.sleep(3)
            pantau.stop("stop")
        finally:
            pantau.ensure_dead()

    messages = to_person(gw)
    assert len(messages) == 4, messages
    assert re.search(r"\b\d{6}\b", messages[0])
    assert user in messages[1] and password in messages[1]
    assert password not in messages[2] + messages[3]
    assert "Masa Aktif Hampir Habis" in messages[2] and f"User: {user}" in messages[2]
    assert "Paket Habis" in messages[3] and "dinonaktifkan" in messages[3]
    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("SELECT status, username FROM registration_requests").fetchall() == [("approved", user)]
    prompts = [p for p in api.sent() if "reply_markup" in p and "Siti" in p.get("text", "")]
    assert len(prompts) == 1
    logs = (tmp_path / "run1.log").read_text() + (tmp_path / "run2.log").read_text()
    assert password not in logs and "85712345678" not in logs


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
