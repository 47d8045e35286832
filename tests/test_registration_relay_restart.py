"""Relay threads and rejection-reason prompts survive a restart: messages relayed by one engine (a
WhatsApp stranger over the Fonnte webhook, a page chat) and a rejection prompt; the engine stops; a
new engine over the same state file takes the admins' Telegram replies to them and delivers each to
its person. And the store itself: retention with a driven clock, a reason taken once, 0600."""

from __future__ import annotations

import os
import re
import stat

import aiohttp

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.registration.threads import RelayStore
from tests.bot_helpers import make_sim
from tests.fake_peers import fonnte_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_bot_whatsapp import KEY, free_port
from tests.test_registration import action_of, csrf_of
from tests.test_registration_chat import ADMIN, Visitor, admin_reply, chat_config, gw_text, relayed_with
from tests.test_restart_e2e import wait_until

STRANGER = "6281111111111"
ANI = "6281222223333"


async def test_replies_after_a_restart_reach_whatsapp_the_page_and_the_requester(tmp_path):
    reg_port, http_port = free_port(), free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api, aiohttp.ClientSession() as http:
        data = chat_config(tmp_path, sim.port, gw.url, api, reg_port, self_service=True, router="core")
        data["http"]["listen"] = f"127.0.0.1:{http_port}"
        base = f"http://127.0.0.1:{reg_port}"
        engine = Engine(parse_config(data))
        await engine.start()
        visitor = Visitor(base)
        try:
            await visitor.reload()
            # 1. a WhatsApp stranger, relayed
            form = {"device": "6280000000", "sender": STRANGER, "message": "Mau pasang wifi"}
            async with http.post(f"http://127.0.0.1:{http_port}/bot/whatsapp", params={"key": KEY}, data=form) as r:
                assert r.status == 200
            wa_thread = (await api.wait_for(lambda: relayed_with(api, "Mau pasang wifi")))[0]
            # 2. a page chat, relayed
            assert (await visitor.say("Apakah ada paket malam?"))[0] == 303
            page_thread = (await api.wait_for(lambda: relayed_with(api, "paket malam")))[0]
            # 3. a request, verified, then rejected: its prompt waits for the reason
            async with visitor.http.get(base + "/") as r:
                page = await r.text()
            async with visitor.http.post(base + "/", data={"csrf": csrf_of(page), "name": "Ani",
                                                           "phone": "0812 2222 3333", "package": "2M"}) as r:
                code_page = await r.text()
            await gw.wait_received(2, timeout=10)  # the self-service answer, then the code
            code = re.search(r"\b(\d{6})\b", gw_text(gw.received[1])).group(1)
            async with visitor.http.post(base + action_of(code_page), data={"csrf": csrf_of(code_page),
                                                                            "code": code}) as r:
                assert r.status == 200
            prompt = (await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and "Ani" in p["text"]]))[0]
            no = prompt["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
            await api.press(ADMIN, no, prompt["_message_id"])
            await wait_until(lambda: [r for r in gw.received if r.fields["target"] == ANI
                                      and "ditolak" in gw_text(r)], timeout=10)
            before = len(gw.received)
        finally:
            await engine.stop(grace=0.2)

        engine = Engine(parse_config(data))  # the restart: a new engine over the same state file
        await engine.start()
        try:
            await admin_reply(api, ADMIN, wa_thread["_message_id"], "Besok teknisi datang")
            await admin_reply(api, ADMIN, page_thread["_message_id"], "Ada, 10 ribu")
            await admin_reply(api, ADMIN, prompt["_message_id"], "Kuota desa penuh")
            await admin_reply(api, ADMIN, prompt["_message_id"], "Kuota desa penuh lagi")  # a reason goes once
            # the stranger, the page chat's number, the requester (the admins' WhatsApp got the request's
            # code before the restart, so counts start from what was there then)
            await gw.wait_received(before + 3, timeout=20)
            got = {(r.fields["target"], gw_text(r)) for r in gw.received[before:]}
            assert (STRANGER, "Admin: Besok teknisi datang") in got
            assert any(t == "6281222223333" and "Alasan: Kuota desa penuh" in m for t, m in got)
            assert ("6281222223333", "Admin: Ada, 10 ribu") in got
            await api.wait_for(lambda: [p for p in api.sent() if p["text"] == "Terkirim ke halaman dan WhatsApp."])
            assert "<b>Admin:</b> Ada, 10 ribu" in await visitor.reload()  # the open page, same cookie
            await api.wait_for(lambda: len([p for p in api.sent() if p.get("text") == "Alasan dikirim."]) == 1)
        finally:
            await visitor.__aexit__(None, None, None)
            await engine.stop(grace=0.2)
        # the browser verified Ani's number after its chat began: the session learned the number, so the
        # page reply went over WhatsApp too — once
        texts = [gw_text(r) for r in gw.received]
        assert texts.count("Admin: Ada, 10 ribu") == 1 and sum("Kuota desa penuh" in t for t in texts) == 1


def test_threads_expire_a_reason_is_taken_once_and_the_file_is_private(tmp_path):
    path = tmp_path / "state.db"
    store = RelayStore(path, keep=3600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    store.add_thread(111, 500, "wa", "6281111111111", now=1000)
    store.add_thread(-100123, 501, "reason", "req1", now=1000)
    assert store.thread(111, 500, now=4599) == ("wa", "6281111111111")
    assert store.thread(111, 500, now=4600) is None  # expired: not answered even before pruning
    assert store.take_thread(-100123, 501, "wa", now=1001) is None  # another kind
    assert store.take_thread(-100123, 501, "reason", now=1001) == "req1"
    assert store.take_thread(-100123, 501, "reason", now=1001) is None
    session = store.open_session("t" * 43, ip="10.5.50.9", now=1000)
    store.add_message(session.id, "visitor", "halo", now=1000)
    assert store.open_count(1000) == 1 and store.open_count(4600) == 0
    for i in range(60):
        store.add_message(session.id, "admin", f"m{i}", now=1001)
    assert len(store.messages(session.id)) == 50 and store.messages(session.id)[-1].text == "m59"
    assert store.session("t" * 43).id == session.id and store.session("u" * 43) is None
    assert store.prune(4000) == 0
    assert store.prune(4602) > 0
    assert store.session("t" * 43) is None and store.messages(session.id) == [] and store.thread(111, 500, now=0) is None
    other = store.open_session("v" * 43, ip="1", now=5000, phone="6285712345678")
    store.add_thread(111, 600, "page", other.id, now=5000)
    store.add_thread(111, 601, "wa", "6285712345678", now=5000)
    assert store.forget("6285712345678") == 3
    assert store.session("v" * 43) is None and store.thread(111, 600, now=5000) is None
    store.close()
    raw = path.read_bytes() + (path.with_name("state.db-wal").read_bytes() if path.with_name("state.db-wal").exists() else b"")
    assert b"t" * 43 not in raw  # only the token's hash is kept


async def test_a_real_pantau_run_killed_and_started_again_delivers_the_replies(tmp_path):
    """The same through `pantau run` processes: the first relays a WhatsApp message and a page chat
    and is killed with SIGKILL; the second takes the admin's replies to both."""
    import yaml

    from tests.pantau_proc import Pantau, wait_until
    from tests.test_phone_masking_sweep import config as run_config

    http_port, reg_port = free_port(), free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api, aiohttp.ClientSession() as http:
        path = tmp_path / "monitor.yaml"
        data = run_config(tmp_path, sim.port, gw.url, api, http_port, reg_port, "http://127.0.0.1:9/")
        data["routes"], data["notifiers"] = [], data["notifiers"][:1]
        del data["subscriptions"]
        path.write_text(yaml.safe_dump(data))
        visitor = Visitor(f"http://127.0.0.1:{reg_port}")
        first = Pantau(path, tmp_path / "run1.log")
        try:
            await first.wait_log("started", timeout=30)
            await visitor.reload()
            async with http.post(f"http://127.0.0.1:{http_port}/bot/whatsapp", params={"key": KEY},
                                 data={"device": "6280000000", "sender": STRANGER, "message": "Mau pasang"}) as r:
                assert r.status == 200
            wa_thread = (await api.wait_for(lambda: relayed_with(api, "Mau pasang")))[0]
            assert (await visitor.say("Paket malam ada?"))[0] == 303
            page_thread = (await api.wait_for(lambda: relayed_with(api, "Paket malam")))[0]
            first.kill9()
        finally:
            first.ensure_dead()
        second = Pantau(path, tmp_path / "run2.log")
        try:
            await second.wait_log("started", timeout=30)
            await admin_reply(api, ADMIN, wa_thread["_message_id"], "Besok pagi")
            await admin_reply(api, ADMIN, page_thread["_message_id"], "Ada, 10 ribu")
            await wait_until(lambda: any(r.fields.get("target") == STRANGER and gw_text(r) == "Admin: Besok pagi"
                                         for r in gw.received), what="WhatsApp reply after the restart")
            await second.wait_log("relay.replied", 2)
            assert "<b>Admin:</b> Ada, 10 ribu" in await visitor.reload()
            assert second.stop() == 0
        finally:
            await visitor.__aexit__(None, None, None)
            second.ensure_dead()
