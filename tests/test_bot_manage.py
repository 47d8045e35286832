"""Account management through the core: confirmation (at most once), roles, read-back, isolir/renew."""

from __future__ import annotations

import pytest

from monitor.bot.access import telegram_identity, whatsapp_identity
from tests.bot_helpers import ADMIN, OPERATOR, VIEWER, Clock, bot_config, make_core, make_sim, router, who


async def confirm(core, text, user=ADMIN):
    """Send ``text`` and press Ya; returns (prompt reply, result reply)."""
    prompt = (await core.handle(who(user), "telegram", text))[0]
    assert prompt.pending_id is not None, prompt.text
    result = (await core.decide(who(user), "telegram", prompt.pending_id, True))[0]
    return prompt, result


def user_row(sim, name, menu="/ip/hotspot/user"):
    item = sim.menus[menu].find(name=name)
    return None if item is None else sim.menus[menu].render(item)


async def test_disable_asks_first_then_disables_and_kicks_the_session(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", password="pw")
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        core = make_core(tmp_path, [router(sim.port)])
        group = -100500  # the admins' group: both are members
        prompt = (await core.handle(who(OPERATOR, group), "telegram", "/hotspot disable budi"))[0]
        assert "Konfirmasi" in prompt.text and [b[0] for b in prompt.buttons] == ["Ya", "Batal"]
        assert user_row(sim, "budi")["disabled"] == "false"  # nothing happens before Ya
        result = (await core.decide(who(OPERATOR, group), "telegram", prompt.pending_id, True))[0]
        assert "nonaktif" in result.text and "1 sesi aktif diputus" in result.text
        assert user_row(sim, "budi")["disabled"] == "true"
        assert sim.active("/ip/hotspot/active") == []
        again = (await core.decide(who(ADMIN, group), "telegram", prompt.pending_id, True))[0]  # 2nd admin
        assert "sudah dijalankan" in again.text
        results = [r.result for r in core.store.audit_rows()]
        assert results == ["pending", "ok"]


async def test_enable_password_profile_kick_remove(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", password="old", profile="1jam")
        sim.menus["/ip/hotspot/user"].set(sim.menus["/ip/hotspot/user"].find(name="budi"), {"disabled": "true"})
        core = make_core(tmp_path, [router(sim.port)])
        _, r = await confirm(core, "/hotspot enable budi", OPERATOR)
        assert "aktif" in r.text and user_row(sim, "budi")["disabled"] == "false"
        _, r = await confirm(core, "/hotspot password budi rahasia99")
        assert "rahasia99" in r.text and user_row(sim, "budi")["password"] == "rahasia99"
        assert core.store.audit_rows()[-1].args == ["budi", "***"]  # the password never reaches the audit
        _, r = await confirm(core, "/hotspot password budi")  # generated
        assert user_row(sim, "budi")["password"] in r.text and user_row(sim, "budi")["password"] != "rahasia99"
        _, r = await confirm(core, "/hotspot profile budi 1hari")
        assert "1jam → 1hari" in r.text and user_row(sim, "budi")["profile"] == "1hari"
        sim.hotspot_login("budi", "10.5.50.2", "AA:00:00:00:00:01")
        _, r = await confirm(core, "/hotspot kick budi", OPERATOR)
        assert "1 sesi" in r.text and "0 tersisa" in r.text and sim.active() == []
        _, r = await confirm(core, "/hotspot remove budi")
        assert "dihapus" in r.text and user_row(sim, "budi") is None


async def test_add_with_generated_password_and_phone_then_duplicate_traps(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)])
        _, r = await confirm(core, "/hotspot add tamu01 '' 1jam 3h 0812-3456-7890")
        row = user_row(sim, "tamu01")
        assert row["profile"] == "1jam" and row["limit-uptime"] == "3h" and row["comment"] == "WA 6281234567890"
        assert len(row["password"]) == 8 and row["password"] in r.text
        _, r = await confirm(core, "/hotspot add tamu02 - 1jam")
        assert len(user_row(sim, "tamu02")["password"]) == 8
        _, r = await confirm(core, "/hotspot add tamu01 pw")
        assert "menolak" in r.text and "already have user" in r.text
        assert core.store.audit_rows()[-1].result == "trap"


async def test_voucher_makes_n_users_listed_back(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)])
        _, r = await confirm(core, "/voucher 5 1jam")
        made = [row["name"] for row in sim.menus["/ip/hotspot/user"].rows()]
        assert len(made) == 5 and all(code in r.text for code in made)
        _, r = await confirm(core, "/voucher banyak 1jam")
        assert "Cara pakai" in r.text and len(sim.menus["/ip/hotspot/user"].rows()) == 5


async def test_roles_viewer_cannot_isolir_operator_cannot_add(tmp_path):
    async with make_sim() as sim:
        sim.add_ppp_secret("pel-01")
        core = make_core(tmp_path, [router(sim.port)])
        r = (await core.handle(who(VIEWER), "telegram", "/isolir pel-01"))[0]
        assert "butuh peran admin" in r.text and r.pending_id is None
        r = (await core.handle(who(OPERATOR), "telegram", "/hotspot add x"))[0]
        assert "butuh peran admin" in r.text
        assert [a.result for a in core.store.audit_rows()] == ["denied", "denied"]
        # an operator cannot confirm an admin's pending isolir either
        prompt = (await core.handle(who(ADMIN), "telegram", "/isolir pel-01"))[0]
        r = (await core.decide(who(OPERATOR), "telegram", prompt.pending_id, True))[0]
        assert "butuh peran admin" in r.text
        assert user_row(sim, "pel-01", "/ppp/secret")["disabled"] == "false"


async def test_without_manage_credentials_management_is_not_enabled(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port, manage=False)])
        r = (await core.handle(who(ADMIN), "telegram", "/hotspot disable budi"))[0]
        assert "belum diaktifkan" in r.text and r.pending_id is None


async def test_confirmation_expires_and_cancel(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi")
        clock = Clock()
        core = make_core(tmp_path, [router(sim.port)], clock=clock)
        prompt = (await core.handle(who(ADMIN), "telegram", "/hotspot disable budi"))[0]
        clock.now += 61
        r = (await core.decide(who(ADMIN), "telegram", prompt.pending_id, True))[0]
        assert "kedaluwarsa" in r.text and user_row(sim, "budi")["disabled"] == "false"
        prompt = (await core.handle(who(ADMIN), "telegram", "/hotspot disable budi"))[0]
        r = (await core.decide(who(ADMIN), "telegram", prompt.pending_id, False))[0]
        assert "Dibatalkan" in r.text
        r = (await core.decide(who(ADMIN), "telegram", prompt.pending_id, True))[0]
        assert "sudah dibatalkan" in r.text and user_row(sim, "budi")["disabled"] == "false"


async def test_whatsapp_reply_code_and_restart_between_request_and_confirmation(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi")
        wa = whatsapp_identity(bot_config(), "6281234567890@c.us")
        core = make_core(tmp_path, [router(sim.port)])
        prompt = (await core.handle(wa, "whatsapp", "hotspot disable budi"))[0]
        code = core.store.pending(prompt.pending_id).code
        assert f"YA {code}" in prompt.text
        core.store.close()
        restarted = make_core(tmp_path, [router(sim.port)])  # a new process on the same state DB
        r = (await restarted.handle(wa, "whatsapp", f"ya {code}"))[0]
        assert "nonaktif" in r.text and user_row(sim, "budi")["disabled"] == "true"
        r = (await restarted.handle(wa, "whatsapp", f"YA {code}"))[0]
        assert "sudah dijalankan" in r.text


ISOLIR_MODES = [
    ({"mode": "disable"}, {"disabled": "true", "profile": "10M"}, 0),
    ({"mode": "profile", "profile": "isolir"}, {"disabled": "false", "profile": "isolir"}, 0),
    ({"mode": "profile", "address_list": "isolir-list"}, {"disabled": "false", "profile": "10M"}, 1),
    ({"mode": "profile", "profile": "isolir", "address_list": "isolir-list"},
     {"disabled": "false", "profile": "isolir"}, 1),
]


@pytest.mark.parametrize("isolir,during,listed", ISOLIR_MODES)
async def test_isolir_then_renew_restores_the_exact_previous_state(tmp_path, isolir, during, listed):
    async with make_sim() as sim:
        sim.add_ppp_secret("pel-01", profile="10M")
        sim.add_ppp_secret("pel-02", profile="20M")
        sim.ppp_connect("pel-01", caller_id="AA:00:00:00:00:09", address="10.20.0.9")
        before = user_row(sim, "pel-01", "/ppp/secret")
        core = make_core(tmp_path, [router(sim.port, isolir=isolir)])
        _, r = await confirm(core, "/isolir pel-01")
        assert "diisolir" in r.text and "Sesi diputus: 1" in r.text
        row = user_row(sim, "pel-01", "/ppp/secret")
        assert {k: row[k] for k in during} == during
        entries = sim.menus["/ip/firewall/address-list"].rows()
        assert len(entries) == listed and all(e["address"] == "10.20.0.9" for e in entries)
        assert sim.active("/ppp/active") == []
        _, r = await confirm(core, "/isolir pel-01")  # twice: the stored previous state is kept
        assert "sudah diisolir" in r.text
        _, r = await confirm(core, "/buka pel-01")
        assert "dibuka" in r.text
        assert user_row(sim, "pel-01", "/ppp/secret") == before
        assert sim.menus["/ip/firewall/address-list"].rows() == []
        assert user_row(sim, "pel-02", "/ppp/secret")["profile"] == "20M"
        _, r = await confirm(core, "/buka pel-01")
        assert "tidak sedang diisolir" in r.text


async def test_ppp_add_profile_remove(tmp_path):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port)])
        _, r = await confirm(core, "/ppp add pel-07 s3cr3t 10M 08123456789")
        row = user_row(sim, "pel-07", "/ppp/secret")
        assert row["password"] == "s3cr3t" and row["profile"] == "10M" and row["service"] == "pppoe"
        assert core.store.audit_rows()[-1].args == ["pel-07", "***", "10M", "08123456789"]
        _, r = await confirm(core, "/ppp profile pel-07 20M")
        assert "10M → 20M" in r.text and user_row(sim, "pel-07", "/ppp/secret")["profile"] == "20M"
        _, r = await confirm(core, "/ppp remove pel-07")
        assert "dihapus" in r.text and user_row(sim, "pel-07", "/ppp/secret") is None
        _, r = await confirm(core, "/ppp remove pel-07")
        assert "tidak ditemukan" in r.text


def test_group_members_get_the_group_role():
    cfg = bot_config(telegram_groups={-100777: "admin"})
    assert telegram_identity(cfg, 5555, -100777).may("admin")
    assert not telegram_identity(cfg, 5555, 5555).may("viewer")


async def test_isolir_refused_by_the_router_leaves_nothing_to_renew(tmp_path):
    async with make_sim() as sim:
        sim.add_ppp_secret("pel-01", profile="10M")
        sim.users["pantau-manage"] = (sim.users["pantau-manage"][0], False)  # manage user lost write rights
        core = make_core(tmp_path, [router(sim.port)])
        _, r = await confirm(core, "/isolir pel-01")
        assert "menolak" in r.text and "not enough permissions" in r.text
        assert core.store.isolated("core", "pel-01") is None
        sim.users["pantau-manage"] = (sim.users["pantau-manage"][0], True)
        _, r = await confirm(core, "/isolir pel-01")
        assert "diisolir" in r.text and user_row(sim, "pel-01", "/ppp/secret")["disabled"] == "true"
