"""The command core against the RouterOS simulator: parse, roles, refusals, errors, rendering."""

from __future__ import annotations

import pytest

from monitor.bot.access import RateLimiter, telegram_identity, whatsapp_identity
from monitor.bot.parse import parse
from monitor.bot.render import paginate
from tests.bot_helpers import (
    ADMIN,
    OPERATOR,
    STRANGER,
    VIEWER,
    Clock,
    bot_config,
    make_core,
    make_sim,
    router,
    who,
)


def test_parse_is_case_insensitive_with_aliases_router_and_botname():
    known = {"ping", "status", "menu", "dhcp"}
    assert parse("/Ping@MonitoringBot 8.8.8.8 @core", known) == parse("/ping 8.8.8.8 @core", known)
    p = parse("/Ping@MonitoringBot 8.8.8.8 @core", known)
    assert (p.command, p.args, p.router) == ("ping", ["8.8.8.8"], "core")
    assert parse("bantuan", known).command == "menu"
    assert parse("/HOTSPOT Nonaktifkan budi", known).command == "hotspot.disable"
    assert parse("/isolir pel-01", known).command == "ppp.isolir"
    assert parse("halo semua", known) is None  # chatter without a slash is not a command
    assert parse("/whatever", known).command == "whatever"


def test_roles_from_user_group_and_number():
    cfg = bot_config(telegram_groups={-100500: "operator"})
    assert telegram_identity(cfg, ADMIN, ADMIN).role == "admin"
    assert telegram_identity(cfg, STRANGER, -100500).role == "operator"  # member of a listed group
    assert telegram_identity(cfg, STRANGER, STRANGER).role is None
    assert telegram_identity(cfg, VIEWER, -100500).role == "operator"  # the better of the two
    assert whatsapp_identity(cfg, "6281234567890@c.us").role == "admin"
    assert whatsapp_identity(cfg, "+62 812 3456 7890").role == "admin"
    assert whatsapp_identity(cfg, "6289999999999").role is None


def test_rate_limit_per_identity_with_time_passed_in():
    limiter = RateLimiter(2, 60)
    assert limiter.allow("a", 0) and limiter.allow("a", 1)
    assert not limiter.allow("a", 2)
    assert limiter.allow("b", 2)
    assert limiter.allow("a", 61)


def test_paginate_never_cuts_a_pre_block():
    text = "judul\n<pre>" + "\n".join(f"user-{i:04d} 10.5.50.{i % 250} 1h2m3s" for i in range(600)) + "</pre>\nakhir"
    pages = paginate(text)
    assert len(pages) > 1
    for page in pages:
        assert len(page) <= 4096
        assert page.count("<pre>") == page.count("</pre>")
    assert "".join(p.replace("<pre>", "").replace("</pre>", "") for p in pages).count("user-") == 600


async def test_unknown_user_refused_logged_and_audited(tmp_path, capsys):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)])
        replies = await core.handle(who(STRANGER), "telegram", "/status")
        assert "tidak terdaftar" in replies[0].text
        rows = core.store.audit_rows()
        assert [(r.identity, r.result) for r in rows] == [("tg:9999", "refused")]
        silent = make_core(tmp_path, [router(sim.port)], unknown="silent")
        assert await silent.handle(who(STRANGER), "telegram", "/status") == []


async def test_status_and_router_down_and_trap(tmp_path):
    async with make_sim() as sim:
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        core = make_core(tmp_path, [router(sim.port)])
        text = (await core.handle(who(VIEWER), "telegram", "/Status"))[0].text
        assert "Hotspot aktif: 1" in text and "PPPoE aktif: 0" in text
        sim.set_fault("trap")
        text = (await core.handle(who(VIEWER), "telegram", "/status"))[0].text
        assert "menolak" in text and "not enough permissions" in text
        port = sim.port
    core = make_core(tmp_path, [router(port)])
    text = (await core.handle(who(VIEWER), "telegram", "/status"))[0].text
    assert "tidak dapat dihubungi" in text
    assert [r.result for r in core.store.audit_rows()][-1] == "router_down"


async def test_router_picker_and_unknown_router(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port), router(sim.port, "kantor")])
        text = (await core.handle(who(VIEWER), "telegram", "/dhcp"))[0].text
        assert "/dhcp @core" in text and "/dhcp @kantor" in text
        text = (await core.handle(who(VIEWER), "telegram", "/dhcp @gudang"))[0].text
        assert "gudang tidak dikenal" in text
        sim.add_row("/ip/dhcp-server/lease", address="10.0.0.5", mac_address="AA:BB:CC:00:00:05",
                    host_name="laptop-rina", status="bound")
        text = (await core.handle(who(VIEWER), "telegram", "/dhcp @kantor")).pop().text
        assert "laptop-rina" in text and "*DHCP kantor*: 1 sewa\n```" in text


async def test_menu_lists_only_what_the_role_may_do(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)])
        viewer = (await core.handle(who(VIEWER), "telegram", "/menu"))[0].text
        admin = (await core.handle(who(ADMIN), "telegram", "/menu"))[0].text
        assert "/dhcp" in viewer and "isolir" not in viewer
        assert "/ppp isolir NAME" in admin


async def test_english_replies(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)], language="en")
        text = (await core.handle(who(VIEWER), "telegram", "/status"))[0].text
        assert "Hotspot active: 0" in text


@pytest.mark.parametrize("text", ["/traffic", "/log abc"])
async def test_usage_errors(tmp_path, text):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)], clock=Clock())
        assert "Cara pakai" in (await core.handle(who(VIEWER), "telegram", text))[0].text


async def test_maintenance_windows_from_the_chat(tmp_path):
    """An operator opens, lists and ends a window; a viewer may not; the window is the one
    `pantau maintenance` and the running engine read (state DB)."""
    from monitor.suppression.store import MaintenanceStore

    async with make_sim() as sim:
        clock = Clock()
        core = make_core(tmp_path, [router(sim.port)], clock=clock)
        denied = (await core.handle(who(VIEWER), "telegram", "/maintenance add host:olt-1 2h"))[0].text
        assert "#" not in denied
        text = (await core.handle(who(OPERATOR), "telegram", "/maintenance add host:olt-1 2h ganti OLT"))[0].text
        assert "Pemeliharaan dimulai" in text and "host:olt-1" in text and "ganti OLT" in text
        store = MaintenanceStore(tmp_path / "state.db")
        [window] = store.list(since=clock.now)
        assert window.targets == ("host:olt-1",) and window.end - window.start == 7200
        assert window.created_by == "bot:tg:1002"
        store.close()
        listed = (await core.handle(who(OPERATOR), "telegram", "/maintenance"))[0].text
        assert f"#{window.id} host:olt-1" in listed
        ended = (await core.handle(who(OPERATOR), "telegram", f"/maintenance end {window.id}"))[0].text
        assert "Pemeliharaan selesai" in ended
        assert "Cara pakai" in (await core.handle(who(OPERATOR), "telegram", "/maintenance add 2h"))[0].text
        assert "Cara pakai" in (await core.handle(who(OPERATOR), "telegram", "/maintenance end 999"))[0].text
        rows = core.store.audit_rows()
        assert ("tg:1002", "maintenance", "ok") in [(r.identity, r.command, r.result) for r in rows]
