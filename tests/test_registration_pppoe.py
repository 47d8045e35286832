"""PPPoE packages end to end: a request approved with a ``service: pppoe`` package → the PPP profile
(rate-limit, only-one, session-timeout) and the PPP secret (service=pppoe, generated password,
Mikhmon comment with expiry and phone) in the RouterOS simulator, on v6 and v7 → credentials that
say PPPoE on the fake WAHA gateway. The simulator refuses what a router refuses on the PPP menus."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.errors import ConfigError, RouterTrap
from monitor.registration.config import PackageConfig
from monitor.registration.provision import credentials, profile_attrs, provision
from monitor.routeros.client import RouterClient
from monitor.subscriptions.mikhmon import find_expiry
from tests.bot_helpers import MANAGE_PW, make_sim, router
from tests.fake_peers import waha_peer
from tests.fake_telegram_bot import FakeBotApi
from tests.test_registration import free_port
from tests.test_registration_approval import ADMIN, config, prompt_for, register

PPPOE = {"name": "PPPoE-10M", "service": "pppoe", "profile": "pppoe-10M", "rate_limit": "10M/10M",
         "shared_users": 1, "session_timeout": "1d", "validity": "30d"}


@pytest.mark.parametrize("version", ["6.49.10", "7.18.2"])
async def test_pppoe_package_creates_profile_and_secret(tmp_path, version):
    port = free_port()
    async with make_sim() as sim, FakeBotApi() as api, waha_peer() as gw, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        sim.version = version
        values = config(tmp_path, sim.port, api, gw.url, port)
        values["registration"]["packages"].append(PPPOE)
        engine = Engine(parse_config(values))
        await engine.start()
        base = f"http://127.0.0.1:{port}"
        try:
            await register(http, base, gw, "Sari Wulan", "0857-1234-5678")
            await api.wait_for(lambda: [p for p in api.sent() if "reply_markup" in p and p["chat_id"] == ADMIN])
            prompt = prompt_for(api, "Sari Wulan")
            button = next(b for b in prompt["reply_markup"]["inline_keyboard"][0] if b["text"] == "Setujui: PPPoE-10M")
            await api.press(ADMIN, button["callback_data"], prompt["_message_id"])
            edits = await api.wait_for(lambda: [p for p in api.sent("editMessageText") if "Disetujui" in p["text"]])
            assert "PPPoE secret <code>sari" in edits[0]["text"]  # the admin sees what was made
            assert sim.menus["/ip/hotspot/user"].rows() == []  # no hotspot user for a PPPoE package
            secrets = sim.menus["/ppp/secret"].rows()
            assert len(secrets) == 1
            secret = secrets[0]
            assert re.fullmatch(r"sari\d{3}", secret["name"]) and secret["service"] == "pppoe"
            assert secret["profile"] == "pppoe-10M" and len(secret["password"]) == 8
            assert "WA 6285712345678" in secret["comment"]
            date = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}" if version.startswith("7") else \
                r"[a-z]{3}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}"
            assert re.match(date, secret["comment"]), secret["comment"]
            left = find_expiry(secret["comment"], ZoneInfo("Asia/Jakarta")).timestamp() - datetime.now().timestamp()
            assert 30 * 86400 - 120 < left <= 30 * 86400 + 1
            profile = sim.menus["/ppp/profile"].rows(["?name=pppoe-10M"])[0]
            assert profile["rate-limit"] == "10M/10M" and profile["only-one"] == "yes"
            assert profile["session-timeout"] == "1d" and "shared-users" not in profile
            assert sim.menus["/ip/hotspot/user/profile"].rows() == []
            await gw.wait_received(2, timeout=10)
            text = gw.received[1].fields["text"]
            assert "PPPoE" in text and "router/ONT" in text
            assert f"User: {secret['name']}" in text and f"Sandi: {secret['password']}" in text
        finally:
            await engine.stop(grace=0.2)
        db = sqlite3.connect(tmp_path / "state.db")
        own = db.execute("SELECT router, user, item, expires FROM subscription_validity").fetchall()
        db.close()
        assert own == [("core", f"ppp:{secret['name']}", secret[".id"],
                        find_expiry(secret["comment"], ZoneInfo("Asia/Jakarta")).timestamp())]


async def test_an_existing_ppp_profile_is_updated(tmp_path):
    async with make_sim() as sim:
        sim.add_row("/ppp/profile", name="pppoe-10M", rate_limit="5M/5M", only_one="no")
        package = PackageConfig.model_validate(PPPOE)
        account = await provision(router(sim.port), package, name="Budi", phone="6285712345678",
                                  now=1_800_000_000.0, timezone="Asia/Jakarta")
        rows = sim.menus["/ppp/profile"].rows()
        assert len(rows) == 1 and rows[0]["rate-limit"] == "10M/10M" and rows[0]["only-one"] == "yes"
        assert account.service == "pppoe" and account.expiry is not None
        assert account.expiry.isoformat() == "2027-02-14T15:00:00+07:00"
        assert "Akun PPPoE" in credentials(account, "id") and "PPPoE account" in credentials(account, "en")
        assert "hotspot" not in credentials(account, "en")


def test_ppp_profile_attrs_never_carry_shared_users():
    assert profile_attrs(PackageConfig.model_validate(PPPOE)) == {
        "rate-limit": "10M/10M", "only-one": "yes", "session-timeout": "1d"}
    hotspot = PackageConfig.model_validate({**PPPOE, "service": "hotspot"})
    assert profile_attrs(hotspot)["shared-users"] == "1" and "only-one" not in profile_attrs(hotspot)


@pytest.mark.parametrize("version", ["6.49.10", "7.18.2"])
async def test_simulator_refuses_what_a_router_refuses_on_ppp_menus(version):
    async with make_sim() as sim:
        sim.version = version
        client = await RouterClient.connect("127.0.0.1", sim.port, "pantau-manage", MANAGE_PW, timeout=2)
        try:
            with pytest.raises(RouterTrap, match="unknown parameter"):
                await client.command("/ppp/profile/add", {"name": "x", "shared-users": "1"})
            with pytest.raises(RouterTrap, match="only-one"):
                await client.command("/ppp/profile/add", {"name": "x", "only-one": "1"})
            await client.command("/ppp/profile/add", {"name": "x", "only-one": "yes", "rate-limit": "1M/1M"})
            with pytest.raises(RouterTrap, match="unknown parameter"):
                await client.command("/ppp/secret/add", {"name": "s", "limit-uptime": "1h"})
            isdn = client.command("/ppp/secret/add", {"name": "s", "service": "isdn"})
            if version.startswith("7"):
                with pytest.raises(RouterTrap, match="service"):
                    await isdn
            else:
                await isdn
            await client.command("/ppp/secret/add", {"name": "p", "service": "pppoe", "profile": "x",
                                                     "password": "pw", "comment": "c"})
            row = (await client.print("/ppp/secret", queries=["?name=p"]))[0]
            with pytest.raises(RouterTrap, match="unknown parameter"):
                await client.command("/ppp/secret/set", {".id": row[".id"], "shared-users": "2"})
        finally:
            await client.close()


@pytest.mark.parametrize("package, path", [
    ({**PPPOE, "shared_users": 2}, "registration.packages[0].shared_users"),
    ({**PPPOE, "service": "ppp"}, "registration.packages[0].service"),
])
def test_bad_pppoe_package_names_the_path(package, path):
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, "registration": {"listen": "127.0.0.1:8099", "notifier": "wa",
                                                            "packages": [package]}})
    assert any(p.startswith(path) for p in err.value.problems), err.value.problems


async def test_pantaus_own_record_keeps_the_validity_when_the_comment_loses_it(tmp_path):
    from monitor.subscriptions.config import SubscriptionsConfig
    from monitor.subscriptions.poller import SubscriptionPoller
    from monitor.subscriptions.store import SubscriptionStore
    from tests.routeros_helpers import Recorder

    async with make_sim() as sim:
        package = PackageConfig.model_validate({**PPPOE, "validity": "1d"})
        account = await provision(router(sim.port), package, name="Budi", phone="6285712345678",
                                  now=1_800_000_000.0, timezone="Asia/Jakarta", state_path=tmp_path / "state.db")
        menu = sim.menus["/ppp/secret"]
        menu.set(menu.find(name=account.user), {"comment": "Budi, tiang 7"})  # edited in Winbox: no date left
        sim.add_ppp_secret(account.user + "x", comment="Budi, tiang 8")  # not pantau's: no validity
        store, events = SubscriptionStore(tmp_path / "state.db"), Recorder()
        clock = [account.expiry - timedelta(minutes=30)]
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(), timezone="Asia/Jakarta", emit=events,
                                    store=store, clock=lambda: clock[0])
        await poller.check_once()
        assert [(e.type, e.data["user"], e.data["service"]) for e in events.events] == [
            ("subscriber.expiring", account.user, "ppp")]
        # the secret is removed and another of the same name added: pantau's record was for the old one
        menu.remove(menu.find(name=account.user))
        sim.add_ppp_secret(account.user, comment="baru")
        clock[0] = account.expiry + timedelta(minutes=1)
        await poller.check_once()
        assert len(events.events) == 1
        assert store.forget(account.user) == 1 and store.validity("core") == {}
        store.close()
