"""Engine.reload for what the first reload left out: subscription pollers (levels, on_expiry, the
routers followed) against the RouterOS simulator, the history's maintenance windows and parents
with a driven clock, and notifiers' own tasks and web routes (Alertmanager's re-posting to a fake
Alertmanager, the WhatsApp Cloud status webhook on pantau's HTTP server)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest
from fake_peers import generic_peer
from test_engine_reload import SwitchProbe
from test_restart_e2e import wait_until
from test_whatsapp_cloud import APP_SECRET, VERIFY, post_status, status_body

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.errors import ConfigError
from monitor.hosts.detector import State
from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim

MB = 1024 * 1024


def base(tmp_path, hook_url: str, **extra) -> dict:
    return {"defaults": {"interval": "50ms", "count": 1, "timeout": "20ms", "down_after": 2, "up_after": 2},
            "notifiers": [{"name": "hook", "type": "webhook", "url": hook_url}],
            "routes": [{"events": ["*"], "notify": ["hook"]}],
            "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None, "timezone": "UTC", **extra}


def got(peer, prefix: str) -> list[tuple]:
    return [(r.json["type"], r.json["source"]["name"] if "user" not in r.json["data"] else r.json["data"]["user"],
             r.json["data"].get("level"), r.json["data"].get("reconciled"))
            for r in peer.received if r.json["type"].startswith(prefix)]


async def test_subscription_pollers_follow_the_reloaded_settings_and_keep_what_was_said(tmp_path):
    async with make_sim() as sim, generic_peer() as hook:
        andi = sim.add_hotspot_user("andi", comment="0857 1111 2222")
        sari = sim.add_hotspot_user("sari")
        users = sim.menus["/ip/hotspot/user"]
        users.set(andi, {"limit-bytes-total": str(100 * MB), "bytes-out": str(85 * MB)})
        users.set(sari, {"limit-bytes-total": str(100 * MB), "bytes-out": str(100 * MB)})  # used up already
        router = {"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                  "password": READ_PW, "mode": "poll", "poll_interval": "1s", "timeout": "2s", "watch": ["hotspot"],
                  "manage": {"username": "pantau-manage", "password": MANAGE_PW}}

        def config(**subs):
            return parse_config(base(tmp_path, hook.url, routers=[router],
                                     subscriptions={"check_every": "150ms", **subs}), env={})

        engine = Engine(config(quota_levels=["80%"]))
        await engine.start()
        try:
            await wait_until(lambda: got(hook, "subscriber.") == [("subscriber.quota", "andi", 80, None)])
            first = engine.subscriptions.running["core"].poller

            plan = await engine.reload(config(quota_levels=["80%", "90%"], on_expiry="disable"))
            assert plan.restart_needed == []
            assert engine.subscriptions.running["core"].poller is not first  # replaced, records taken over
            # sari was already expired when first seen (recorded silently): now disabled, still silently
            await wait_until(lambda: users.items[sari].get("disabled") == "true")
            users.set(andi, {"bytes-out": str(92 * MB)})
            await wait_until(lambda: len(got(hook, "subscriber.")) == 2)

            await engine.reload(config(quota_levels=["80%", "90%"], on_expiry="disable", routers=[]))
            assert "core" not in engine.subscriptions.running
            assert "subscriptions:core" not in engine.supervisor.names()
            users.set(andi, {"limit-bytes-total": str(200 * MB), "bytes-out": str(190 * MB)})  # a new period at 95 %
            await asyncio.sleep(0.6)  # no poller follows core now: nothing is said
            assert len(got(hook, "subscriber.")) == 2

            await engine.reload(config(quota_levels=["80%", "90%"]))  # following core again
            await wait_until(lambda: len(got(hook, "subscriber.")) == 3)
            await asyncio.sleep(0.5)  # each level once
        finally:
            await engine.stop(grace=0.5)
    assert got(hook, "subscriber.") == [("subscriber.quota", "andi", 80, None), ("subscriber.quota", "andi", 90, None),
                                        ("subscriber.quota", "andi", 90, None)]  # the last in andi's new period


async def test_a_poller_that_cannot_work_is_refused_where_the_reload_reads_the_file(tmp_path):
    async with make_sim() as sim, generic_peer() as hook, generic_peer() as other:
        router = {"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                  "password": READ_PW, "mode": "poll", "poll_interval": "1s", "timeout": "2s", "watch": ["hotspot"]}
        engine = Engine(parse_config(base(tmp_path, hook.url, routers=[router],
                                          subscriptions={"check_every": "1h"}), env={}))
        await engine.start()
        try:
            running = engine.subscriptions.running["core"]
            # caught where SIGHUP reads the file (the same check as `pantau check`), so the reload
            # never starts; the poller keeps running
            with pytest.raises(ConfigError) as failed:
                parse_config(base(tmp_path, other.url, routers=[router],  # no manage: user on core
                                  subscriptions={"check_every": "1h", "on_expiry": "disable"}), env={})
            assert failed.value.problems == ["subscriptions.on_expiry: disable needs routers[0].manage (router "
                                             "'core' has no manage: user to write with)"]
            assert engine.subscriptions.running["core"] is running and "subscriptions:core" in engine.supervisor.names()
            assert engine.config.notifiers[0].url.get_secret_value() == hook.url  # the old config, whole
        finally:
            await engine.stop(grace=0.5)


async def test_a_poller_is_stopped_between_rounds_not_in_one(tmp_path):
    """A reload while a round is waiting for a slow router waits for that round to finish (its
    records saved), so the replacement does not repeat its warning."""
    async with make_sim() as sim, generic_peer() as hook:
        andi = sim.add_hotspot_user("andi")
        sim.menus["/ip/hotspot/user"].set(andi, {"limit-bytes-total": str(100 * MB), "bytes-out": str(85 * MB)})
        router = {"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                  "password": READ_PW, "mode": "poll", "poll_interval": "1s", "timeout": "3s", "watch": ["hotspot"]}

        def config(every: str):
            return parse_config(base(tmp_path, hook.url, routers=[router],
                                     subscriptions={"check_every": every, "quota_levels": ["80%"]}), env={})

        engine = Engine(config("1h"))
        sim.set_fault("delay", delay=0.3)  # the router answers slowly: the first round is still running
        await engine.start()
        try:
            await asyncio.sleep(0.2)
            assert not [e for e in engine.emitted if e.type == "subscriber.quota"]
            await engine.reload(config("100ms"))  # returns once the round in flight is done
            assert [e.type for e in engine.emitted if e.type.startswith("subscriber.")] == ["subscriber.quota"]
            sim.set_fault(None)
            await wait_until(lambda: len(got(hook, "subscriber.")) == 1)
            await asyncio.sleep(0.6)
        finally:
            await engine.stop(grace=0.5)
    assert got(hook, "subscriber.") == [("subscriber.quota", "andi", 80, None)]


async def test_maintenance_windows_and_parents_apply_on_reload(tmp_path):
    clock = [1_800_000_000.0]
    probe = SwitchProbe()
    around = {"start": datetime.fromtimestamp(clock[0] - 3600, UTC).isoformat(),
              "end": datetime.fromtimestamp(clock[0] + 3600, UTC).isoformat()}
    async with generic_peer() as hook:
        def config(windows=(), ap_parent=None):
            hosts = [{"name": "gw", "address": "127.0.0.10"},
                     {"name": "ap", "address": "127.0.0.11", **({"parent": ap_parent} if ap_parent else {})}]
            return parse_config(base(tmp_path, hook.url, hosts=hosts, maintenance=list(windows)), env={})

        engine = Engine(config(), probe=probe)
        await engine.start()
        engine.history.clock = lambda: clock[0]
        try:
            await wait_until(lambda: all(m.detector.state is State.UP for m in engine.monitors.values()))
            plan = await engine.reload(config(windows=[{"match": ["host:ap"], **around, "reason": "kabel"}]))
            assert plan.history_changed == ["maintenance"] and plan.hosts.unchanged == ["gw", "ap"]
            probe.down.add("127.0.0.11")  # ap goes down inside the window added by the reload
            await wait_until(lambda: engine.monitors["ap"].detector.state is State.DOWN)
            await asyncio.sleep(0.3)
            assert got(hook, "host.") == []
            engine.history.store.flush()
            entry = engine.history.store.recent(1, source="ap")[0]
            assert entry.suppressed.startswith("maintenance") and "kabel" in entry.suppressed

            await engine.reload(config())  # the window is gone: ap is still down → told once
            await wait_until(lambda: got(hook, "host.") == [("host.down", "ap", None, "maintenance")])
            probe.down.clear()
            await wait_until(lambda: len(got(hook, "host.")) == 2)

            plan = await engine.reload(config(ap_parent="gw"))  # a parent added: the next transition
            assert plan.history_changed == ["dependencies"] and plan.hosts.changed == []
            probe.down.add("127.0.0.10")
            await wait_until(lambda: len(got(hook, "host.")) == 3)  # gw down
            probe.down.add("127.0.0.11")
            await wait_until(lambda: engine.monitors["ap"].detector.state is State.DOWN)
            await asyncio.sleep(0.3)
            engine.history.store.flush()
            reasons = [e.suppressed for e in engine.history.store.recent(10, source="ap") if e.event.type == "host.down"]
            assert "parent gw down" in reasons
        finally:
            await engine.stop(grace=0.5)
    assert got(hook, "host.") == [("host.down", "ap", None, "maintenance"), ("host.up", "ap", None, None),
                                  ("host.down", "gw", None, None)]


async def test_alertmanager_reposting_follows_its_notifier(tmp_path):
    probe = SwitchProbe()
    async with generic_peer() as hook, generic_peer() as am1, generic_peer() as am2:
        def config(am_url: str | None):
            data = base(tmp_path, hook.url, hosts=[{"name": "cpe", "address": "127.0.0.9"}])
            if am_url is not None:
                data["notifiers"].append({"name": "am", "type": "alertmanager", "urls": [am_url],
                                          "repost_interval": "100ms"})
                data["routes"].append({"events": ["host.*"], "notify": ["am"]})
            return parse_config(data, env={})

        engine = Engine(config(am1.url), probe=probe)
        await engine.start()
        try:
            await wait_until(lambda: engine.monitors["cpe"].detector.state is State.UP)
            probe.down.add("127.0.0.9")
            await wait_until(lambda: len(am1.received) >= 3)  # the alert, then re-posts
            first_task = engine.supervisor._tasks["notifier:am"]

            plan = await engine.reload(config(am2.url))
            assert plan.notifiers.changed == ["am"] and first_task.done()
            seen = len(am1.received)
            await wait_until(lambda: len(am2.received) >= 3)  # the new instance re-posts the firing alert
            assert len(am1.received) == seen  # the old task is gone, not posting with the old URL
            assert am2.received[0].json[0]["labels"]["host"] == "cpe"

            await engine.reload(config(None))  # removed: no task keeps re-posting
            assert "notifier:am" not in engine.supervisor.names()
            seen = len(am2.received)
            await asyncio.sleep(0.5)
            assert len(am2.received) == seen
            assert all(h.healthy for h in engine.supervisor.health().values())  # nothing crash-looping
        finally:
            await engine.stop(grace=0.5)


async def test_the_cloud_status_webhook_follows_its_notifier(tmp_path):
    def config(verify: str | None, path: str | None = None):
        data = base(tmp_path, "http://127.0.0.1:9", http={"listen": "127.0.0.1:0"})
        if verify is not None:
            data["notifiers"].append({"name": "wa", "type": "whatsapp", "provider": "cloud",
                                      "url": "http://127.0.0.1:9", "token": "tok", "phone_number_id": "1",
                                      "to": ["6285712345678"], "app_secret": APP_SECRET, "verify_token": verify,
                                      **({"status_path": path} if path else {})})
        return parse_config(data, env={})

    engine = Engine(config(VERIFY))
    await engine.start()
    url = f"http://127.0.0.1:{engine.web.port}/whatsapp/wa/status"
    hello = {"hub.mode": "subscribe", "hub.challenge": "77"}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url, params={**hello, "hub.verify_token": VERIFY}) as resp:
                assert resp.status == 200
            await engine.reload(config("new-verify-99"))
            async with http.get(url, params={**hello, "hub.verify_token": VERIFY}) as resp:
                assert resp.status == 403  # the old instance's token no longer opens it
            async with http.get(url, params={**hello, "hub.verify_token": "new-verify-99"}) as resp:
                assert resp.status == 200 and await resp.text() == "77"
            # a status reaches the new instance's store (the old one's was closed with it)
            assert await post_status(http, url, status_body("wamid.unknown", "delivered")) == 200

            plan = await engine.reload(config("new-verify-99", path="/wa/elsewhere"))
            assert "notifiers (web routes /wa/elsewhere)" in plan.restart_needed
            await engine.reload(config(None))
            async with http.get(url, params={**hello, "hub.verify_token": "new-verify-99"}) as resp:
                assert resp.status == 404
    finally:
        await engine.stop(grace=0.5)


async def test_bot_and_registration_changes_are_named_as_needing_a_restart(tmp_path):
    from tests.fake_telegram_bot import FakeBotApi

    async with FakeBotApi() as api, generic_peer() as hook:
        def config(admin: int):
            return parse_config(base(tmp_path, hook.url, bot={
                "telegram_users": {admin: "admin"},
                "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 1}}), env={})

        engine = Engine(config(111))
        await engine.start()
        try:
            plan = await engine.reload(config(222))
            assert plan.restart_needed == ["bot"]
            assert engine.config.settings.bot.telegram_users == {111: "admin"}  # the running bot's, kept
            assert engine.bot.core is not None and "bot:telegram" in engine.supervisor.names()
        finally:
            await engine.stop(grace=0.5)


async def test_hosts_via_a_moved_router_ping_through_its_new_address(tmp_path):
    from monitor.routeros.sim.simulator import RouterSimulator

    async with RouterSimulator(username="pantau", password=READ_PW) as old_router, \
            RouterSimulator(username="pantau", password=READ_PW) as new_router, generic_peer() as hook:
        for sim in (old_router, new_router):
            sim.pings.set("127.0.0.31")

        def config(port: int):
            router = {"name": "core", "address": "127.0.0.1", "port": port, "username": "pantau",
                      "password": READ_PW, "mode": "poll", "poll_interval": "200ms", "timeout": "1s",
                      "watch": ["hotspot"]}
            return parse_config(base(tmp_path, hook.url, routers=[router],
                                     hosts=[{"name": "ap", "address": "127.0.0.31", "via": "core"}]), env={})

        engine = Engine(config(old_router.port))
        await engine.start()
        try:
            await wait_until(lambda: engine.monitors["ap"].detector.state is State.UP)
            plan = await engine.reload(config(new_router.port))
            assert plan.routers.changed == ["core"] and plan.hosts.unchanged == ["ap"]
            await old_router.stop()  # the router moved: the old address answers no more
            pings = new_router.pings.started
            await wait_until(lambda: new_router.pings.started >= pings + 5)
            assert engine.monitors["ap"].detector.state is State.UP
        finally:
            await engine.stop(grace=0.5)
    assert got(hook, "host.") == []  # no false DOWN, no stray UP


async def test_bot_commands_reach_a_moved_router(tmp_path):
    from tests.bot_helpers import ADMIN
    from tests.fake_telegram_bot import FakeBotApi

    async with make_sim() as old_router, make_sim() as new_router, FakeBotApi() as api, generic_peer() as hook:
        old_router.version, new_router.version = "6.49.10", "7.18.2"

        def config(port: int):
            router = {"name": "core", "address": "127.0.0.1", "port": port, "username": "pantau",
                      "password": READ_PW, "timeout": 2, "mode": "poll", "poll_interval": 1,
                      "manage": {"username": "pantau-manage", "password": MANAGE_PW}}
            return parse_config(base(tmp_path, hook.url, routers=[router], bot={
                "telegram_users": {ADMIN: "admin"},
                "telegram": {"token": api.token, "api_url": api.url, "poll_timeout": 1}}), env={})

        engine = Engine(config(old_router.port))
        await engine.start()
        try:
            await api.message(ADMIN, "/resource")
            await api.wait_for(lambda: [p for p in api.sent() if "6.49.10" in p["text"]])
            plan = await engine.reload(config(new_router.port))
            assert plan.routers.changed == ["core"] and plan.restart_needed == []
            await old_router.stop()
            await api.message(ADMIN, "/resource")
            await api.wait_for(lambda: [p for p in api.sent() if "7.18.2" in p["text"]])
        finally:
            await engine.stop(grace=0.5)


async def test_reports_added_and_removed_by_reload_send_on_the_driven_clock(tmp_path):
    day = 86400.0
    clock = [1_800_000_000.0 - 1_800_000_000.0 % day + 6 * 3600]  # 06:00 UTC
    async with generic_peer() as hook:
        def config(reports=()):
            return parse_config(base(tmp_path, hook.url, hosts=[{"name": "gw", "address": "127.0.0.10"}],
                                     reports=list(reports)), env={})

        engine = Engine(config(), probe=SwitchProbe())
        await engine.start()
        engine.history.clock = lambda: clock[0]
        try:
            assert "reports" not in engine.supervisor.names()
            plan = await engine.reload(config([{"every": "daily 07:00", "notify": ["hook"]}]))
            assert plan.history_changed == ["reports"] and "reports" in engine.supervisor.names()
            assert await engine.history.run_reports() == []  # the first run only remembers the time
            clock[0] += 2 * 3600  # 08:00: the 07:00 report is due
            sent = await engine.history.run_reports()
            assert [e.type for e in sent] == ["report.summary"]
            await engine.reload(config())
            assert "reports" not in engine.supervisor.names()
            await wait_until(lambda: [r for r in hook.received if r.json["type"] == "report.summary"])
        finally:
            await engine.stop(grace=0.5)
    assert len([r for r in hook.received if r.json["type"] == "report.summary"]) == 1
