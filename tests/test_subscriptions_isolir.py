"""``subscriptions.on_expiry: isolir`` against the RouterOS simulator (v6 and v7) with a driven clock:
the poller follows PPP secrets (validity from the comment) beside hotspot users; at expiry it runs the
bot's own isolir (the router's ``isolir:`` setting for a secret, ``isolir.hotspot_profile`` for a
hotspot user) exactly once — a router reboot before expiry, further rounds and a restart of pantau
change nothing — the event carries what was done, the audit has it, and the bot's ``/buka`` reverses
it exactly (and it stays reversed until a new date runs out). Bad config is exit 2 with the path."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.bot.store import BotStore
from monitor.config.model import parse_config
from monitor.delivery.templates.renderer import TemplateRenderer
from monitor.engine import Engine
from monitor.errors import ConfigError
from monitor.subscriptions.config import SubscriptionsConfig
from monitor.subscriptions.poller import SubscriptionPoller
from monitor.subscriptions.store import SubscriptionStore
from tests.bot_helpers import MANAGE_PW, READ_PW, make_core, make_sim, router
from tests.routeros_helpers import Recorder, wait_until
from tests.test_bot_manage import confirm, user_row

WIB = ZoneInfo("Asia/Jakarta")
BEFORE = datetime(2026, 11, 25, 8, 0, tzinfo=WIB)
AFTER = datetime(2026, 11, 25, 8, 31, tzinfo=WIB)
ISOLIR = {"disable": {"mode": "disable", "hotspot_profile": "isolir-hs"},
          "profile": {"mode": "profile", "profile": "isolir", "hotspot_profile": "isolir-hs"}}


def date(version: str, moment: datetime) -> str:
    if version.startswith("7"):
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.strftime("%b/%d/%Y %H:%M:%S").lower()


def expired(events: Recorder) -> list:
    return [e for e in events.events if e.type == "subscriber.expired"]


def audit(db_path) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT identity, channel, command, args, result FROM bot_audit WHERE identity='pantau' "
                          "ORDER BY id").fetchall()
    finally:
        db.close()


class Pantau:
    """One run of pantau's poller on the shared state DB (a new one is a restart)."""

    def __init__(self, tmp_path, port: int, isolir: dict, clock: list, events: Recorder, **extra):
        self.subs, self.bot = SubscriptionStore(tmp_path / "state.db"), BotStore(tmp_path / "state.db")
        self.poller = SubscriptionPoller(router(port, isolir=isolir, **extra), SubscriptionsConfig(on_expiry="isolir"),
                                         timezone="Asia/Jakarta", emit=events, store=self.subs,
                                         clock=lambda: clock[0], bot_store=self.bot)

    def close(self) -> None:
        self.subs.close()
        self.bot.close()


@pytest.mark.parametrize("version", ["6.49.10", "7.18.2"])
@pytest.mark.parametrize("mode", ["disable", "profile"])
async def test_isolir_at_expiry_once_across_reboot_and_restart_and_buka_reverses_it(tmp_path, version, mode):
    clock, events = [BEFORE], Recorder()
    async with make_sim() as sim:
        sim.version = version
        sim.add_ppp_secret("pel-01", password="pw1", profile="10M",
                           comment=f"{date(version, AFTER - timedelta(minutes=1))} WA 0857-1234-5678 pantau")
        sim.add_ppp_secret("pel-02", password="pw2", profile="10M", comment="2099-01-01 00:00:00")
        sim.add_hotspot_user("budi", password="pw3", profile="2M", comment=f"{date(version, AFTER)} WA 08571112222")
        sim.add_hotspot_user("budi2", password="pw4", profile="2M")  # no date: never expires
        ppp_before, hs_before = user_row(sim, "pel-01", "/ppp/secret"), user_row(sim, "budi")
        run = Pantau(tmp_path, sim.port, ISOLIR[mode], clock, events)
        await run.poller.check_once()
        assert [e.type for e in events.events] == ["subscriber.expiring", "subscriber.expiring"]
        assert {e.data["service"] for e in events.events} == {"ppp", "hotspot"}

        sim.reboot()  # before expiry: the sessions vanish and come back; the router's scheduler would be gone
        sim.ppp_connect("pel-01", caller_id="AA:00:00:00:00:09", address="10.20.0.9")
        sim.hotspot_login("budi", "10.5.50.9", "AA:BB:CC:00:00:09")
        clock[0] = AFTER + timedelta(minutes=1)
        await run.poller.check_once()
        done = {e.data["user"]: e.data for e in expired(events)}
        assert set(done) == {"pel-01", "budi"}
        assert done["pel-01"]["action"] == "isolir" and done["pel-01"]["service"] == "ppp"
        assert done["pel-01"]["subscriber"] == {"phone": "6285712345678"}
        assert done["pel-01"]["isolir"]["mode"] == mode and done["pel-01"]["isolir"]["dropped"] == 1
        secret = user_row(sim, "pel-01", "/ppp/secret")
        if mode == "disable":
            assert secret["disabled"] == "true" and secret["profile"] == "10M"
        else:
            assert secret["disabled"] == "false" and secret["profile"] == "isolir"
            assert done["pel-01"]["isolir"]["profile"] == "isolir"
        assert done["budi"]["isolir"] == {"mode": "profile", "profile": "isolir-hs", "disabled": False, "dropped": 1}
        assert user_row(sim, "budi")["profile"] == "isolir-hs" and user_row(sim, "budi")["disabled"] == "false"
        assert sim.active("/ppp/active") == [] and sim.active("/ip/hotspot/active") == []
        assert user_row(sim, "pel-02", "/ppp/secret")["profile"] == "10M"
        assert user_row(sim, "budi2")["profile"] == "2M"
        text = TemplateRenderer(language="id", markup="text").render(expired(events)[0])
        assert "diisolir oleh pantau" in text
        assert audit(tmp_path / "state.db") == [  # hotspot users are read first
            ("pantau", "subscriptions", "hotspot.isolir", '["budi"]', "ok"),
            ("pantau", "subscriptions", "ppp.isolir", '["pel-01"]', "ok")]

        # the customer reconnects to the isolir page; further rounds and a restart change nothing
        sim.ppp_connect("pel-01", caller_id="AA:00:00:00:00:09", address="10.20.0.9")
        clock[0] += timedelta(minutes=5)
        await run.poller.check_once()
        run.close()
        run = Pantau(tmp_path, sim.port, ISOLIR[mode], clock, events)
        clock[0] += timedelta(minutes=5)
        await run.poller.check_once()
        assert len(expired(events)) == 2 and len(audit(tmp_path / "state.db")) == 2
        assert len(sim.active("/ppp/active")) == 1  # not dropped again

        # the router loses the isolation (a restored backup): written again, the record for /buka kept
        secrets, users = sim.menus["/ppp/secret"], sim.menus["/ip/hotspot/user"]
        secrets.set(secrets.find(name="pel-01"), {"disabled": "false", "profile": "10M"})
        users.set(users.find(name="budi"), {"profile": "2M"})
        clock[0] += timedelta(minutes=5)
        await run.poller.check_once()
        assert user_row(sim, "pel-01", "/ppp/secret") == secret and user_row(sim, "budi")["profile"] == "isolir-hs"
        assert sim.active("/ppp/active") == [] and len(expired(events)) == 2
        assert [row[2] for row in audit(tmp_path / "state.db")][2:] == ["hotspot.isolir", "ppp.isolir"]
        await run.poller.check_once()
        assert len(audit(tmp_path / "state.db")) == 4  # nothing more while the router keeps it

        # the bot's /buka restores exactly what was there, and pantau leaves it open this period
        core = make_core(tmp_path, [router(sim.port, isolir=ISOLIR[mode])])
        _, r = await confirm(core, "/buka pel-01")
        assert "dibuka" in r.text
        _, r = await confirm(core, "/hotspot buka budi")
        assert "dibuka" in r.text
        assert user_row(sim, "pel-01", "/ppp/secret") == ppp_before
        assert user_row(sim, "budi") == hs_before
        clock[0] += timedelta(minutes=5)
        await run.poller.check_once()
        assert user_row(sim, "pel-01", "/ppp/secret") == ppp_before and user_row(sim, "budi") == hs_before

        # a new date (renewed) that runs out too: isolated again, once
        menu = sim.menus["/ppp/secret"]
        menu.set(menu.find(name="pel-01"), {"comment": f"{date(version, clock[0] + timedelta(days=1))} WA 08571234567"})
        clock[0] += timedelta(days=1, minutes=1)
        await run.poller.check_once()
        await run.poller.check_once()
        assert [e.data["user"] for e in expired(events)] == ["budi", "pel-01", "pel-01"]
        assert user_row(sim, "pel-01", "/ppp/secret") != ppp_before
        assert [row[2] for row in audit(tmp_path / "state.db")] == ["hotspot.isolir", "ppp.isolir", "hotspot.isolir",
                                                                 "ppp.isolir", "ppp.isolir"]
        core.store.close()
        run.close()


async def test_a_failed_isolir_is_retried_and_an_admins_isolir_is_not_redone(tmp_path):
    clock, events = [AFTER], Recorder()
    async with make_sim() as sim:
        sim.add_ppp_secret("pel-01", profile="10M", comment="nov/25/2026 08:30:00")
        sim.add_ppp_secret("pel-02", profile="10M", comment="nov/25/2026 08:30:00")
        sim.users["pantau-manage"] = (MANAGE_PW, False)  # the manage user lost its write rights
        run = Pantau(tmp_path, sim.port, {"mode": "disable"}, clock, events, watch=["ppp"])
        clock[0] = BEFORE
        await run.poller.check_once()
        clock[0] = AFTER
        await run.poller.check_once()
        assert [e.data.get("action") for e in expired(events)] == [None, None]
        assert user_row(sim, "pel-01", "/ppp/secret")["disabled"] == "false"
        assert run.bot.isolated("core", "pel-01") is None  # nothing written: nothing for /buka to restore
        sim.users["pantau-manage"] = (MANAGE_PW, True)
        core = make_core(tmp_path, [router(sim.port)])
        await confirm(core, "/isolir pel-02")  # an admin was quicker for this one
        await run.poller.check_once()
        assert user_row(sim, "pel-01", "/ppp/secret")["disabled"] == "true"
        assert len(expired(events)) == 2  # told once
        assert [row[2:] for row in audit(tmp_path / "state.db")] == [("ppp.isolir", '["pel-01"]', "ok")]
        _, r = await confirm(core, "/buka pel-02")
        assert user_row(sim, "pel-02", "/ppp/secret")["disabled"] == "false"
        await run.poller.check_once()
        assert user_row(sim, "pel-02", "/ppp/secret")["disabled"] == "false"  # the admin's /buka stands
        core.store.close()
        run.close()


async def test_engine_enforces_isolir_from_its_first_round(tmp_path):
    async with make_sim() as sim:
        sim.add_ppp_secret("pel-01", profile="10M", comment="2020-01-01 00:00:00 WA 08571234567")
        sim.ppp_connect("pel-01", caller_id="AA:00:00:00:00:09", address="10.20.0.9")
        config = parse_config({
            "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None,
            "routers": [{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                         "password": READ_PW, "timeout": 2, "mode": "poll", "watch": ["ppp"],
                         "manage": {"username": "pantau-manage", "password": MANAGE_PW},
                         "isolir": {"mode": "profile", "profile": "isolir"}}],
            "subscriptions": {"on_expiry": "isolir"}})
        engine = Engine(config)
        await engine.start()
        try:
            await wait_until(lambda: user_row(sim, "pel-01", "/ppp/secret")["profile"] == "isolir", timeout=10)
        finally:
            await engine.stop(grace=0.2)
        store = BotStore(tmp_path / "state.db")
        assert store.isolated("core", "pel-01") == {"mode": "profile", "profile": "10M"}
        store.close()


BASE = {"name": "core", "address": "127.0.0.1", "username": "pantau", "password": "x",
        "manage": {"username": "m", "password": "y"}}


@pytest.mark.parametrize("routers, on_expiry, path", [
    ([BASE], "isolir", "routers[0].isolir.hotspot_profile"),
    ([{**BASE, "manage": None}], "isolir", "routers[0].manage"),
    ([{**BASE, "watch": ["ppp"], "manage": None}], "disable", "routers[0].manage"),
    ([{**BASE, "isolir": {"hotspot_profile": ""}}], "isolir", "routers[0].isolir.hotspot_profile"),
    ([BASE], "lock", "subscriptions.on_expiry"),
])
def test_bad_enforcement_config_names_the_path(routers, on_expiry, path):
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, "routers": routers, "subscriptions": {"on_expiry": on_expiry}})
    assert any(path in p for p in err.value.problems), err.value.problems


def test_valid_enforcement_configs():
    parse_config({"plugins_dir": None, "routers": [{**BASE, "watch": ["ppp"]}],  # PPP only: no hotspot profile
                  "subscriptions": {"on_expiry": "isolir"}})
    parse_config({"plugins_dir": None, "routers": [{**BASE, "isolir": {"hotspot_profile": "isolir-hs"}}],
                  "subscriptions": {"on_expiry": "isolir"}})
    parse_config({"plugins_dir": None, "routers": [{**BASE, "manage": None}, {**BASE, "name": "edge"}],
                  "subscriptions": {"on_expiry": "disable", "routers": ["edge"]}})  # core is not followed


def test_pantau_check_exits_2_with_the_path(tmp_path):
    (tmp_path / "monitor.yaml").write_text(
        "routers:\n  - {name: core, address: 127.0.0.1, username: pantau, password: x,\n"
        "     manage: {username: m, password: y}}\nsubscriptions: {on_expiry: isolir}\n")
    out = subprocess.run([sys.executable, "-m", "monitor", "check", "-c", str(tmp_path / "monitor.yaml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert "routers[0].isolir.hotspot_profile" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


async def test_disable_also_covers_ppp_secrets(tmp_path):
    events = Recorder()
    async with make_sim() as sim:
        sim.add_ppp_secret("pel-01", profile="10M", comment="nov/25/2026 08:30:00 WA 08571234567")
        sim.ppp_connect("pel-01", caller_id="AA:00:00:00:00:09", address="10.20.0.9")
        subs, bot = SubscriptionStore(tmp_path / "state.db"), BotStore(tmp_path / "state.db")
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(on_expiry="disable"),
                                    timezone="Asia/Jakarta", emit=events, store=subs, clock=lambda: BEFORE,
                                    bot_store=bot)
        await poller.check_once()
        poller.clock = lambda: AFTER
        await poller.check_once()
        [event] = expired(events)
        assert (event.data["service"], event.data["action"], event.data["dropped"]) == ("ppp", "disabled", 1)
        assert user_row(sim, "pel-01", "/ppp/secret")["disabled"] == "true" and sim.active("/ppp/active") == []
        assert [row[2:] for row in audit(tmp_path / "state.db")] == [("ppp.disable", '["pel-01"]', "ok")]
        subs.close()
        bot.close()


async def test_bot_hotspot_isolir_and_buka(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", password="pw", profile="2M")
        sim.hotspot_login("budi", "10.5.50.9", "AA:BB:CC:00:00:09")
        before = user_row(sim, "budi")
        core = make_core(tmp_path, [router(sim.port)])
        _, r = await confirm(core, "/hotspot isolir budi")  # no isolir.hotspot_profile on this router
        assert "isolir.hotspot_profile" in r.text and user_row(sim, "budi") == before
        assert core.store.isolated("core", "hotspot:budi") is None
        core.store.close()
        core = make_core(tmp_path, [router(sim.port, isolir={"hotspot_profile": "isolir-hs"})])
        _, r = await confirm(core, "/hotspot isolir budi")
        assert "diisolir" in r.text and "Sesi diputus: 1" in r.text
        assert user_row(sim, "budi")["profile"] == "isolir-hs" and sim.active("/ip/hotspot/active") == []
        assert core.store.isolated("core", "budi") is None  # a PPP secret called budi is another record
        _, r = await confirm(core, "/hotspot buka budi")
        assert "dibuka" in r.text and user_row(sim, "budi") == before
        _, r = await confirm(core, "/hotspot buka budi")
        assert "tidak sedang diisolir" in r.text
        core.store.close()
