"""Expiry and quota warnings read from the RouterOS simulator over the real API, and through the
real `pantau run` to a webhook: each level once, across a router reboot and a pantau restart."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import yaml
from fake_peers import generic_peer
from routeros_helpers import PASSWORD, Recorder
from test_restart_e2e import Pantau, wait_until

from monitor.routeros.config import RouterConfig
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.subscriptions.config import SubscriptionsConfig
from monitor.subscriptions.poller import SubscriptionPoller
from monitor.subscriptions.store import SubscriptionStore

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)
MB = 1024 * 1024


def router(port: int) -> RouterConfig:
    return RouterConfig(name="core", address="127.0.0.1", port=port, username="pantau", password=PASSWORD,
                        timeout=2)


def set_user(sim: RouterSimulator, item: str, **attrs: str) -> None:
    sim.menus["/ip/hotspot/user"].set(item, {k.replace("_", "-"): v for k, v in attrs.items()})


async def test_levels_from_the_router_once_across_a_reboot_and_a_restart(tmp_path):
    clock = [NOW]
    async with RouterSimulator(password=PASSWORD) as sim:
        budi = sim.add_hotspot_user("budi", profile="2M-harian", comment="nov/25/2026 08:30:00 08571234567")
        sari = sim.add_hotspot_user("sari", comment="2026-12-30 10:00:00")
        set_user(sim, budi, limit_bytes_total=str(1000 * MB), bytes_in=str(100 * MB), bytes_out=str(600 * MB))
        set_user(sim, sari, limit_uptime="10h", uptime="9h40m")
        store = SubscriptionStore(tmp_path / "state.db")
        events = Recorder()
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(), timezone="Asia/Jakarta",
                                    emit=events, store=store, clock=lambda: clock[0])
        assert await poller.check_once() == 1  # budi at 70 % now, sari at 96.7 % of her online time
        got = [(e.type, e.data["user"], e.data.get("level")) for e in events.events]
        assert got == [("subscriber.quota", "sari", 95)]

        # budi is online: his running session's counters count too (85 %)
        sim.hotspot_login("budi", "10.5.50.9", "AA:BB:CC:00:00:09", bytes_in=50 * MB, bytes_out=100 * MB)
        clock[0] += timedelta(minutes=5)
        assert await poller.check_once() == 1
        quota = events.events[-1]
        assert (quota.type, quota.data["user"], quota.data["level"], quota.data["kind"]) == \
               ("subscriber.quota", "budi", 80, "data")
        assert quota.data["subscriber"] == {"phone": "628571234567"}
        assert quota.data["expires_at"] == "2026-11-25T08:30:00+07:00"

        # the router reboots: sessions vanish and the user counters go back to zero — nothing repeats
        sim.hotspot_logout("budi")
        set_user(sim, budi, bytes_in="0", bytes_out="0")
        set_user(sim, sari, uptime="0s")
        clock[0] += timedelta(minutes=5)
        assert await poller.check_once() == 0

        # pantau restarts (a new poller on the same state DB): nothing repeats either
        store.close()
        store = SubscriptionStore(tmp_path / "state.db")
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(), timezone="Asia/Jakarta",
                                    emit=events, store=store, clock=lambda: clock[0])
        assert await poller.check_once() == 0

        # the day runs on: 1 day before budi's date, then 1 hour before, then the end
        for at, expected in [(datetime(2026, 11, 24, 9, 0, tzinfo=WIB), ("subscriber.expiring", 86400)),
                             (datetime(2026, 11, 25, 7, 40, tzinfo=WIB), ("subscriber.expiring", 3600)),
                             (datetime(2026, 11, 25, 8, 31, tzinfo=WIB), ("subscriber.expired", None))]:
            clock[0] = at
            assert await poller.check_once() == 1, at
            last = events.events[-1]
            assert (last.type, last.data.get("level_s")) == expected
        assert await poller.check_once() == 0
        store.close()


async def test_an_unreachable_router_skips_the_round(tmp_path):
    async with RouterSimulator(password=PASSWORD) as sim:
        port = sim.port
    store = SubscriptionStore(tmp_path / "state.db")
    poller = SubscriptionPoller(router(port), SubscriptionsConfig(), timezone="Asia/Jakarta",
                                emit=Recorder(), store=store)
    assert await poller.check_once() == 0
    store.close()


async def test_through_pantau_run_to_a_webhook(tmp_path):
    """`subscriptions:` in the config: the real process warns once, and not again after a restart."""
    async with RouterSimulator(password=PASSWORD) as sim, generic_peer() as hook:
        user = sim.add_hotspot_user("andi", comment="0857 1111 2222")
        set_user(sim, user, limit_bytes_total=str(100 * MB), bytes_out=str(90 * MB))
        config = {
            "routers": [{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                         "password": PASSWORD, "mode": "poll", "poll_interval": "1s", "timeout": "2s"}],
            "subscriptions": {"check_every": "300ms"},  # each round logs subscriptions.checked at debug
            "notifiers": [{"name": "hook", "type": "webhook", "url": hook.url}],
            "routes": [{"events": ["subscriber.*"], "notify": ["hook"]}],
            "state": {"path": str(tmp_path / "state.db")},
            "log": {"level": "debug", "format": "json"},
            "plugins_dir": None,
        }
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(config))
        for run in (1, 2):
            pantau = Pantau(path, tmp_path / f"run{run}.log")
            try:
                if run == 1:
                    await wait_until(lambda: len(hook.received) >= 1)
                await pantau.wait_log("subscriptions.checked", 3)
                pantau.stop("stop")
            finally:
                pantau.ensure_dead()
    sent = [r.json for r in hook.received]
    assert [(e["type"], e["data"]["user"], e["data"]["level"]) for e in sent] == [("subscriber.quota", "andi", 80)]
    assert sent[0]["data"]["subscriber"] == {"phone": "6285711112222"}
    await asyncio.sleep(0)


def _cli(*args: str, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


def test_bad_subscriptions_config_exits_2_with_the_path(tmp_path):
    cases = [({"quota_levels": ["150%"]}, "subscriptions.quota_levels"),
             ({"quota_levels": ["0%"]}, "subscriptions.quota_levels: a quota level must be between"),
             ({"time_levels": ["soon"]}, "subscriptions.time_levels[0]: invalid duration 'soon'"),
             ({"check_every": "0s"}, "subscriptions.check_every: must be greater than 0"),
             ({"routers": ["edge"]}, "subscriptions.routers[0]: unknown router 'edge'"),
             ({"colour": "red"}, "subscriptions.colour: unknown key")]
    for fields, expected in cases:
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump({"subscriptions": fields, "plugins_dir": None}))
        proc = _cli("check", "-c", str(path))
        assert proc.returncode == 2, (fields, proc.stderr)
        assert expected in proc.stderr and "Traceback" not in proc.stderr, (fields, proc.stderr)


def test_subscriber_forget_through_the_cli(tmp_path):
    from monitor.subscriptions.levels import Record

    db = tmp_path / "state.db"
    store = SubscriptionStore(db)
    store.save("core", {"budi": Record("p", sent={"data:0.8"}), "sari": Record("q")})
    store.close()
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"state": {"path": str(db)}, "plugins_dir": None}))
    proc = _cli("subscriber", "forget", "budi", "-c", str(path))
    assert proc.returncode == 0 and "forgot budi: 1 record(s) deleted" in proc.stdout, proc.stderr
    store = SubscriptionStore(db)
    assert set(store.load("core")) == {"sari"}
    store.close()
    assert "example: pantau subscriber forget" in _cli("subscriber", "--help").stdout
