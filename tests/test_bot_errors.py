"""Every command's error paths: unknown user, router down, a trap from the router, and (for the
account commands) no manage: credentials. The happy paths live in test_bot_read/test_bot_manage."""

from __future__ import annotations

import pytest

from monitor.bot.commands import COMMANDS
from tests.bot_helpers import ADMIN, STRANGER, make_core, make_sim, router, who
from tests.fake_peers import closed_port

SAMPLE_ARGS = {"ping": "10.0.0.1 1", "traffic": "ether1", "log": "5", "hotspot.add": "tamu pw", "hotspot.password": "budi pw",
               "hotspot.profile": "budi 1hari", "voucher": "2 1jam", "ppp.add": "pel-9 pw",
               "ppp.profile": "pel-01 20M"}
ROUTER_COMMANDS = sorted(n for n, c in COMMANDS.items() if c.router)
MANAGE_COMMANDS = sorted(n for n, c in COMMANDS.items() if c.manage)


def text_for(name: str) -> str:
    default = "pel-01" if name.startswith("ppp.") else "budi"
    args = SAMPLE_ARGS.get(name, default if "." in name else "")
    return f"/{name.replace('.', ' ')} {args}".strip()


async def run(core, name: str) -> str:
    """Send the command as admin; press Ya when it asks."""
    if name == "ppp.renew":  # renew talks to the router only for a customer pantau isolated
        core.store.save_isolated("core", "pel-01", {"mode": "disable", "disabled": "false"}, 0.0)
    if name == "hotspot.renew":
        core.store.save_isolated("core", "hotspot:budi", {"mode": "profile", "profile": "default"}, 0.0)
    reply = (await core.handle(who(ADMIN), "telegram", text_for(name)))[0]
    if reply.pending_id is not None:
        reply = (await core.decide(who(ADMIN), "telegram", reply.pending_id, True))[0]
    return reply.text


@pytest.mark.parametrize("name", sorted(COMMANDS))
async def test_unknown_user_is_refused(tmp_path, name):
    core = make_core(tmp_path, [router(closed_port())])
    reply = await core.handle(who(STRANGER), "telegram", text_for(name))
    assert "tidak terdaftar" in reply[0].text
    assert core.store.audit_rows()[-1].result == "refused"


@pytest.mark.parametrize("name", ROUTER_COMMANDS)
async def test_router_down(tmp_path, name):
    core = make_core(tmp_path, [router(closed_port(), isolir={"hotspot_profile": "isolir-hs"})])
    assert "tidak dapat dihubungi" in await run(core, name)
    assert core.store.audit_rows()[-1].result == "router_down"


@pytest.mark.parametrize("name", ROUTER_COMMANDS)
async def test_trap_from_the_router(tmp_path, name):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi")
        sim.add_ppp_secret("pel-01")
        sim.add_row("/interface", name="ether1", running="true", disabled="false")
        sim.set_fault("trap")  # every print/listen traps "not enough permissions"
        core = make_core(tmp_path, [router(sim.port, isolir={"mode": "disable", "hotspot_profile": "isolir-hs"})])
        text = await run(core, name)
        assert "menolak" in text and "not enough permissions" in text, text
        assert core.store.audit_rows()[-1].result == "trap"


@pytest.mark.parametrize("name", MANAGE_COMMANDS)
async def test_no_manage_credentials(tmp_path, name):
    async with make_sim() as sim:
        core = make_core(tmp_path, [router(sim.port, manage=False)])
        assert "belum diaktifkan" in await run(core, name)
        assert core.store.audit_rows()[-1].result == "not_enabled"
