"""WhatsApp inbound: WAHA (HMAC, through the real ``pantau run``), Fonnte and Cloud API webhooks
(in-process engine), replies through the same provider's fake gateway, confirmation by code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket

import aiohttp
import yaml

from monitor.config.model import parse_config
from monitor.engine import Engine
from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim
from tests.fake_peers import cloud_peer, fonnte_peer, waha_peer
from tests.test_bot_telegram_e2e import Pantau

KEY = "waha-hmac-key-1"
ADMIN_WA = "6281234567890"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path, sim_port: int, http_port: int, provider: str, gateway_url: str) -> dict:
    notifier = {"name": "wa", "type": "whatsapp", "provider": provider, "url": gateway_url, "to": [ADMIN_WA]}
    if provider in ("fonnte", "cloud"):
        notifier["token"] = "gw-token"
    if provider == "cloud":
        notifier["phone_number_id"] = "1055"
    return {"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None, "log": {"format": "json"},
            "http": {"listen": f"127.0.0.1:{http_port}"}, "notifiers": [notifier],
            "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                         "password": READ_PW, "timeout": 2, "mode": "poll", "poll_interval": 1,
                         "manage": {"username": "pantau-manage", "password": MANAGE_PW}}],
            "bot": {"whatsapp_numbers": {"0812-3456-7890": "admin"},
                    "whatsapp": {"provider": provider, "notifier": "wa", "webhook_key": KEY,
                                 "verify_token": "meta-verify"}}}


def waha_event(sender: str, text: str, message_id: str) -> bytes:
    return json.dumps({"event": "message", "session": "default",
                       "payload": {"id": message_id, "from": f"{sender}@c.us", "fromMe": False,
                                   "body": text}}).encode()


def sign(body: bytes, algo=hashlib.sha512) -> str:
    return hmac.new(KEY.encode(), body, algo).hexdigest()


async def wait_texts(peer, count: int) -> list[str]:
    await peer.wait_received(count, timeout=20)
    return [r.fields.get("text") or r.fields.get("message") or (r.fields.get("text") or {}).get("body", "")
            for r in peer.received]


async def test_waha_webhook_through_pantau_run(tmp_path):
    port = free_port()
    async with make_sim() as sim, waha_peer() as gw, aiohttp.ClientSession() as http:
        sim.add_hotspot_user("budi")
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(config(tmp_path, sim.port, port, "waha", gw.url)))
        pantau = Pantau(path, tmp_path / "pantau.log")
        await pantau.start()
        url = f"http://127.0.0.1:{port}/bot/whatsapp"
        try:
            for _ in range(200):  # the HTTP server is up once /healthz answers
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status in (200, 503):
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            body = waha_event(ADMIN_WA, "status", "m1")
            async with http.post(url, data=body, headers={"X-Webhook-Hmac": "00" * 64,
                                                          "Content-Type": "application/json"}) as r:
                assert r.status == 401  # bad signature: refused, nothing run
            async with http.post(url, data=body, headers={"X-Webhook-Hmac": sign(body),
                                                          "Content-Type": "application/json"}) as r:
                assert r.status == 200
            texts = await wait_texts(gw, 1)
            assert "Hotspot aktif: 1" in texts[0] and gw.received[0].fields["chatId"] == f"{ADMIN_WA}@c.us"
            body = waha_event("6289999999999", "/status", "m2")  # not on the list
            async with http.post(url, data=body, headers={"X-Webhook-Hmac": sign(body)}) as r:
                assert r.status == 200
            texts = await wait_texts(gw, 2)
            assert "tidak terdaftar" in texts[1]
            body = waha_event(ADMIN_WA, "/hotspot disable budi", "m3")
            async with http.post(url, data=body, headers={"X-Webhook-Hmac": sign(body)}) as r:
                assert r.status == 200
            texts = await wait_texts(gw, 3)
            code = texts[2].split("YA ")[1][:4]
            assert sim.menus["/ip/hotspot/user"].rows()[0]["disabled"] == "false"
            for mid in ("m4", "m4", "m5"):  # a gateway retry (same id) and a second "YA"
                body = waha_event(ADMIN_WA, f"ya {code}", mid)
                async with http.post(url, data=body, headers={"X-Webhook-Hmac": sign(body)}) as r:
                    assert r.status == 200
            texts = await wait_texts(gw, 5)
            assert "nonaktif" in texts[3] and "sudah dijalankan" in texts[4]
            assert sim.menus["/ip/hotspot/user"].rows()[0]["disabled"] == "true" and sim.active() == []
            assert pantau.logged("bad webhook signature")
        finally:
            await pantau.stop()
        assert len(gw.received) == 5


async def _engine(tmp_path, sim_port: int, provider: str, gateway_url: str) -> tuple[Engine, int]:
    port = free_port()
    engine = Engine(parse_config(config(tmp_path, sim_port, port, provider, gateway_url)))
    await engine.start()
    return engine, port


async def test_fonnte_webhook_with_key_in_url(tmp_path):
    async with make_sim() as sim, fonnte_peer() as gw, aiohttp.ClientSession() as http:
        engine, port = await _engine(tmp_path, sim.port, "fonnte", gw.url)
        try:
            url = f"http://127.0.0.1:{port}/bot/whatsapp"
            form = {"device": "6280000000", "sender": ADMIN_WA, "message": "/resource", "name": "Admin"}
            async with http.post(url, data=form) as r:
                assert r.status == 401  # no ?key=
            async with http.post(url, params={"key": KEY}, data=form) as r:
                assert r.status == 200
            await gw.wait_received(1)
            assert "Versi: 7.18.2" in gw.received[0].fields["message"]
            assert gw.received[0].fields["target"] == ADMIN_WA
        finally:
            await engine.stop(grace=0.2)


async def test_cloud_api_webhook_signature_and_verification(tmp_path):
    async with make_sim() as sim, cloud_peer() as gw, aiohttp.ClientSession() as http:
        engine, port = await _engine(tmp_path, sim.port, "cloud", gw.url)
        try:
            url = f"http://127.0.0.1:{port}/bot/whatsapp"
            async with http.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "meta-verify",
                                             "hub.challenge": "12345"}) as r:
                assert r.status == 200 and await r.text() == "12345"
            async with http.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "wrong",
                                             "hub.challenge": "1"}) as r:
                assert r.status == 403
            body = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
                "messages": [{"from": ADMIN_WA, "id": "wamid.1", "type": "text",
                              "text": {"body": "/menu"}}]}}]}]}).encode()
            async with http.post(url, data=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}) as r:
                assert r.status == 401
            async with http.post(url, data=body, headers={"X-Hub-Signature-256": "sha256=" + sign(body, hashlib.sha256),
                                                          "Content-Type": "application/json"}) as r:
                assert r.status == 200
            await gw.wait_received(1)
            sent = gw.received[0].fields
            assert sent["to"] == ADMIN_WA and "/ppp isolir NAME" in sent["text"]["body"]
        finally:
            await engine.stop(grace=0.2)
