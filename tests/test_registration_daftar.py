"""/daftar in the bot and approval by WhatsApp code, end to end: a Telegram user on no list talks
to the fake Bot API (getUpdates, callback queries, a shared contact), the request reaches the admins
(Telegram buttons, WhatsApp code through the fake WAHA gateway and pantau's signed WAHA webhook),
the account appears in the RouterOS simulator, the credentials arrive in the user's Telegram chat.
Also: other commands still refused, someone else's contact refused, a restart mid-conversation, a
typed number through the WhatsApp one-time code, a decision from Telegram and WhatsApp executing
once, and the abuse limits."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys

import aiohttp
import yaml

from monitor.config.model import parse_config
from monitor.delivery.phone import mask_recipient
from monitor.engine import Engine
from tests.bot_helpers import make_sim
from tests.fake_peers import waha_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_bot_whatsapp import KEY, sign, waha_event
from tests.test_registration import GOOD, free_port, problems
from tests.test_registration_approval import ADMIN, config

STRANGER, OTHER, THIRD = 333, 444, 555
ADMIN_WA = "6281234567890"


def with_whatsapp(tmp_path, sim_port: int, api: FakeBotApi, wa_url: str, port: int) -> dict:
    """The approval config plus the bot's WhatsApp inbound (WAHA) with a WhatsApp admin."""
    data = config(tmp_path, sim_port, api, wa_url, port)
    data["http"] = {"listen": f"127.0.0.1:{free_port()}"}
    data["bot"]["whatsapp_numbers"] = {ADMIN_WA: "admin"}
    data["bot"]["whatsapp"] = {"provider": "waha", "notifier": "wa-otp", "webhook_key": KEY}
    return data


def texts(api: FakeBotApi, chat: int, method: str = "sendMessage") -> list[str]:
    return [p["text"] for p in api.sent(method) if str(p.get("chat_id")) == str(chat)]


async def said(api: FakeBotApi, chat: int, needle: str, method: str = "sendMessage") -> list[dict]:
    return await api.wait_for(lambda: [p for p in api.sent(method)
                                       if str(p.get("chat_id")) == str(chat) and needle in p["text"]])


async def prompt(api: FakeBotApi, name: str) -> dict:
    found = await api.wait_for(lambda: [p for p in api.sent() if p["chat_id"] == ADMIN and "reply_markup" in p
                                        and name in p["text"]])
    return found[0]


def wa_texts(gw, to: str) -> list[str]:
    return [r.fields["text"] for r in gw.received if r.fields.get("chatId") == f"{to}@c.us"]


async def wa_said(gw, to: str, needle: str, timeout: float = 20.0) -> str:
    """The newest WhatsApp text to ``to`` containing ``needle`` (waits for it)."""
    async with asyncio.timeout(timeout):
        while not (found := [t for t in wa_texts(gw, to) if needle in t]):
            await gw.wait_received(len(gw.received) + 1, timeout=timeout)  # no await between: no race
    return found[-1]


async def test_daftar_end_to_end_with_the_shared_contact(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw:
        engine = Engine(parse_config(config(tmp_path, sim.port, api, gw.url, port)))
        await engine.start()
        try:
            await api.message(STRANGER, "/bantuan")
            await said(api, STRANGER, "/daftar")
            await api.message(STRANGER, "/resource")  # still refused, as before
            await said(api, STRANGER, "tidak terdaftar")
            await api.message(STRANGER, "/start daftar")  # the login page's link t.me/BOT?start=daftar
            listing = (await said(api, STRANGER, "Pilih paket"))[0]
            buttons = listing["reply_markup"]["inline_keyboard"][0]
            assert [b["text"] for b in buttons] == ["2M-harian", "5M"]
            await api.press(OTHER, buttons[0]["callback_data"], listing["_message_id"])  # not their conversation
            await api.press(STRANGER, buttons[0]["callback_data"], listing["_message_id"])
            await said(api, STRANGER, "Ketik nama", "editMessageText")
            await api.message(STRANGER, "Budi Santoso")
            ask = (await said(api, STRANGER, "Nomor WhatsApp"))[0]
            assert ask["reply_markup"]["keyboard"][0][0]["request_contact"] is True
            await api.contact(STRANGER, "+62 857-1234-5678", OTHER)  # someone else's card
            await said(api, STRANGER, "Hanya nomor Telegram Anda sendiri")
            await api.contact(STRANGER, "+62 857-1234-5678", None)  # a card without user id: same
            await api.wait_for(lambda: len([t for t in texts(api, STRANGER) if "Hanya nomor" in t]) == 2)
            assert not [p for p in api.sent() if p["chat_id"] == ADMIN]
            await api.contact(STRANGER, "+62 857-1234-5678", STRANGER)
            await said(api, STRANGER, "Terima kasih, Budi Santoso")
            request = await prompt(api, "Budi Santoso")
            assert "Lewat: Telegram /daftar" in request["text"] and "6285712345678" in request["text"]
            yes = request["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            await api.press(ADMIN, yes, request["_message_id"])
            credentials = (await said(api, STRANGER, "Akun hotspot Anda sudah aktif"))[0]["text"]
            users = sim.menus["/ip/hotspot/user"].rows(["?profile=2M-harian"])
            assert len(users) == 1 and "WA 6285712345678" in users[0]["comment"]
            assert f"User: {users[0]['name']}" in credentials and f"Sandi: {users[0]['password']}" in credentials
            profile = sim.menus["/ip/hotspot/user/profile"].rows(["?name=2M-harian"])[0]
            assert profile["rate-limit"] == "2M/2M"
            await gw.wait_received(1, timeout=10)  # the vouched number gets them on WhatsApp too, no code
            assert len(gw.received) == 1 and users[0]["password"] in gw.received[0].fields["text"]
        finally:
            await engine.stop(grace=0.2)
        # no conversation left; audited; no password in the audit
        db = sqlite3.connect(tmp_path / "state.db")
        assert db.execute("SELECT COUNT(*) FROM registration_signup").fetchone() == (0,)
        assert db.execute("SELECT channel, chat FROM registration_origin").fetchall() == [("telegram", str(STRANGER))]
        audit = db.execute("SELECT identity, command, result FROM bot_audit ORDER BY id").fetchall()
        assert (f"tg:{STRANGER}", "resource", "refused") in audit
        assert (f"tg:{ADMIN}", "registration.approve", "ok") in audit
        assert all(users[0]["password"] not in str(row) for row in db.execute("SELECT * FROM bot_audit"))


async def test_restart_mid_conversation_typed_number_and_rejection_with_reason(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw:
        data = config(tmp_path, sim.port, api, gw.url, port)
        engine = Engine(parse_config(data))
        await engine.start()
        try:
            await api.message(STRANGER, "/daftar 5m Ani Wijaya")  # the text fallback, any case
            await said(api, STRANGER, "Nomor WhatsApp")
        finally:
            await engine.stop(grace=0.2)
        assert (tmp_path / "state.db").stat().st_mode & 0o777 == 0o600
        engine = Engine(parse_config(data))  # a restart: the conversation goes on from the DB
        await engine.start()
        try:
            await api.message(STRANGER, "0812 3456 7891")  # typed: a one-time code over WhatsApp first
            sent = (await said(api, STRANGER, "Kode verifikasi dikirim ke WhatsApp"))[0]["text"]
            assert mask_recipient("6281234567891") in sent and "6281234567891" not in sent
            await gw.wait_received(1, timeout=10)
            code = re.search(r"\b(\d{6})\b", gw.received[0].fields["text"]).group(1)
            assert gw.received[0].fields["chatId"] == "6281234567891@c.us"
            await api.message(STRANGER, "000000" if code != "000000" else "111111")
            await said(api, STRANGER, "Kode salah")
            assert not [p for p in api.sent() if p["chat_id"] == ADMIN]  # not before the code
            await api.message(STRANGER, code)
            request = await prompt(api, "Ani Wijaya")
            assert "Paket: 5M" in request["text"]
            no = request["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
            await api.press(ADMIN, no, request["_message_id"])
            await said(api, STRANGER, "ditolak")
            await gw.wait_received(2, timeout=10)
            assert "ditolak" in gw.received[1].fields["text"]  # the verified number hears it too
            await api._push({"message": {"message_id": 990, "date": 1800000000, "chat": {"id": ADMIN},
                                         "from": {"id": ADMIN, "is_bot": False, "first_name": "a"},
                                         "text": "Kuota desa penuh",
                                         "reply_to_message": {"message_id": request["_message_id"]}}})
            await said(api, STRANGER, "Alasan: Kuota desa penuh")
            assert sim.menus["/ip/hotspot/user"].rows([]) == []
        finally:
            await engine.stop(grace=0.2)


async def test_whatsapp_code_approval_and_one_execution_across_channels(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, aiohttp.ClientSession() as http:
        data = with_whatsapp(tmp_path, sim.port, api, gw.url, port)
        engine = Engine(parse_config(data))
        await engine.start()
        hook = f"http://{data['http']['listen']}/bot/whatsapp"
        ids = iter(range(1, 100))

        async def wa(sender: str, text: str) -> None:
            body = waha_event(sender, text, f"m{next(ids)}")
            async with http.post(hook, data=body, headers={"X-Webhook-Hmac": sign(body),
                                                           "Content-Type": "application/json"}) as r:
                assert r.status == 200

        async def register(user: int, name: str) -> str:
            """/daftar without a number; returns the request's WhatsApp code."""
            await api.message(user, f"/daftar 2M-harian {name}")
            await said(api, user, "Nomor WhatsApp")
            await api.message(user, "Lewati")
            await said(api, user, f"Terima kasih, {name}")
            asked = await wa_said(gw, ADMIN_WA, f"Nama: {name}")
            return re.search(r"Kode: ([A-Z0-9]{4})", asked).group(1)

        try:
            code = await register(STRANGER, "Budi")
            assert f"SETUJUI {code}" in wa_texts(gw, ADMIN_WA)[-1]
            request = await prompt(api, "Budi")
            assert f"Kode: <code>{code}</code>" in request["text"]
            await wa("6289999999999", f"SETUJUI {code}")  # a number on no list: refused, nothing happens
            await wa(ADMIN_WA, f"setujui {code.lower()}")
            await said(api, STRANGER, "Akun hotspot Anda sudah aktif")
            users = sim.menus["/ip/hotspot/user"].rows([])
            assert len(users) == 1 and users[0]["profile"] == "2M-harian" and "WA" not in users[0]["comment"]
            await wa_said(gw, ADMIN_WA, f"Disetujui: Budi → user {users[0]['name']}")
            # the Telegram admins' prompt says so and loses its buttons (no stale Setujui to press)
            closed = await api.wait_for(lambda: [p for p in api.sent("editMessageText")
                                                 if p.get("message_id") == request["_message_id"]])
            assert f"Disetujui oleh wa:{ADMIN_WA}: Budi" in closed[0]["text"] and "reply_markup" not in closed[0]
            yes = request["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            await api.press(ADMIN, yes, request["_message_id"])  # second decider, on Telegram
            late = await api.wait_for(lambda: [a for a in api.sent("answerCallbackQuery")
                                               if "Sudah diputuskan" in a.get("text", "")])
            assert f"oleh wa:{ADMIN_WA}" in late[0]["text"]
            await wa(ADMIN_WA, f"TOLAK {code} terlambat")
            assert f"oleh wa:{ADMIN_WA}" in await wa_said(gw, ADMIN_WA, "Sudah diputuskan (approved")
            assert len(sim.menus["/ip/hotspot/user"].rows([])) == 1  # executed once
            assert not [t for t in wa_texts(gw, "6289999999999") if "Disetujui" in t]

            other = await register(OTHER, "Citra")  # another package by code
            await wa(ADMIN_WA, f"SETUJUI {other} 5m")
            await said(api, OTHER, "Paket: 5M")
            third = await register(THIRD, "Dedi")  # rejection with the reason inline
            await wa(ADMIN_WA, f"SETUJUI {third} GOLD")
            await wa_said(gw, ADMIN_WA, "Paket GOLD tidak ada")
            await wa(ADMIN_WA, f"TOLAK {third} kuota desa penuh")
            await said(api, THIRD, "Alasan: kuota desa penuh")
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        audit = db.execute("SELECT channel, identity, command, result, detail FROM bot_audit WHERE command LIKE "
                           "'registration.%' ORDER BY id").fetchall()
        assert audit == [("whatsapp", "wa:6289999999999", "registration.code", "refused", "unknown identity"),
                         ("whatsapp", f"wa:{ADMIN_WA}", "registration.approve", "ok", None),
                         ("whatsapp", f"wa:{ADMIN_WA}", "registration.approve", "ok", None),
                         ("whatsapp", f"wa:{ADMIN_WA}", "registration.reject", "ok", "with reason")]
        assert db.execute("SELECT status, package FROM registration_requests ORDER BY created").fetchall() == \
            [("approved", "2M-harian"), ("approved", "5M"), ("rejected", "2M-harian")]


async def test_abuse_limits_and_one_open_request(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw:
        data = config(tmp_path, sim.port, api, gw.url, port)
        data["registration"].update({"per_telegram_user": 2, "max_pending": 1})
        data["bot"]["rate_limit"] = {"count": 30, "per": "1m"}
        engine = Engine(parse_config(data))
        await engine.start()
        try:
            for _ in range(2):
                await api.message(STRANGER, "/daftar")
                await api.message(STRANGER, "/batal")
            await api.wait_for(lambda: len([t for t in texts(api, STRANGER) if "dibatalkan" in t]) == 2)
            await api.message(STRANGER, "/daftar")  # a third conversation in the window: refused
            await said(api, STRANGER, "Terlalu banyak permintaan")
            await api.message(OTHER, "/daftar 2M-harian Eko")
            await said(api, OTHER, "Nomor WhatsApp")
            await api.message(OTHER, "Lewati")
            await prompt(api, "Eko")
            await api.message(OTHER, "/daftar")  # one open request per user
            await said(api, OTHER, "masih menunggu")
            await api.message(THIRD, "/daftar")  # max_pending 1 reached
            await said(api, THIRD, "Terlalu banyak permintaan yang menunggu")
            await api.message(THIRD, "halo")  # not in a conversation: ignored, like any stranger's text
            await api.message(THIRD, "/daftar@pantau_bot")
            await api.wait_for(lambda: len([t for t in texts(api, THIRD) if "menunggu" in t]) == 2)
            assert not [t for t in texts(api, THIRD) if "halo" in t.lower()]
        finally:
            await engine.stop(grace=0.2)


async def test_the_core_refuses_strangers_except_the_public_commands(tmp_path):
    """bot.unknown: silent stays silent for everything but the public commands; groups and WhatsApp
    strangers do not get /daftar."""
    from monitor.bot.access import Identity
    from tests.bot_helpers import make_core

    core = make_core(tmp_path, [], unknown="silent")
    calls = []

    async def daftar(who, channel, args, markup):
        calls.append((who.key, args))
        return None if channel != "telegram" else []

    core.public["daftar"] = daftar
    stranger = Identity("tg:77", None, "77")
    assert await core.handle(stranger, "telegram", "/resource") == []
    assert await core.handle(stranger, "telegram", "/daftar 5M Ani") == []
    assert calls == [("tg:77", ["5M", "Ani"])]
    assert await core.handle(Identity("wa:628", None, "628"), "whatsapp", "/daftar") == []  # None → refused
    rows = [(r.identity, r.command, r.result) for r in core.store.audit_rows()]
    assert rows == [("tg:77", "resource", "refused"), ("wa:628", "daftar", "refused")]
    assert await core.handle(stranger, "telegram", "SETUJUI ABCD") == []  # no decision codes: not a command


def test_bad_signup_config():
    for change, expected in (({"per_telegram_user": 0}, "registration.per_telegram_user"),
                             ({"telegram_signup": "maybe"}, "registration.telegram_signup")):
        found = problems({"registration": {**GOOD, **change}})
        assert any(p.startswith(expected) for p in found), found


def test_bad_signup_config_exits_2(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"plugins_dir": None, "registration": {**GOOD, "per_telegram_user": "many"}}))
    proc = subprocess.run([sys.executable, "-m", "monitor", "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "registration.per_telegram_user" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_subscriber_forget_takes_the_telegram_origin_too(tmp_path):
    from monitor.registration.signup_store import SignupStore
    from monitor.registration.store import RegistrationStore

    db = tmp_path / "state.db"
    store, origins = RegistrationStore(db), SignupStore(db)
    for rid in ("r1", "r3"):
        store.add(rid, now=0, name="x", phone="", package="2M", message="", ip="telegram", code="1", ttl=60)
        origins.set_origin(rid, "telegram", f"chat-{rid}")
    store.finish("r1", "approved", username="budi482")
    store.close()
    origins.close()
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"state": {"path": str(db)}, "plugins_dir": None}))
    proc = subprocess.run([sys.executable, "-m", "monitor", "subscriber", "forget", "budi482", "-c", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sqlite3.connect(db).execute("SELECT request_id, chat FROM registration_origin").fetchall() == \
        [("r3", "chat-r3")]


async def test_telegram_and_whatsapp_deciding_at_once_execute_once(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, aiohttp.ClientSession() as http:
        data = with_whatsapp(tmp_path, sim.port, api, gw.url, port)
        engine = Engine(parse_config(data))
        await engine.start()
        try:
            await api.message(STRANGER, "/daftar 2M-harian Budi")
            await said(api, STRANGER, "Nomor WhatsApp")
            await api.message(STRANGER, "-")
            code = re.search(r"Kode: ([A-Z0-9]{4})", await wa_said(gw, ADMIN_WA, "Nama: Budi")).group(1)
            request = await prompt(api, "Budi")
            yes = request["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            body = waha_event(ADMIN_WA, f"SETUJUI {code}", "race-1")

            async def whatsapp() -> None:
                async with http.post(f"http://{data['http']['listen']}/bot/whatsapp", data=body,
                                     headers={"X-Webhook-Hmac": sign(body), "Content-Type": "application/json"}) as r:
                    assert r.status == 200

            await asyncio.gather(whatsapp(), api.press(ADMIN, yes, request["_message_id"]))
            answer = (await api.wait_for(lambda: api.sent("answerCallbackQuery")))[0]["text"]
            await api.wait_for(lambda: [t for t in texts(api, STRANGER) if "Akun hotspot Anda sudah aktif" in t])
            assert len(sim.menus["/ip/hotspot/user"].rows([])) == 1
            telegram_won = answer == "Disetujui."
            if telegram_won:
                assert f"oleh tg:{ADMIN}" in await wa_said(gw, ADMIN_WA, "Sudah diputuskan")
            else:
                assert f"oleh wa:{ADMIN_WA}" in answer
                await wa_said(gw, ADMIN_WA, "Disetujui: Budi → user")
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        rows = db.execute("SELECT channel FROM bot_audit WHERE command='registration.approve' AND result='ok'").fetchall()
        assert rows == [("telegram",)] if telegram_won else [("whatsapp",)]
        assert len([t for t in texts(api, STRANGER) if "Akun hotspot Anda sudah aktif" in t]) == 1


def test_signup_store_conversations_and_codes(tmp_path):
    from monitor.registration.signup_store import CODE_ALPHABET, SignupStore
    from monitor.registration.store import RegistrationStore

    requests, store = RegistrationStore(tmp_path / "s.db"), SignupStore(tmp_path / "s.db")
    store.save(7, "7", "name", now=100.0, package="5M")
    assert store.conversation(7, now=3699.0, ttl=3600).package == "5M"
    assert store.conversations(3699.0, 3600) == 1
    assert store.conversation(7, now=3700.0, ttl=3600) is None  # idle for the ttl: forgotten
    assert store.conversations(3700.0, 3600) == 0
    codes = set()
    for i in range(300):
        requests.add(f"r{i}", now=i, name="x", phone="", package="5M", message="", ip="telegram", code="1", ttl=60)
        requests.check_code(f"r{i}", "1", now=i, max_attempts=5)
        code = store.assign_code(f"r{i}")
        assert len(code) == 4 and set(code) <= set(CODE_ALPHABET) and store.assign_code(f"r{i}") == code
        codes.add(code)
    assert len(codes) == 300  # unique among open requests
    assert store.by_code(code.lower()) == "r299" and store.origin("r299").channel == "page"
    store.set_origin("r1", "telegram", "42")
    assert store.open_request("42") == "r1"
    requests.finish("r1", "approved")
    assert store.open_request("42") is None


async def test_decision_codes_go_through_the_rate_limit_and_roles(tmp_path):
    from monitor.bot.access import Identity
    from tests.bot_helpers import ADMIN as CORE_ADMIN
    from tests.bot_helpers import Clock, make_core

    clock = Clock()
    core = make_core(tmp_path, [], clock=clock, rate_limit={"count": 2, "per": 60})
    seen = []

    async def decide(who, channel, code, approve, rest, markup):
        seen.append((who.key, code, approve, rest))
        return []

    core.decision_code = decide
    admin = Identity(f"tg:{CORE_ADMIN}", "admin", str(CORE_ADMIN))
    assert await core.handle(admin, "telegram", "setujui k7f2 5M") == []
    assert await core.handle(admin, "whatsapp", "TOLAK K7F2 kuota desa\npenuh") == []
    limited = await core.handle(admin, "telegram", "SETUJUI K7F2")
    assert "Terlalu banyak" in limited[0].text
    clock.now += 61
    stranger = Identity("wa:6289", None, "6289")
    assert "tidak terdaftar" in (await core.handle(stranger, "whatsapp", "SETUJUI K7F2"))[0].text
    assert seen == [(admin.key, "K7F2", True, "5M"), (admin.key, "K7F2", False, "kuota desa\npenuh")]


async def test_a_typed_number_shares_the_pages_per_number_budget(tmp_path):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw:
        data = config(tmp_path, sim.port, api, gw.url, port)
        data["registration"]["per_number"] = 1
        engine = Engine(parse_config(data))
        await engine.start()
        try:
            await api.message(STRANGER, "/daftar 5M Ani")
            await said(api, STRANGER, "Nomor WhatsApp")
            await api.message(STRANGER, "0812 3456 7891")
            await said(api, STRANGER, "Kode verifikasi dikirim")
            await api.message(STRANGER, "/daftar 5M Ani")  # starting over drops the request waiting for its code
            await api.wait_for(lambda: len([t for t in texts(api, STRANGER) if "Nomor WhatsApp" in t]) == 2)
            await api.message(STRANGER, "081234567891")
            await said(api, STRANGER, "Terlalu banyak permintaan")
            assert len(gw.received) == 1  # one code to that number in the window
            await api.message(STRANGER, "Lewati")  # without a number it still goes through
            await prompt(api, "Ani")
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        assert db.execute("SELECT status, phone FROM registration_requests").fetchall() == [("verified", "")]
