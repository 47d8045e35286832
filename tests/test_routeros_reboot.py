"""Calm reboots: a rebooted router gives one router.rebooted summary, not a logout/login per
subscriber; sessions that do not come back end with reason router_rebooted; listen resumes fast."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from fake_peers import generic_peer
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.routeros.reboot import UptimeTracker
from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher

MONTH = 30 * 86400


def _login_all(sim: RouterSimulator, names: list[str]) -> None:
    for name in names:
        i = int(name[1:])
        sim.hotspot_login(name, f"10.5.50.{i + 10}", f"AA:BB:CC:00:00:{i:02X}", uptime=600, bytes_in=1000 * i)


async def test_reboot_with_20_users_is_one_admin_message_and_no_subscriber_noise(tmp_path) -> None:
    """Counted at fake webhooks: the admin hook gets exactly one router.rebooted, the subscriber hook
    nothing, although every user's session vanished and came back with a new .id."""
    sim = await RouterSimulator(password=PASSWORD, version="6.49.10 (long-term)", empty_reply=False,
                                uptime=MONTH).start()
    users = [f"u{i:02d}" for i in range(20)]
    _login_all(sim, users)
    db = tmp_path / "state.db"
    async with generic_peer() as admin, generic_peer() as subscribers:
        config = parse_config({
            "routers": [{"name": "core", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                         "password": PASSWORD, "mode": "listen", "poll_interval": "100ms", "timeout": "1s",
                         "down_after": 5, "reboot_settle": "1500ms"}],
            "notifiers": [{"name": "admin", "type": "webhook", "url": admin.url + "/admin"},
                          {"name": "subs", "type": "webhook", "url": subscribers.url + "/subs"}],
            "routes": [{"events": ["router.*"], "notify": ["admin"]},
                       {"events": ["hotspot.*", "ppp.*"], "notify": ["subs"]}],
            "state": {"path": str(db)}, "plugins_dir": None}, env={})
        engine = Engine(config)
        await engine.start()
        try:
            def stored() -> int:
                with sqlite3.connect(db) as conn:
                    try:
                        return conn.execute("select count(*) from router_sessions").fetchone()[0]
                    except sqlite3.OperationalError:
                        return 0
            await wait_until(lambda: stored() == 20, timeout=5)
            sim.reboot()
            await asyncio.sleep(0.3)  # the subscribers' devices reconnect, in another order (.ids differ)
            _login_all(sim, list(reversed(users)))
            await wait_until(lambda: len(admin.received) >= 1, timeout=8)
            await asyncio.sleep(0.5)  # anything else would arrive now
        finally:
            await engine.stop()
            await sim.stop()
    assert [r.json["type"] for r in admin.received] == ["router.rebooted"]
    assert subscribers.received == []
    data = admin.received[0].json["data"]
    assert (data["sessions_before"], data["sessions_back"], data["sessions_ended"]) == (20, 20, 0)
    assert data["old_uptime_s"] >= MONTH and data["uptime_s"] < 60
    assert data["version"] == "6.49.10 (long-term)"


@pytest.mark.parametrize("mode", ["poll", "listen"])
async def test_who_does_not_come_back_ends_with_reason_and_unknown_counters(mode: str) -> None:
    """18 of 20 return, 2 do not, 1 newcomer: 2 logouts (router_rebooted, bytes unknown), 1 login, one
    summary after the window — and nothing for the 18."""
    sim = await RouterSimulator(password=PASSWORD, uptime=MONTH).start()
    users = [f"u{i:02d}" for i in range(20)]
    _login_all(sim, users)
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode=mode, reboot_settle=1.0, down_after=5), emit=rec)
    try:
        async with Running(watcher):
            await wait_until(lambda: len(watcher.sessions("hotspot")) == 20, timeout=5)
            sim.reboot()
            back = [u for u in reversed(users) if u not in ("u04", "u13")]
            _login_all(sim, back)
            sim.hotspot_login("n99", "10.5.51.1", "BB:00:00:00:00:99")
            await rec.wait_for("router.rebooted", timeout=6)
        assert sorted(e.data["user"] for e in rec.of("hotspot.logout")) == ["u04", "u13"]
        assert {(e.data["reason"], e.data["bytes_in"], e.data["bytes_out"]) for e in rec.of("hotspot.logout")} \
            == {("router_rebooted", None, None)}
        assert sorted(e.data["bytes_in_last_seen"] for e in rec.of("hotspot.logout")) == [4000, 13000]
        assert [e.data["user"] for e in rec.of("hotspot.login")] == ["n99"]
        summary = rec.of("router.rebooted")[0].data
        assert (summary["sessions_before"], summary["sessions_back"], summary["sessions_ended"]) == (20, 18, 2)
        assert len(rec.events) == 4
        assert len(watcher.sessions("hotspot")) == 19
    finally:
        await sim.stop()


async def test_listen_is_back_within_seconds_after_a_trap() -> None:
    """A !trap on the listen (resync_interval 5 min) no longer parks it for 5 minutes: retries start at
    poll_interval and double, so after the trap clears the listen (and its 50 ms logins) is back fast."""
    sim = await RouterSimulator(password=PASSWORD).start()
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="listen", resync_interval=300, down_after=50,
                                          watch=["hotspot"]), emit=rec)
    path = "/ip/hotspot/active"
    try:
        async with Running(watcher):
            await wait_until(lambda: watcher._listening[path])
            sim.set_fault("trap", menu=path)
            sim.drop_connections()
            await wait_until(lambda: not watcher._listening[path])
            await asyncio.sleep(0.5)  # a few trapped retries (0.1, 0.2 s…)
            assert not watcher._listening[path]
            sim.clear_fault()
            await wait_until(lambda: watcher._listening[path], timeout=3)
    finally:
        await sim.stop()


def test_uptime_tracker_sees_a_reboot_also_during_a_long_outage() -> None:
    t = UptimeTracker()
    assert t.observe({"uptime": "2w", "version": "7.18"}, 1000.0) is None
    assert t.observe({"uptime": "2w10s"}, 1010.0) is None  # just running on
    assert t.observe({"uptime": "2w15s"}, 1200.0) is None  # grew less than the clock: not a reboot
    assert t.observe({"uptime": "2w"}, 1201.0) is not None  # went backwards
    assert t.observe({"uptime": "2w15s"}, 1200.0) is None
    info = t.observe({"uptime": "1h"}, 1200.0 + 2 * 3600)  # 2 h unreachable, back with 1 h uptime
    assert info is not None and info.old_uptime_s == 1209615 and info.uptime_s == 3600
    assert t.observe({"uptime": "3h"}, 1200.0 + 4 * 3600) is None  # ran on through another 2 h
    assert t.observe({"uptime": "garbage"}, 9000.0) is None
