"""Suppression and history through the engine, counted at a fake webhook: a parent with 30
children (one message down, then the parent's up and only the children still down), maintenance
windows that survive a restart and reconcile when ended, and a scheduled report at a driven time
rendered in the notifier's language."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fake_peers import generic_peer, telegram_peer
from steerable_probe import SteerableProbe

from monitor.config.model import parse_config
from monitor.engine import Engine
from monitor.events import Event, Source

FAST = {"interval": "100ms", "count": 1, "timeout": "50ms", "down_after": 3, "up_after": 2}


def config(tmp_path, url, hosts, **extra):
    return parse_config({"defaults": FAST, "hosts": hosts,
                         "notifiers": [{"name": "hook", "type": "webhook", "url": url}],
                         "routes": [{"events": ["host.*"], "notify": ["hook"]}],
                         "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None, **extra}, env={})


async def settle_for(peer, count, quiet=1.0, timeout=10.0):
    """Wait for ``count`` requests, then ``quiet`` seconds in which no more may arrive."""
    await peer.wait_received(count, timeout=timeout)
    await asyncio.sleep(quiet)
    return [(r.json["type"], r.json["source"]["name"]) for r in peer.received]


async def test_parent_with_30_children_one_message_down_then_the_right_ones(tmp_path):
    children = [{"name": f"cpe-{i:02d}", "address": f"127.0.1.{i + 1}", "parent": "olt"} for i in range(30)]
    probe = SteerableProbe()
    async with generic_peer() as peer:
        engine = Engine(config(tmp_path, peer.url, [{"name": "olt", "address": "127.0.0.2"}, *children]), probe=probe)
        await engine.start()
        engine.history.tick = 0.05
        try:
            await asyncio.sleep(0.8)  # everything established UP, silently
            assert peer.received == []
            probe.down = {"127.0.0.2", *(c["address"] for c in children)}
            got = await settle_for(peer, 1, quiet=1.5)
            assert got == [("host.down", "olt")]
            assert peer.received[0].json["data"]["behind"] == 30
            still_down = {c["address"]: c["name"] for c in children[25:]}
            probe.down = set(still_down)
            got = await settle_for(peer, 7, quiet=1.0)
            assert got[1] == ("host.up", "olt")
            assert sorted(got[2:]) == sorted(("host.down", name) for name in still_down.values())
            assert {r.json["data"]["reconciled"] for r in peer.received[2:]} == {"parent"}
            engine.history.store.flush()
            recent = engine.history.store.recent(200)
            suppressed = [e for e in recent if not e.sent]
            assert sum(1 for e in suppressed if e.event.type == "host.down" and
                       e.suppressed == "parent olt down") == 30
            assert sum(1 for e in suppressed if e.event.type == "host.up") == 25
            assert [e.notified for e in recent if e.sent and e.event.source.name == "olt"] == [("hook",), ("hook",)]
        finally:
            await engine.stop()


async def test_window_survives_a_restart_and_its_end_reconciles_once(tmp_path):
    probe = SteerableProbe()
    hosts = [{"name": "olt", "address": "127.0.0.2"}, {"name": "ap", "address": "127.0.0.3"}]
    async with generic_peer() as peer:
        first = Engine(config(tmp_path, peer.url, hosts), probe=probe)
        await first.start()
        try:
            await asyncio.sleep(0.6)
            window = first.history.maintenance.add(["host:olt"], 3600, reason="ganti OLT", by="test")
            assert first.history.reload_windows()
            probe.down = {"127.0.0.2"}
            await asyncio.sleep(1.0)
            assert peer.received == []  # suppressed, recorded
        finally:
            await first.stop()
        second = Engine(config(tmp_path, peer.url, hosts), probe=probe)
        await second.start()
        second.history.tick = 0.05
        try:
            assert [w.id for w in second.history.windows.windows] == [str(window.id)]
            await asyncio.sleep(1.2)
            assert peer.received == []  # still inside the window after the restart
            second.history.maintenance.end(window.id)
            second.history.reload_windows()
            got = await settle_for(peer, 1, quiet=1.0)
            assert got == [("host.down", "olt")]
            assert peer.received[0].json["data"]["reconciled"] == "maintenance"
            probe.down = set()
            assert await settle_for(peer, 2, quiet=0.5) == [("host.down", "olt"), ("host.up", "olt")]
        finally:
            await second.stop()


async def test_scheduled_report_at_a_driven_time_in_the_notifiers_language(tmp_path):
    tz = ZoneInfo("Asia/Jakarta")
    tomorrow = datetime.now(tz).date() + timedelta(days=2)  # any future day: time is driven
    seven = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 7, 0, tzinfo=tz).timestamp()
    async with generic_peer() as hook, telegram_peer() as tg:
        cfg = parse_config({
            "hosts": [{"name": "olt", "address": "127.0.0.2"}, {"name": "ap", "address": "127.0.0.3"}],
            "notifiers": [{"name": "hook", "type": "webhook", "url": hook.url},
                          {"name": "tg", "type": "telegram", "token": "1:x", "chat_id": 5, "api_url": tg.url,
                           "language": "en"}],
            "reports": [{"every": "daily 07:00", "notify": ["hook", "tg"]}],
            "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None}, env={})
        engine = Engine(cfg, probe=SteerableProbe())
        await engine.start()
        try:
            store = engine.history.store
            await asyncio.sleep(0.1)  # the reports task's first round remembers "first started"...
            store.set_meta("report[0]:daily 07:00", repr(seven - 3600))  # ...which we drive instead
            at = lambda t: datetime.fromtimestamp(t, UTC)  # noqa: E731
            olt = Source("host", "olt", "127.0.0.2")
            store.record(Event("host.down", olt, {}, at=at(seven - 3600)))
            store.record(Event("host.up", olt, {}, at=at(seven - 1800)))
            store.record(Event("host.down", olt, {}, at=at(seven - 2 * 86400)))  # before the period:
            store.record(Event("host.up", olt, {}, at=at(seven - 2 * 86400 + 60)))  # not counted
            store.flush()
            assert await engine.history.run_reports(seven - 1) == []
            [event] = await engine.history.run_reports(seven)
            assert await engine.history.run_reports(seven + 1800) == []  # once per occurrence
            await hook.wait_received(1, timeout=5)
            await tg.wait_received(1, timeout=5)
        finally:
            await engine.stop()
    data = hook.received[0].json["data"]
    assert hook.received[0].json["type"] == "report.summary" and data["period"] == "daily"
    assert data["downtime_s"] == 1800.0 and data["outages"] == 1 and data["sources"] == 2
    assert data["worst"] == [{"kind": "host", "name": "olt", "uptime": round(1 - 1800 / 86400, 6),
                              "down_s": 1800.0, "outages": 1}]
    text = tg.received[0].json["text"]
    assert "Daily report" in text and "olt: 97.92% up" in text and "in 1 outages" in text


async def test_a_down_held_for_its_parent_is_not_lost_by_a_restart(tmp_path):
    """The child's DOWN is held for its (slow) parent's detection time; pantau stops during the
    hold. The history knows it was held, so the next start announces it once."""
    probe = SteerableProbe()
    hosts = [{"name": "olt", "address": "127.0.0.2", "interval": "5s"},  # hold = 5s × 3 + 50ms
             {"name": "cpe", "address": "127.0.0.3", "parent": "olt"}]
    async with generic_peer() as peer:
        first = Engine(config(tmp_path, peer.url, hosts), probe=probe)
        await first.start()
        try:
            await asyncio.sleep(0.6)
            probe.down = {"127.0.0.3"}
            await asyncio.sleep(1.0)
            assert peer.received == [] and ("host", "cpe") in first.history.core.held
        finally:
            await first.stop()
        second = Engine(config(tmp_path, peer.url, hosts), probe=probe)
        await second.start()
        second.history.tick = 0.05
        try:
            got = await settle_for(peer, 1, quiet=1.5)
            assert got == [("host.down", "cpe")] and peer.received[0].json["data"]["reconciled"] == "restart"
        finally:
            await second.stop()


async def test_history_is_pruned_by_the_supervised_task(tmp_path):
    """Events older than history.keep go at start (and hourly); newer ones stay."""
    from monitor.history.store import HistoryStore

    now = datetime.now(UTC)
    store = HistoryStore(tmp_path / "state.db")
    src = Source("host", "olt", "127.0.0.2")
    store.record(Event("host.down", src, {}, at=now - timedelta(days=40)))
    store.record(Event("host.up", src, {}, at=now - timedelta(days=20)))
    store.close()
    async with generic_peer() as peer:
        engine = Engine(config(tmp_path, peer.url, [{"name": "olt", "address": "127.0.0.2"}],
                               history={"keep": "30d"}), probe=SteerableProbe())
        await engine.start()
        try:
            for _ in range(100):
                if engine.history.store.count() == 1:
                    break
                await asyncio.sleep(0.05)
            [entry] = engine.history.store.recent(10)
            assert entry.event.type == "host.up"
            assert "history" in engine.supervisor.names() and "suppression" in engine.supervisor.names()
        finally:
            await engine.stop()


async def test_router_sessions_peak_and_a_router_window_covers_its_session_events(tmp_path):
    """Sessions are sampled from the live watcher for the report's peak; a window on router:gw
    also suppresses its hotspot events (recorded, not sent)."""
    from monitor.routeros.sim.simulator import RouterSimulator

    sim = RouterSimulator(password="pw", identity="gw-kos")
    await sim.start()
    try:
        for i in range(3):
            sim.hotspot_login(f"user{i}", f"10.5.50.{i + 2}", f"AA:AA:AA:AA:AA:0{i}")
        sim.ppp_connect("pelanggan-1", caller_id="AA:BB:CC:00:00:01", address="10.9.0.2")
        async with generic_peer() as peer:
            cfg = parse_config({
                "routers": [{"name": "gw", "address": "127.0.0.1", "port": sim.port, "username": "pantau",
                             "password": "pw", "mode": "poll", "poll_interval": "100ms"}],
                "notifiers": [{"name": "hook", "type": "webhook", "url": peer.url}],
                "routes": [{"events": ["*"], "notify": ["hook"]}],
                "state": {"path": str(tmp_path / "state.db")}, "plugins_dir": None}, env={})
            engine = Engine(cfg)
            await engine.start()
            try:
                engine.history.sample_every = 0.05
                for _ in range(200):
                    if engine.history.store.sessions_peak(0, 4e9) == {"gw": 4}:
                        break
                    await asyncio.sleep(0.05)
                assert engine.history.store.sessions_peak(0, 4e9) == {"gw": 4}
                engine.history.maintenance.add(["router:gw"], 3600, reason="upgrade")
                engine.history.reload_windows()
                sim.hotspot_login("user9", "10.5.50.99", "AA:AA:AA:AA:AA:99")
                for _ in range(100):
                    engine.history.store.flush()
                    if engine.history.store.recent(5, kind="router"):
                        break
                    await asyncio.sleep(0.05)
                [entry] = engine.history.store.recent(5, kind="router")
                assert entry.event.type == "hotspot.login" and entry.event.data["user"] == "user9"
                assert entry.suppressed == "maintenance 1 (router:gw: upgrade)"
                await asyncio.sleep(0.3)
                assert peer.received == []
            finally:
                await engine.stop()
    finally:
        await sim.stop()
