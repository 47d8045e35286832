"""The chat on the registration page: a visitor's message (plain form post, no JavaScript) reaches the
admins' Telegram chat through the fake Bot API; an admin's reply to it shows on that visitor's page
only, and also goes over the fake Fonnte gateway when that browser verified a number with the
form's one-time code. CSRF, HTML escaping, per-address and per-session limits, the bound on open
conversations and retention, with the page's clock driven; bad config by path."""

from __future__ import annotations

import itertools
import re
import sqlite3

import aiohttp
import pytest

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.errors import ConfigError
from tests.bot_helpers import make_sim
from tests.fake_peers import fonnte_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_bot_whatsapp import config as bot_config
from tests.test_bot_whatsapp import free_port
from tests.test_registration import action_of, csrf_of

ADMIN, OPERATOR, VIEWER = 111, 222, 333
_IDS = itertools.count(9000)


def chat_config(tmp_path, sim_port: int, gw_url: str, api: FakeBotApi, reg_port: int, **registration) -> dict:
    data = bot_config(tmp_path, sim_port, free_port(), "fonnte", gw_url)
    data["bot"]["telegram_users"] = {ADMIN: "admin", OPERATOR: "operator", VIEWER: "viewer"}
    data["bot"]["telegram"] = {"token": api.token, "api_url": api.url, "poll_timeout": 1}
    data["registration"] = {"listen": f"127.0.0.1:{reg_port}", "notifier": "wa", "chat": True,
                            "packages": [{"name": "2M", "profile": "2M"}], **registration}
    return data


async def admin_reply(api: FakeBotApi, user: int, to_message: int, text: str, chat: int = ADMIN) -> None:
    await api._push({"message": {"message_id": next(_IDS), "date": 1800000000,
                                 "from": {"id": user, "is_bot": False, "first_name": "op"},
                                 "chat": {"id": chat}, "text": text, "reply_to_message": {"message_id": to_message}}})


def gw_text(received) -> str:
    return received.fields.get("message") or received.fields.get("text") or ""


class Visitor:
    """A phone browser without JavaScript: its own cookies, form posts, reloads."""

    def __init__(self, base: str):
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def __aenter__(self) -> Visitor:
        await self.reload()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()

    async def reload(self) -> str:
        async with self.http.get(self.base + "/chat") as r:
            assert r.status == 200
            html = await r.text()
        self.csrf = csrf_of(html)
        return html

    async def say(self, text: str, **extra) -> tuple[int, str]:
        async with self.http.post(self.base + "/chat", data={"csrf": self.csrf, "text": text, **extra},
                                  allow_redirects=False) as r:
            return r.status, await r.text()

    async def messages(self) -> dict:
        async with self.http.get(self.base + "/chat/messages") as r:
            return await r.json()


def relayed_with(api: FakeBotApi, needle: str) -> list[dict]:
    return [p for p in api.sent() if needle in p["text"] and p["chat_id"] == ADMIN]


async def test_page_chat_goes_to_the_admins_and_their_reply_to_that_page_only(tmp_path):
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api:
        engine = Engine(parse_config(chat_config(tmp_path, sim.port, gw.url, api, port)))
        await engine.start()
        base = f"http://127.0.0.1:{port}"
        try:
            async with Visitor(base) as siti, Visitor(base) as other:
                html = await siti.reload()
                assert "Chat dengan admin" in html and "Belum ada pesan" in html
                assert 'src="/chat.js"' in html and "http" not in html.split("</head>")[0].replace("http-equiv", "")
                status, _ = await siti.say("Halo <b>admin</b>, mau pasang wifi")
                assert status == 303
                relayed = (await api.wait_for(lambda: relayed_with(api, "mau pasang wifi")))[0]
                assert "&lt;b&gt;admin&lt;/b&gt;" in relayed["text"] and "belum diverifikasi" in relayed["text"]
                assert [p["chat_id"] for p in api.sent() if "mau pasang wifi" in p["text"]] == [ADMIN]
                await other.say("Saya juga")
                other_relayed = (await api.wait_for(lambda: relayed_with(api, "Saya juga")))[0]

                await admin_reply(api, VIEWER, relayed["_message_id"], "viewer <i>tidak</i>")  # not relayed
                await admin_reply(api, ADMIN, relayed["_message_id"], "Besok <script>x</script> teknisi datang")
                await api.wait_for(lambda: [p for p in api.sent() if p["text"] == "Terkirim ke halaman."])
                page = await siti.reload()
                assert "<b>Admin:</b> Besok &lt;script&gt;x&lt;/script&gt; teknisi datang" in page
                assert "<b>Anda:</b> Halo &lt;b&gt;admin&lt;/b&gt;, mau pasang wifi" in page
                assert "tidak" not in page.split('id="log"')[1].split("</div>")[0]
                polled = await siti.messages()
                assert [m["from"] for m in polled["messages"]] == ["visitor", "admin"] and polled["seq"] > 0
                assert "teknisi" not in await other.reload()  # the other visitor sees only their own
                assert [m["text"] for m in (await other.messages())["messages"]] == ["Saya juga"]
                await admin_reply(api, OPERATOR, other_relayed["_message_id"], "Baik")  # operators may answer
                await api.wait_for(lambda: len([p for p in api.sent() if p["text"] == "Terkirim ke halaman."]) == 2)
                assert "<b>Admin:</b> Baik" in await other.reload()
                async with aiohttp.ClientSession() as stranger:  # no session cookie: nothing to see
                    async with stranger.get(base + "/chat/messages") as r:
                        assert (await r.json())["messages"] == []
            assert gw.received == []  # nobody verified a number: nothing over WhatsApp
        finally:
            await engine.stop(grace=0.2)


async def test_a_verified_browser_gets_the_reply_on_whatsapp_too(tmp_path):
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api:
        engine = Engine(parse_config(chat_config(tmp_path, sim.port, gw.url, api, port)))
        await engine.start()
        base = f"http://127.0.0.1:{port}"
        try:
            async with Visitor(base) as budi:
                async with budi.http.get(base + "/") as r:
                    form = await r.text()
                    assert 'href="/chat?lang=id"' in form
                async with budi.http.post(base + "/", data={"csrf": csrf_of(form), "name": "Budi",
                                                            "phone": "0857 1234 5678", "package": "2M"}) as r:
                    code_page = await r.text()
                await gw.wait_received(1, timeout=10)
                code = re.search(r"\b(\d{6})\b", gw_text(gw.received[0])).group(1)
                async with budi.http.post(base + action_of(code_page), data={"csrf": csrf_of(code_page),
                                                                             "code": code}) as r:
                    assert r.status == 200 and "/chat?lang=id" in await r.text()
                await budi.reload()
                assert (await budi.say("Kapan akun saya aktif?"))[0] == 303
                relayed = (await api.wait_for(lambda: relayed_with(api, "Kapan akun")))[0]
                assert "WhatsApp 6285712345678" in relayed["text"]
                await admin_reply(api, ADMIN, relayed["_message_id"], "Sore ini")
                await gw.wait_received(2, timeout=10)
                assert gw.received[1].fields["target"] == "6285712345678" and gw_text(gw.received[1]) == "Admin: Sore ini"
                await api.wait_for(lambda: [p for p in api.sent() if p["text"] == "Terkirim ke halaman dan WhatsApp."])
                assert "<b>Admin:</b> Sore ini" in await budi.reload()
        finally:
            await engine.stop(grace=0.2)


async def test_csrf_length_limits_open_bound_and_retention_with_a_driven_clock(tmp_path):
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api:
        data = chat_config(tmp_path, sim.port, gw.url, api, port, chat_per_ip=6, chat_per_session=2,
                           chat_max_open=2, window="1h", relay_keep="2h")
        engine = Engine(parse_config(data))
        await engine.start()
        now = [1_800_000_000.0]
        engine.registration.page.clock = lambda: now[0]
        base = f"http://127.0.0.1:{port}"
        try:
            async with Visitor(base) as a, Visitor(base) as b, Visitor(base) as c:
                assert (await a.say("forged", csrf="x" * 43))[0] == 403
                async with a.http.post(base + "/chat", data={"csrf": a.csrf, "text": "hi"},
                                       headers={"Origin": "http://evil.example"}, allow_redirects=False) as r:
                    assert r.status == 403
                assert (await a.say(" "))[0] == 400
                status, html = await a.say("x" * 501)
                assert status == 400 and "paling banyak 500" in html
                assert (await a.say("satu"))[0] == 303
                assert (await a.say("dua"))[0] == 303
                status, html = await a.say("tiga")  # per session: 2 an hour
                assert status == 429 and "tiga</textarea>" in html  # the draft is kept
                assert (await b.say("dari b"))[0] == 303
                status, html = await c.say("dari c")  # 2 open conversations already
                assert status == 503 and "percakapan terbuka" in html
                now[0] += 3601  # a new window: a writes again
                assert (await a.say("empat"))[0] == 303
                now[0] += 2 * 3600 + 1  # b's conversation expired (a's too): c gets a place
                assert (await c.say("dari c"))[0] == 303
                assert (await b.messages())["messages"] == []  # pruned
            sent = [p["text"] for p in api.sent() if "Pesan dari halaman" in p["text"]]
            assert len(sent) == 5 and not any("forged" in t or "tiga" in t or "xxxx" in t for t in sent)
        finally:
            await engine.stop(grace=0.2)


async def test_per_address_limit(tmp_path):
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api:
        engine = Engine(parse_config(chat_config(tmp_path, sim.port, gw.url, api, port, chat_per_ip=2)))
        await engine.start()
        engine.registration.page.clock = lambda: 1_800_000_000.0
        base = f"http://127.0.0.1:{port}"
        try:
            async with Visitor(base) as a, Visitor(base) as b:
                assert (await a.say("satu"))[0] == 303
                assert (await b.say("dua"))[0] == 303
                assert (await b.say("tiga"))[0] == 429  # same address, another session
        finally:
            await engine.stop(grace=0.2)


async def test_a_message_no_admin_chat_took_is_told_and_not_kept(tmp_path):
    port = free_port()
    async with make_sim() as sim, fonnte_peer() as gw, FakeBotApi() as api:
        data = chat_config(tmp_path, sim.port, gw.url, api, port)
        data["bot"]["telegram_users"] = {OPERATOR: "operator"}  # no admin chat to relay to
        engine = Engine(parse_config(data))
        await engine.start()
        try:
            async with Visitor(f"http://127.0.0.1:{port}") as v:
                status, html = await v.say("Halo?")
                assert status == 502 and "tidak dapat diteruskan" in html and "Halo?</textarea>" in html
                assert (await v.messages())["messages"] == []
        finally:
            await engine.stop(grace=0.2)
    db = sqlite3.connect(tmp_path / "state.db")
    assert db.execute("SELECT COUNT(*) FROM chat_messages").fetchone() == (0,)
    assert db.execute("SELECT SUM(messages) FROM chat_sessions").fetchone()[0] in (0, None)


async def test_chat_needs_the_telegram_bot(tmp_path):
    async with FakeBotApi() as api:
        data = chat_config(tmp_path, 1, "http://127.0.0.1:9", api, free_port())
        del data["bot"]["telegram"]
        engine = Engine(parse_config(data))
        with pytest.raises(ConfigError) as err:
            await engine.start()
        await engine.stop(grace=0.1)
    assert err.value.problems[0].startswith("registration.chat:")


GOOD = {"listen": "127.0.0.1:8090", "notifier": "wa", "packages": [{"name": "2M", "profile": "2M"}]}


@pytest.mark.parametrize("change,expected", [
    ({"chat": "sometimes"}, "registration.chat"),
    ({"chat_per_ip": 0}, "registration.chat_per_ip"),
    ({"chat_per_session": "many"}, "registration.chat_per_session"),
    ({"chat_max_open": 0}, "registration.chat_max_open"),
    ({"relay_keep": "forever"}, "registration.relay_keep"),
    ({"relay_keep": 0}, "registration.relay_keep"),
])
def test_bad_chat_config(change, expected):
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, "registration": {**GOOD, **change}})
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems
