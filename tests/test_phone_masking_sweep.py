"""Phone-number sweep of the logs (issue 15 item 6): a real `pantau run` (JSON logs, as it writes them
when stderr is not a TTY, at debug level so every line is there) goes through the registration page
(one-time code, Telegram approval, credentials; a rejection with a reason), the page chat, WhatsApp
self-service, the relay both ways, a bot command from an admin's WhatsApp and a subscriber quota
warning to the subscriber's WhatsApp. Then no line at info level or above may hold any of the
numbers in any form: 08…, 628…, +62 8…, with separators, or a WhatsApp JID (628…@c.us).
Messages *to admins* carry the full number (they need it); only the logs are swept."""

from __future__ import annotations

import json
import re

import aiohttp
import yaml

from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim
from tests.fake_peers import Reply, fonnte_peer, generic_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.pantau_proc import Pantau, wait_until
from tests.test_bot_whatsapp import KEY, free_port
from tests.test_registration import action_of, csrf_of
from tests.test_registration_chat import ADMIN, Visitor, admin_reply, gw_text, relayed_with

MB = 1024 * 1024
# national numbers (after 62) of everyone in the story, and how they are typed
BUDI, ANI, STRANGER, SARI, ADMIN_WA = "85712345678", "81222223333", "81111111111", "81344445555", "81234567890"
NUMBERS = (BUDI, ANI, STRANGER, SARI, ADMIN_WA)
_RUN = re.compile(r"\+?\d(?:[\d\s.\-()]|\\u00a0)*\d")


def leaks(line: str) -> list[str]:
    """The story's numbers found in ``line`` in any written form (separators removed)."""
    digits = ["".join(ch for ch in m.group(0) if ch.isdigit()) for m in _RUN.finditer(line)]
    return [n for n in NUMBERS if any(n in d for d in digits)]


def test_the_detector_finds_every_form():
    for form in ("085712345678", "6285712345678", "+6285712345678", "0857-1234-5678", "+62 857 1234 5678",
                 "0857.1234.5678", "(0857) 1234 5678", "6285712345678@c.us", "wa:6285712345678"):
        assert leaks(json.dumps({"event": "x", "phone": form})) == [BUDI], form
    assert leaks(json.dumps({"phone": "62857*****678", "at": 1800000000.123, "chat": 123456789})) == []


def config(tmp_path, sim_port: int, gw_url: str, api: FakeBotApi, http_port: int, reg_port: int,
           hook_url: str) -> dict:
    wa = {"type": "whatsapp", "provider": "fonnte", "url": gw_url, "token": "gw-token"}
    return {
        "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
        "log": {"level": "debug", "format": "json"}, "http": {"listen": f"127.0.0.1:{http_port}"},
        "notifiers": [{"name": "wa", "to": ["0812-3456-7890"], **wa},
                      {"name": "wa-sub", "to": ["subscriber"], "digest": {"enabled": False}, **wa},
                      {"name": "hook", "type": "webhook", "url": hook_url, "digest": {"enabled": False}}],
        "routes": [{"events": ["subscriber.*"], "notify": ["wa-sub", "hook"]}],
        "routers": [{"name": "core", "address": "127.0.0.1", "port": sim_port, "username": "pantau",
                     "password": READ_PW, "timeout": 2, "mode": "poll", "poll_interval": 1,
                     "manage": {"username": "pantau-manage", "password": MANAGE_PW}}],
        "subscriptions": {"check_every": "300ms"},
        "bot": {"whatsapp_numbers": {"0812-3456-7890": "admin"}, "telegram_users": {ADMIN: "admin"},
                "whatsapp": {"provider": "fonnte", "notifier": "wa", "webhook_key": KEY},
                "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 1}},
        "registration": {"listen": f"127.0.0.1:{reg_port}", "notifier": "wa", "router": "core", "chat": True,
                         "self_service": True, "link": "http://10.5.50.2:8090/",
                         "packages": [{"name": "2M", "profile": "2M", "rate_limit": "2M/2M", "validity": "1d"}]},
    }


async def register(v: Visitor, gw, name: str, phone: str) -> None:
    async with v.http.get(v.base + "/") as r:
        page = await r.text()
    seen = len(gw.received)
    async with v.http.post(v.base + "/", data={"csrf": csrf_of(page), "name": name, "phone": phone,
                                               "package": "2M"}) as r:
        code_page = await r.text()
        assert r.status == 200, code_page
    await gw.wait_received(seen + 1, timeout=20)
    code = re.search(r"\b(\d{6})\b", gw_text(gw.received[seen])).group(1)
    async with v.http.post(v.base + action_of(code_page), data={"csrf": csrf_of(code_page), "code": code}) as r:
        assert r.status == 200


def echo_refusal(r) -> Reply:
    """Fonnte refusing a send, repeating the target back in every form people and gateways write."""
    target = r.fields.get("target", "")
    local = "0" + target[2:]
    return Reply(json={"status": False, "reason": f"target {target} invalid ({local[:4]}-{local[4:8]}-{local[8:]}, "
                                                  f"+62 {target[2:5]} {target[5:9]} {target[9:]}, {target}@c.us)"})


def echo_busy(r) -> Reply:
    """A webhook receiver that is busy and says for whom (the event's subscriber phone)."""
    phone = ((json.loads(r.body).get("data") or {}).get("subscriber") or {}).get("phone", "")
    return Reply(status=503, text=f"busy: subscriber {phone} / 0{phone[2:]} queued, retry later")


def sent_to(gw, national: str, needle: str) -> bool:
    return any(r.fields.get("target") == "62" + national and needle in gw_text(r) for r in gw.received)


async def test_no_phone_number_in_any_log_line_at_info_or_above(tmp_path):
    http_port, reg_port = free_port(), free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api, aiohttp.ClientSession() as http, \
            generic_peer(default=Reply(json={"ok": True})) as hook:
        sari = sim.add_hotspot_user("sari", profile="default", comment="2099-12-30 10:00:00 WA 0813-4444-5555")
        sim.menus["/ip/hotspot/user"].set(sari, {"limit-bytes-total": str(100 * MB), "bytes-out": str(85 * MB)})
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(config(tmp_path, sim.port, gw.url, api, http_port, reg_port, hook.url)))
        pantau = Pantau(path, tmp_path / "run.log")
        budi, ani = Visitor(f"http://127.0.0.1:{reg_port}"), Visitor(f"http://127.0.0.1:{reg_port}")

        async def whatsapp(sender: str, text: str) -> None:
            async with http.post(f"http://127.0.0.1:{http_port}/bot/whatsapp", params={"key": KEY},
                                 data={"device": "6280000000", "sender": sender, "message": text}) as r:
                assert r.status == 200

        try:
            await pantau.wait_log("started", timeout=30)
            # the subscriber warning to Sari's WhatsApp
            await wait_until(lambda: sent_to(gw, SARI, "sari"), what="quota warning to sari")
            # registration: code, approval, credentials
            await budi.reload()
            await register(budi, gw, "Budi", "0857-1234-5678")
            prompt = (await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and "Budi" in p["text"]]))[0]
            await api.press(ADMIN, prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"], prompt["_message_id"])
            await wait_until(lambda: sent_to(gw, BUDI, "Sandi:"), what="credentials")
            # a rejection and its reason
            await ani.reload()
            await register(ani, gw, "Ani", "+62 812 2222 3333")
            prompt = (await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and "Ani" in p["text"]]))[0]
            await api.press(ADMIN, prompt["reply_markup"]["inline_keyboard"][0][-1]["callback_data"], prompt["_message_id"])
            await wait_until(lambda: sent_to(gw, ANI, "ditolak"), what="rejection")
            await admin_reply(api, ADMIN, prompt["_message_id"], "Kuota desa penuh")
            await wait_until(lambda: sent_to(gw, ANI, "Alasan"), what="reason")
            # the page chat of a verified browser, both ways
            assert (await budi.say("Sandi saya lupa"))[0] == 303
            relayed = (await api.wait_for(lambda: relayed_with(api, "Sandi saya lupa")))[0]
            await admin_reply(api, ADMIN, relayed["_message_id"], "Cek WhatsApp Anda")
            await wait_until(lambda: sent_to(gw, BUDI, "Admin: Cek WhatsApp"), what="page reply on WhatsApp")
            # self-service for a subscriber, a stranger relayed both ways, an admin's bot command
            await whatsapp("6285712345678", "cek")
            await wait_until(lambda: sent_to(gw, BUDI, "User: budi"), what="cek answer")
            await whatsapp("0811-1111-1111", "081111111111 ini nomor saya, mau pasang wifi")
            relayed = (await api.wait_for(lambda: relayed_with(api, "mau pasang wifi")))[0]
            await admin_reply(api, ADMIN, relayed["_message_id"], "Besok teknisi datang")
            await wait_until(lambda: sent_to(gw, STRANGER, "Admin: Besok"), what="relay reply")
            await whatsapp("6281234567890", "/resource")
            await wait_until(lambda: sent_to(gw, ADMIN_WA, "Versi"), what="bot answer")

            # the gateway now refuses, echoing the number in every form: each failure is logged
            gw.default = echo_refusal
            hook.default = echo_busy
            seen = len(gw.received)
            await whatsapp("6285712345678", "cek")  # self-service answer fails
            await admin_reply(api, ADMIN, relayed["_message_id"], "Teknisi batal")  # relay reply fails
            await wait_until(lambda: len(gw.received) >= seen + 2, what="failed sends")
            async with ani.http.get(ani.base + "/") as r:
                page = await r.text()
            async with ani.http.post(ani.base + "/", data={"csrf": csrf_of(page), "name": "Ani",
                                                           "phone": "0812-2222-3333", "package": "2M"}) as r:
                assert r.status == 502  # the code could not be sent
            sim.menus["/ip/hotspot/user"].set(sari, {"bytes-out": str(96 * MB)})  # the 95 % warning fails
            await wait_until(lambda: pantau.count("delivery.dead", notifier="wa-sub")  # refused: not retried
                             + pantau.count("delivery.failed", notifier="wa-sub") >= 1, timeout=30,
                             what="the 95 % warning refused")
            await pantau.wait_log("delivery.failed", timeout=30, notifier="hook")  # the webhook echoes the event
            await pantau.wait_log("relay.reply_failed")
            await pantau.wait_log("registration.code_failed")
            await pantau.wait_log("bot.whatsapp.reply_failed")
            assert pantau.stop() == 0
        finally:
            await budi.__aexit__(None, None, None)
            await ani.__aexit__(None, None, None)
            pantau.ensure_dead()
    lines = [line for line in (tmp_path / "run.log").read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert {"registration.code_sent", "relay.forwarded", "relay.replied", "selfservice.asked", "delivery.sent",
            "subscriptions.warning", "bot.audit"} <= {r["event"] for r in records}
    found = [(r["level"], line) for r, line in zip(records, lines, strict=True)
             if r["level"] != "debug" and leaks(line)]
    assert found == [], "\n".join(line for _, line in found)


def test_mask_phones_in_free_text():
    from monitor.delivery.phone import mask_phones

    text = ("target 6285712345678 invalid (0857-1234-5678, +62 857 1234 5678, 6285712345678@c.us); "
            "HTTP 400 0857 1234 5678; router 10.5.50.2 at 2026-11-23 10:00, id 80367170, chat -1001234567")
    masked = mask_phones(text)
    assert leaks(masked) == [] and masked.count("62857*****678") == 5
    assert "10.5.50.2" in masked and "2026-11-23 10:00" in masked and "80367170" in masked and "-1001234567" in masked
