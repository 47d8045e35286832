"""WhatsApp self-service through the bot's real WhatsApp inbound (Fonnte webhook) and the fake
Fonnte gateway: a subscriber's number gets its accounts (data and time left, validity, online), a
number without an account gets the registration link, operators still reach the bot; rate limited."""

from __future__ import annotations

import aiohttp
import pytest

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.errors import ConfigError
from tests.bot_helpers import make_sim
from tests.fake_peers import fonnte_peer
from tests.test_bot_whatsapp import ADMIN_WA, KEY, config, free_port

MB = 1024 * 1024
SUBSCRIBER = "6285712345678"
STRANGER = "6281111111111"


def with_self_service(tmp_path, sim_port: int, http_port: int, gw_url: str) -> dict:
    data = config(tmp_path, sim_port, http_port, "fonnte", gw_url)
    data["registration"] = {"listen": "127.0.0.1:0", "notifier": "wa", "packages": [{"name": "2M", "profile": "2M"}],
                            "link": "http://10.5.50.2:8090/", "self_service": True}
    return data


async def test_cek_for_a_subscriber_and_the_link_for_a_stranger(tmp_path):
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, aiohttp.ClientSession() as http:
        budi = sim.add_hotspot_user("budi", profile="2M-harian", comment="2099-11-25 08:30:00 WA 0857-1234-5678")
        menu = sim.menus["/ip/hotspot/user"]
        menu.set(budi, {"limit-bytes-total": str(1000 * MB), "bytes-in": str(100 * MB), "bytes-out": str(300 * MB),
                        "limit-uptime": "10h", "uptime": "4h"})
        sim.hotspot_login("budi", "10.5.50.9", "AA:BB:CC:00:00:09")
        engine = Engine(parse_config(with_self_service(tmp_path, sim.port, port, gw.url)))
        await engine.start()
        url = f"http://127.0.0.1:{port}/bot/whatsapp"

        async def say(sender: str, text: str, count: int) -> str:
            async with http.post(url, params={"key": KEY}, data={"device": "6280000000", "sender": sender,
                                                                 "message": text}) as r:
                assert r.status == 200
            await gw.wait_received(count, timeout=10)
            assert gw.received[count - 1].fields["target"] == sender
            return gw.received[count - 1].fields["message"]

        try:
            answer = await say(SUBSCRIBER, "cek", 1)
            assert "User: budi (paket 2M-harian)" in answer and "Sedang online" in answer
            assert "Sisa kuota: 600.0 MB dari 1000.0 MB" in answer
            assert "Sisa waktu online: 6j dari 10j" in answer
            assert "Berlaku sampai: 25/11/2099 08:30" in answer
            assert "bantuan" in await say(SUBSCRIBER, "halo", 2)
            assert "Daftar di: http://10.5.50.2:8090/" in await say(STRANGER, "cek", 3)
            assert "Versi:" in await say(ADMIN_WA, "/resource", 4)  # operators still reach the bot
        finally:
            await engine.stop(grace=0.2)


async def test_cek_for_a_pppoe_customer(tmp_path):
    """A PPPoE customer's number is in the secret's comment: cek answers with its validity and
    whether it is connected, not with the registration link."""
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, aiohttp.ClientSession() as http:
        sim.add_ppp_secret("pelanggan-017", profile="10M", comment="nov/30/2099 10:00:00 WA 0857 1234 5678")
        sim.add_ppp_secret("pelanggan-018", profile="10M", comment="dec/01/2099 10:00:00 WA 0812 9999 0000")
        sim.ppp_connect("pelanggan-017", caller_id="AA:BB:CC:00:01:17", address="10.10.0.17")
        engine = Engine(parse_config(with_self_service(tmp_path, sim.port, port, gw.url)))
        await engine.start()
        try:
            async with http.post(f"http://127.0.0.1:{port}/bot/whatsapp", params={"key": KEY},
                                 data={"device": "6280000000", "sender": SUBSCRIBER, "message": "cek"}) as r:
                assert r.status == 200
            await gw.wait_received(1, timeout=10)
            answer = gw.received[0].fields["message"]
            assert "PPPoE: pelanggan-017 (paket 10M)" in answer and "Sedang online" in answer
            assert "Berlaku sampai: 30/11/2099 10:00" in answer
            assert "pelanggan-018" not in answer and "Daftar di" not in answer
        finally:
            await engine.stop(grace=0.2)


async def test_answers_are_rate_limited_per_number():
    from monitor.registration.selfservice import SelfService

    now = [1000.0]
    service = SelfService([], timezone="Asia/Jakarta", language="en", link=None, per_number=2, window=60,
                          clock=lambda: now[0])
    assert "not a subscriber" in await service.answer(STRANGER, "cek")
    assert await service.answer(STRANGER, "cek") is not None
    assert await service.answer(STRANGER, "cek") is None
    now[0] += 61
    assert await service.answer(STRANGER, "cek") is not None


async def test_self_service_needs_the_whatsapp_inbound(tmp_path):
    data = with_self_service(tmp_path, 1, free_port(), "http://127.0.0.1:9")
    del data["bot"]["whatsapp"]
    engine = Engine(parse_config(data))
    with pytest.raises(ConfigError) as err:
        await engine.start()
    await engine.stop(grace=0.1)
    assert err.value.problems[0].startswith("registration.self_service:")


def test_bad_link_names_the_path():
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, "registration": {"listen": "127.0.0.1:1", "notifier": "wa",
                                                            "packages": [{"name": "a", "profile": "a"}],
                                                            "link": "javascript:alert(1)"}})
    assert any(p.startswith("registration.link") for p in err.value.problems), err.value.problems


async def test_relay_to_the_admins_and_their_reply_back(tmp_path):
    from tests.fake_telegram_bot import FakeBotApi

    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api, aiohttp.ClientSession() as http:
        data = with_self_service(tmp_path, sim.port, port, gw.url)
        data["bot"]["telegram_users"] = {111: "admin", 222: "viewer"}
        data["bot"]["telegram"] = {"token": api.token, "api_url": api.url, "poll_timeout": 1}
        engine = Engine(parse_config(data))
        await engine.start()
        try:
            form = {"device": "6280000000", "sender": STRANGER, "message": "Selamat sore, mau pasang wifi"}
            async with http.post(f"http://127.0.0.1:{port}/bot/whatsapp", params={"key": KEY}, data=form) as r:
                assert r.status == 200
            await gw.wait_received(1, timeout=10)
            answer = gw.received[0].fields["message"]
            assert "diteruskan ke admin" in answer and "Daftar di:" in answer
            relayed = (await api.wait_for(lambda: [p for p in api.sent() if "mau pasang wifi" in p["text"]]))
            assert [p["chat_id"] for p in relayed] == [111] and STRANGER in relayed[0]["text"]
            for user in (222, 111):  # a viewer's reply is not relayed; the admin's is
                await api._push({"message": {"message_id": 900 + user, "date": 1800000000,
                                             "from": {"id": user, "is_bot": False, "first_name": "op"},
                                             "chat": {"id": 111}, "text": f"Besok teknisi datang {user}",
                                             "reply_to_message": {"message_id": relayed[0]["_message_id"]}}})
            await gw.wait_received(2, timeout=10)
            assert gw.received[1].fields["target"] == STRANGER
            assert gw.received[1].fields["message"] == "Admin: Besok teknisi datang 111"
            await api.wait_for(lambda: [p for p in api.sent() if p["text"] == "Terkirim."])
            assert len(gw.received) == 2
        finally:
            await engine.stop(grace=0.2)
