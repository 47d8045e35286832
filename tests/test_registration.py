"""The registration page: a real form post through the engine's own listener, the one-time code over
the fake WAHA gateway, the verified request routed to the fake Telegram; CSRF, honeypot, limits with
a driven clock, bad config by path."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys

import aiohttp
import pytest
import yaml
from aiohttp import web

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.errors import ConfigError, NotifyError
from monitor.registration.config import RegistrationConfig
from monitor.registration.page import RegistrationPage
from monitor.registration.store import RegistrationStore
from tests.fake_peers import telegram_peer, waha_peer

PACKAGES = [{"name": "2M-harian", "profile": "2M-harian", "label": "2 Mbps, 1 hari"},
            {"name": "5M-mingguan", "profile": "5M-mingguan"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def action_of(html: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)"', html)
    assert match, html
    return match.group(1)


def engine_config(tmp_path, wa_url: str, tg_url: str, port: int) -> dict:
    return {"state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
            "notifiers": [{"name": "wa-otp", "type": "whatsapp", "provider": "waha", "url": wa_url, "to": ["subscriber"]},
                          {"name": "tg-admin", "type": "telegram", "token": "123:abc", "chat_id": "-1001",
                           "api_url": tg_url}],
            "routes": [{"events": ["registration.*"], "notify": ["tg-admin"]}],
            "registration": {"listen": f"127.0.0.1:{port}", "notifier": "wa-otp", "packages": PACKAGES}}


async def test_form_code_and_verified_request_reach_the_admins(tmp_path):
    port = free_port()
    async with waha_peer() as gw, telegram_peer() as tg, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        engine = Engine(parse_config(engine_config(tmp_path, gw.url, tg.url, port)))
        await engine.start()
        base = f"http://127.0.0.1:{port}"
        try:
            async with http.get(base + "/") as r:
                page = await r.text()
                assert r.status == 200 and "Nomor WhatsApp" in page and "2 Mbps, 1 hari" in page
                assert "http" not in page.split("</head>")[0].replace("http-equiv", "")  # no external assets
                assert r.headers["X-Frame-Options"] == "DENY"
            async with http.get(base + "/?lang=en") as r:
                assert "WhatsApp number" in await r.text()
            form = {"csrf": csrf_of(page), "name": "Budi Santoso", "phone": "0857-1234-5678",
                    "package": "2M-harian", "message": "Rumah blok C", "website": ""}
            async with http.post(base + "/", data=form) as r:
                code_page = await r.text()
                assert r.status == 200, code_page
            await gw.wait_received(1, timeout=10)
            sent = gw.received[0].fields
            assert sent["chatId"] == "6285712345678@c.us"
            code = re.search(r"\b(\d{6})\b", sent["text"]).group(1)
            verify = base + action_of(code_page)
            wrong = "000000" if code != "000000" else "111111"
            async with http.post(verify, data={"csrf": csrf_of(code_page), "code": wrong}) as r:
                again = await r.text()
                assert r.status == 400 and "Kode salah" in again
            assert tg.received == []  # nothing reaches an admin before the number is verified
            async with http.post(verify, data={"csrf": csrf_of(again), "code": code}) as r:
                assert r.status == 200 and "Terima kasih, Budi Santoso" in await r.text()
            await tg.wait_received(1, timeout=10)
            text = tg.received[0].fields["text"]
            assert "Permintaan Akun Baru" in text and "6285712345678" in text and "2M-harian" in text
            async with http.post(verify, data={"csrf": csrf_of(again), "code": code}) as r:
                assert r.status == 410  # a code works once
            assert len(gw.received) == 1
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        rows = db.execute("SELECT name, phone, package, status FROM registration_requests").fetchall()
        assert rows == [("Budi Santoso", "6285712345678", "2M-harian", "verified")]


class Page:
    """A RegistrationPage on a real aiohttp listener, with a driven clock and collected codes."""

    def __init__(self, tmp_path, **overrides):
        self.now = 1_000_000.0
        self.sent: list[tuple[str, str]] = []
        self.verified: list = []
        self.fail = False
        config = RegistrationConfig(listen="127.0.0.1:0", notifier="wa", packages=PACKAGES, **overrides)
        self.store = RegistrationStore(tmp_path / "state.db")
        self.page = RegistrationPage(config, self.store, send_code=self.send, on_verified=self.on_verified,
                                     clock=lambda: self.now)

    async def send(self, number: str, text: str) -> None:
        if self.fail:
            raise NotifyError("gateway down", retryable=True)
        self.sent.append((number, text))

    async def on_verified(self, request) -> None:
        self.verified.append(request)

    async def __aenter__(self) -> Page:
        app = web.Application()
        app.add_routes(self.page.routes())
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1
        async with self.http.get(self.base + "/") as r:
            self.token = csrf_of(await r.text())
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()
        await self.runner.cleanup()
        self.store.close()

    async def post(self, phone: str = "081234567890", **extra) -> tuple[int, str]:
        form = {"csrf": self.token, "name": "Ani", "phone": phone, "package": "5M-mingguan", **extra}
        async with self.http.post(self.base + "/", data=form) as r:
            return r.status, await r.text()


async def test_csrf_is_required(tmp_path):
    async with Page(tmp_path) as p:
        status, html = await p.post(csrf="forged")
        assert status == 403 and "Formulir kedaluwarsa" in html
        async with p.http.post(p.base + "/", data={"csrf": p.token, "name": "Ani", "phone": "081234567890",
                                                   "package": "5M-mingguan"},
                               headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
        async with aiohttp.ClientSession() as fresh:  # no cookie: the token alone is not enough
            async with fresh.post(p.base + "/", data={"csrf": p.token, "name": "Ani", "phone": "081234567890",
                                                      "package": "5M-mingguan"}) as r:
                assert r.status == 403
        assert p.sent == []


async def test_honeypot_sends_nothing(tmp_path):
    async with Page(tmp_path) as p:
        status, html = await p.post(website="http://spam.example")
        assert status == 200 and "Kode verifikasi" in html  # looks the same to the bot
        assert p.sent == [] and p.store.pending(p.now) == 0


async def test_bad_fields_are_refused(tmp_path):
    async with Page(tmp_path) as p:
        assert (await p.post(phone="12"))[0] == 400
        assert "Nomor WhatsApp tidak valid" in (await p.post(phone="hello"))[1]
        assert (await p.post(package="gratis"))[0] == 400
        assert (await p.post(name=" "))[0] == 400
        assert (await p.post(message="x" * 501))[0] == 400
        assert p.sent == []


async def test_rate_limits_per_ip_and_per_number_with_a_driven_clock(tmp_path):
    async with Page(tmp_path, per_ip=3, per_number=2, window=3600) as p:
        assert (await p.post("081234567890"))[0] == 200
        assert (await p.post("081234567890"))[0] == 200
        assert (await p.post("081234567890"))[0] == 429  # per number
        assert (await p.post("081299999999"))[0] == 429  # per address: 3 within the hour
        assert len(p.sent) == 2
        p.now += 3601
        assert (await p.post("081299999999"))[0] == 200
        assert p.sent[-1][0] == "6281299999999"


async def test_pending_requests_are_bounded_and_expired_codes_free_a_place(tmp_path):
    async with Page(tmp_path, max_pending=1, code_ttl=600) as p:
        status, html = await p.post("081234567890")
        assert status == 200
        assert (await p.post("081277777777"))[0] == 503
        p.now += 601  # the first code expired: it no longer holds a place, and no longer works
        code = re.search(r"\b(\d{6})\b", p.sent[0][1]).group(1)
        async with p.http.post(p.base + action_of(html), data={"csrf": p.token, "code": code}) as r:
            assert r.status == 410
        assert (await p.post("081277777777"))[0] == 200
        assert p.verified == []


async def test_too_many_wrong_codes_drop_the_request(tmp_path):
    async with Page(tmp_path, code_attempts=2) as p:
        _, html = await p.post()
        code = re.search(r"\b(\d{6})\b", p.sent[0][1]).group(1)
        wrong = "000000" if code != "000000" else "111111"
        url = p.base + action_of(html)
        for expected in (400, 410, 410):
            async with p.http.post(url, data={"csrf": p.token, "code": wrong}) as r:
                assert r.status == expected
        async with p.http.post(url, data={"csrf": p.token, "code": code}) as r:
            assert r.status == 410
        assert p.verified == []


async def test_gateway_failure_is_told_and_keeps_nothing(tmp_path):
    async with Page(tmp_path) as p:
        p.fail = True
        status, html = await p.post()
        assert status == 502 and "tidak dapat dikirim" in html
        assert p.store.pending(p.now) == 0


def problems(data) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, **data})
    return err.value.problems


GOOD = {"listen": "127.0.0.1:8090", "notifier": "wa", "packages": PACKAGES}


@pytest.mark.parametrize("change,expected", [
    ({"listen": "somewhere"}, "registration.listen"),
    ({"notifier": ""}, "registration.notifier"),
    ({"packages": []}, "registration.packages"),
    ({"packages": [{"name": "a b", "profile": "x"}]}, "registration.packages[0].name"),
    ({"packages": [{"name": "a"}]}, "registration.packages[0].profile: required"),
    ({"packages": [{"name": "a", "profile": "x"}, {"name": "a", "profile": "y"}]}, "registration: packages"),
    ({"language": "jv"}, "registration.language"),
    ({"code_ttl": "soon"}, "registration.code_ttl"),
    ({"code_attempts": 0}, "registration.code_attempts"),
    ({"per_ip": 0}, "registration.per_ip"),
    ({"per_number": -1}, "registration.per_number"),
    ({"window": 0}, "registration.window"),
    ({"max_pending": 0}, "registration.max_pending"),
    ({"captcha": True}, "registration.captcha: unknown key"),
])
def test_bad_registration_config(change, expected):
    found = problems({"registration": {**GOOD, **change}})
    assert any(p.startswith(expected) for p in found), found


async def test_notifier_must_be_whatsapp(tmp_path):
    config = parse_config({"plugins_dir": None, "state": {"path": str(tmp_path / "s.db")},
                           "notifiers": [{"name": "console", "type": "console"}],
                           "registration": {**GOOD, "notifier": "console", "listen": "127.0.0.1:0"}})
    engine = Engine(config)
    with pytest.raises(ConfigError) as err:
        await engine.start()
    await engine.stop(grace=0.1)
    assert err.value.problems[0].startswith("registration.notifier:")


def test_bad_config_exits_2_without_traceback(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"plugins_dir": None, "registration": {**GOOD, "per_ip": "many"}}))
    proc = subprocess.run([sys.executable, "-m", "monitor", "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "registration.per_ip" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_subscriber_forget_deletes_registration_requests(tmp_path):
    db = tmp_path / "state.db"
    store = RegistrationStore(db)
    for rid, phone in (("r1", "6285712345678"), ("r2", "6281111111111"), ("r3", "6282222222222")):
        store.add(rid, now=0, name="x", phone=phone, package="2M", message="", ip="1", code="1", ttl=60)
    store.finish("r1", "approved", username="budi482")
    store.close()
    from monitor.registration.threads import RelayStore

    threads = RelayStore(db)  # relayed WhatsApp messages and a page chat of budi's and another number
    threads.add_thread(111, 1, "wa", "6285712345678", now=0)
    session = threads.open_session("k" * 43, ip="1", now=0, phone="6285712345678")
    threads.add_message(session.id, "visitor", "halo", now=0)
    threads.add_thread(111, 2, "page", session.id, now=0)
    threads.add_thread(111, 3, "wa", "6282222222222", now=0)
    threads.close()
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"state": {"path": str(db)}, "plugins_dir": None}))
    for name in ("budi482", "0811-1111-1111"):
        proc = subprocess.run([sys.executable, "-m", "monitor", "subscriber", "forget", name, "-c", str(path)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "1 registration request(s) deleted" in proc.stdout, proc.stderr
    rows = sqlite3.connect(db).execute("SELECT id FROM registration_requests").fetchall()
    assert rows == [("r3",)]
    left = sqlite3.connect(db)
    assert left.execute("SELECT target FROM relay_threads").fetchall() == [("6282222222222",)]
    assert left.execute("SELECT COUNT(*) FROM chat_sessions").fetchone() == (0,)
    assert left.execute("SELECT COUNT(*) FROM chat_messages").fetchone() == (0,)
