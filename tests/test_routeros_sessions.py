"""Session events from a watched router (the simulator over TCP), in poll and in listen mode."""

from __future__ import annotations

import asyncio

import pytest
from routeros_helpers import PASSWORD, Recorder, Running, router_config, wait_until

from monitor.routeros.sim.simulator import RouterSimulator
from monitor.routeros.watcher import RouterWatcher


@pytest.fixture
async def sim():
    simulator = RouterSimulator(password=PASSWORD, identity="gw-kos")
    await simulator.start()
    yield simulator
    await simulator.stop()


def _baselined(watcher: RouterWatcher, hotspot: int, ppp: int = 0):
    return lambda: len(watcher.sessions("hotspot")) == hotspot and len(watcher.sessions("ppp")) == ppp


@pytest.mark.parametrize("mode", ["poll", "listen"])
async def test_login_logout_connect_disconnect(sim: RouterSimulator, mode: str) -> None:
    """Sessions already active at start are a silent baseline; later logins/logouts and PPP
    connects/disconnects become events with the documented data, sourced from the router."""
    sim.add_hotspot_user("budi", comment="Kamar 3 — Budi 0812-3456-7890")
    sim.add_ppp_secret("pelanggan-7", comment="+62 857 1111 2222")
    sim.hotspot_login("already", "10.5.50.9", "AA:AA:AA:AA:AA:09")
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode=mode), emit=rec)
    async with Running(watcher):
        await wait_until(_baselined(watcher, 1))
        sim.hotspot_login("budi", "10.5.50.10", "AA:AA:AA:AA:AA:10", login_by="http-chap")
        [login] = await rec.wait_for("hotspot.login")
        sim.hotspot_traffic("budi", bytes_in=1500, bytes_out=90000)
        await asyncio.sleep(0.25)  # the watcher sees the new counters
        sim.hotspot_logout("budi")
        [logout] = await rec.wait_for("hotspot.logout")
        sim.ppp_connect("pelanggan-7", caller_id="AA:BB:CC:00:00:07", address="10.9.0.7")
        [connect] = await rec.wait_for("ppp.connect")
        sim.ppp_disconnect("pelanggan-7")
        [disconnect] = await rec.wait_for("ppp.disconnect")
    assert [e.type for e in rec.events] == ["hotspot.login", "hotspot.logout", "ppp.connect", "ppp.disconnect"]
    assert login.source.kind == "router" and login.source.name == "core" and login.source.identity == "gw-kos"
    assert login.source.labels == {"site": "kos"}
    assert login.data == {"user": "budi", "address": "10.5.50.10", "mac": "AA:AA:AA:AA:AA:10",
                          "server": "hotspot1", "login_by": "http-chap", "comment": "Kamar 3 — Budi 0812-3456-7890",
                          "subscriber": {"phone": "6281234567890"}}
    assert logout.data["reason"] == "logout" and logout.data["user"] == "budi"
    assert (logout.data["bytes_in"], logout.data["bytes_out"]) == (1500, 90000)
    assert isinstance(logout.data["uptime_s"], int)
    assert connect.data == {"name": "pelanggan-7", "service": "pppoe", "caller_id": "AA:BB:CC:00:00:07",
                            "address": "10.9.0.7", "comment": "+62 857 1111 2222",
                            "subscriber": {"phone": "6285711112222"}}
    assert disconnect.data["reason"] == "logout" and "uptime_s" in disconnect.data


async def test_listen_latency_under_one_second(sim: RouterSimulator) -> None:
    """In listen mode a login reaches emit well under 1 s even with a 30 s poll interval (so it is
    the listen stream, not polling, that delivered it)."""
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="listen", poll_interval=30, timeout=2), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: all(watcher._listening.values()))
        loop = asyncio.get_running_loop()
        start = loop.time()
        sim.hotspot_login("0123", "10.5.50.11", "AA:AA:AA:AA:AA:11")
        await rec.wait_for("hotspot.login", timeout=1.0)
        latency = loop.time() - start
        sim.hotspot_logout("0123")
        await rec.wait_for("hotspot.logout", timeout=1.0)
    assert latency < 1.0


async def test_poll_mode_delivers_within_poll_interval_plus_one_second(sim: RouterSimulator) -> None:
    """In poll mode (poll_interval 0.5 s) a login is reported within poll_interval + 1 s."""
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="poll", poll_interval=0.5), emit=rec)
    async with Running(watcher):
        await wait_until(_baselined(watcher, 0))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()
        sim.hotspot_login("v1", "10.5.50.12", "AA:AA:AA:AA:AA:12")
        await rec.wait_for("hotspot.login", timeout=1.5)
        assert loop.time() - start < 1.5


async def test_voucher_names_and_comment_arrive_intact(sim: RouterSimulator) -> None:
    """Voucher names that look like numbers or booleans stay strings, UTF-8 comments stay intact."""
    names = ["0123", "12345", "yes"]
    for name in names:
        sim.add_hotspot_user(name, comment="Kamar 3 — Budi")
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="listen"), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: all(watcher._listening.values()))
        for i, name in enumerate(names):
            sim.hotspot_login(name, f"10.5.50.{20 + i}", f"AA:AA:AA:AA:AA:{20 + i}")
        events = await rec.wait_for("hotspot.login", count=3)
    assert [e.data["user"] for e in events] == names
    assert all(e.data["comment"] == "Kamar 3 — Budi" and e.data["subscriber"] is None for e in events)
    assert '"user":"0123"' in events[0].to_json() and "Kamar 3 — Budi" in events[0].to_json()


async def test_listen_link_cut_resyncs_without_router_down(sim: RouterSimulator) -> None:
    """A momentary cut of all API connections: the watcher reconnects, resyncs, reports the login
    that happened meanwhile once, and neither declares the router down nor logs anybody out."""
    sim.hotspot_login("stay", "10.5.50.30", "AA:AA:AA:AA:AA:30")
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="listen"), emit=rec)
    async with Running(watcher):
        await wait_until(lambda: all(watcher._listening.values()) and len(watcher.sessions("hotspot")) == 1)
        sim.drop_connections()
        sim.hotspot_login("meanwhile", "10.5.50.31", "AA:AA:AA:AA:AA:31")
        await rec.wait_for("hotspot.login")
        await asyncio.sleep(0.4)
    assert [(e.type, e.data.get("user")) for e in rec.events] == [("hotspot.login", "meanwhile")]


async def test_reboot_reused_ids_are_new_sessions(sim: RouterSimulator) -> None:
    """After a router reboot the same .id with another user is a new session: a logout for the old
    user and a login for the new one (the .id alone never identifies a session)."""
    sim.hotspot_login("before", "10.5.50.40", "AA:AA:AA:AA:AA:40")
    rec = Recorder()
    watcher = RouterWatcher(router_config(sim.port, mode="poll"), emit=rec)
    async with Running(watcher):
        await wait_until(_baselined(watcher, 1))
        sim.reboot()
        sim.hotspot_login("after", "10.5.50.41", "AA:AA:AA:AA:AA:41")
        await rec.wait_for("hotspot.login")
        await rec.wait_for("hotspot.logout")
    assert sorted((e.type, e.data["user"]) for e in rec.events) == [("hotspot.login", "after"),
                                                                     ("hotspot.logout", "before")]
