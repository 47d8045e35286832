"""Each read command against the simulator: the happy path and its own error path."""

from __future__ import annotations

import sqlite3

import pytest

from tests.bot_helpers import VIEWER, make_core, make_sim, router, who


def _seed(sim) -> None:
    sim.add_row("/ip/address", address="10.5.50.1/24", interface="bridge-hotspot", disabled="false")
    sim.add_row("/ip/pool", name="hs-pool", ranges="10.5.50.2-10.5.50.254")
    sim.add_row("/ip/pool/used", pool="hs-pool", address="10.5.50.2", owner="AA:00:00:00:00:01", info="budi")
    sim.add_row("/ip/pool/used", pool="hs-pool", address="10.5.50.3", owner="AA:00:00:00:00:02", info="sari")
    sim.add_row("/interface", name="ether1", type="ether", running="true", disabled="false",
                **{"rx-byte": "1048576", "tx-byte": "2097152"})
    sim.add_row("/interface", name="wlan1", type="wlan", running="false", disabled="true",
                **{"rx-byte": "0", "tx-byte": "0"})
    sim.traffic["ether1"] = (12_500_000, 3_200_000)
    sim.menus["/ip/dns"].set(next(iter(sim.menus["/ip/dns"].items)), {"servers": "1.1.1.1,8.8.8.8",
                                                                      "allow-remote-requests": "true"})
    sim.add_row("/ip/neighbor", identity="Kecamatan-Balongbendo", address="10.10.1.2", interface="ether2",
                platform="MikroTik", version="6.49.10", mac_address="CC:2D:E0:00:00:01")
    for i in range(15):
        sim.add_row("/log", time=f"10:00:{i:02d}", topics="system,info", message=f"pesan {i}")
    sim.add_hotspot_user("budi", password="pw", profile="1jam", comment="Kamar 3 WA 08123456789")
    sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
    sim.add_ppp_secret("pel-01", password="x", profile="10M")
    sim.ppp_connect("pel-01", caller_id="AA:00:00:00:00:09", address="10.20.0.9")


CASES = [
    ("/address", ["10.5.50.1/24", "bridge-hotspot", "aktif"]),
    ("/pool", ["hs-pool", "2", "251"]),
    ("/traffic ether1", ["RX: 12.5 Mbps", "TX: 3.2 Mbps"]),
    ("/interface", ["ether1", "jalan", "1.0 MB", "wlan1", "mati"]),
    ("/dns", ["Server: 1.1.1.1,8.8.8.8", "Izinkan permintaan luar: ya"]),
    ("/neighbor", ["Kecamatan-Bal…", "10.10.1.2"]),
    ("/resource", ["Versi: 7.18.2", "CPU: 1%"]),
    ("/log 3", ["pesan 12", "pesan 14", "(3 terakhir)"]),
    ("/log", ["pesan 5", "pesan 14"]),
    ("/hotspot", ["1 aktif", "budi", "10.5.50.2"]),
    ("/hotspot budi", ["User budi", "Profil: 1jam", "Online: 10.5.50.2"]),
    ("/ppp", ["1 aktif", "pel-01", "10.20.0.9"]),
    ("/ppp pel-01", ["Pelanggan pel-01", "Profil: 10M", "Online: 10.20.0.9"]),
    ("/dhcp", ["0 sewa"]),
]


@pytest.mark.parametrize("text,expected", CASES)
async def test_read_command(tmp_path, text, expected):
    async with make_sim() as sim:
        _seed(sim)
        core = make_core(tmp_path, [router(sim.port)])
        reply = (await core.handle(who(VIEWER), "telegram", text))[0].text
        for fragment in expected:
            assert fragment in reply, reply
        assert "pesan 4\n" not in reply  # /log n shows only the last n
        assert core.store.audit_rows()[-1].result == "ok"


@pytest.mark.parametrize("text,expected", [
    ("/traffic ether9", "ether9 tidak ditemukan"),
    ("/hotspot nobody", "nobody tidak ditemukan"),
    ("/ppp nobody", "nobody tidak ditemukan"),
])
async def test_read_command_not_found(tmp_path, text, expected):
    async with make_sim() as sim:
        _seed(sim)
        core = make_core(tmp_path, [router(sim.port)])
        assert expected in (await core.handle(who(VIEWER), "telegram", text))[0].text
        assert core.store.audit_rows()[-1].result == "not_found"


async def test_read_commands_use_the_read_only_user(tmp_path):
    """The router's own user is read-only in the simulator: a write through it would trap."""
    async with make_sim() as sim:
        sim.users["pantau-manage"] = ("changed", True)  # manage user unusable: reads still work
        core = make_core(tmp_path, [router(sim.port)])
        assert "Hotspot aktif: 0" in (await core.handle(who(VIEWER), "telegram", "/status"))[0].text


async def test_monitor_lists_routers_and_hosts_from_the_state_db(tmp_path):
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute("CREATE TABLE host_state (name TEXT PRIMARY KEY, address TEXT, state TEXT, since REAL)")
    db.execute("INSERT INTO host_state VALUES ('olt-1', '10.0.0.9', 'down', ?)", (1_800_000_000.0 - 7500,))
    db.execute("CREATE TABLE router_status (router TEXT PRIMARY KEY, down INTEGER, since REAL, error TEXT)")
    db.execute("INSERT INTO router_status VALUES ('core', 0, NULL, NULL)")
    db.commit()
    db.close()
    core = make_core(tmp_path, [router(1), router(2, "kantor")])
    text = (await core.handle(who(VIEWER), "telegram", "/monitor"))[0].text
    assert "2 router, 1 host" in text
    assert "olt-1" in text and "DOWN" in text and "2 jam 5 menit" in text
    assert "core" in text and "UP" in text and "UNKNOWN" in text


async def test_long_session_lists_are_capped_with_a_count(tmp_path):
    async with make_sim() as sim:
        for i in range(120):
            sim.hotspot_login(f"u{i:03d}", f"10.5.{i // 250}.{i % 250 + 2}", f"AA:00:00:00:{i // 256:02X}:{i % 256:02X}")
        core = make_core(tmp_path, [router(sim.port)])
        reply = (await core.handle(who(VIEWER), "telegram", "/hotspot"))[0]
        assert "120 aktif" in reply.text and "u049" in reply.text and "u050" not in reply.text
        assert "… dan 70 lainnya; /hotspot NAMA untuk satu." in reply.text and len(reply.pages) == 1
