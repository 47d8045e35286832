"""Read commands over sessions and accounts: ``/hotspot [user]`` and ``/ppp [user]``."""

from __future__ import annotations

from typing import Any

from ..command import Command, Ctx, NotFound

#: Sessions listed in one reply: a phone cannot use 10,000 lines (30 messages); the rest are counted.
LIST_LIMIT = 50


async def hotspot(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.read()
    name = ctx.arg(0)
    if name is None:
        rows = await client.print("/ip/hotspot/active", proplist=["user", "address", "uptime"])
        return {"user": None, "active": rows[:LIST_LIMIT], "total": len(rows)}
    users = await client.print("/ip/hotspot/user", queries=[f"?name={name}"])
    active = await client.print("/ip/hotspot/active", queries=[f"?user={name}"])
    if not users and not active:
        raise NotFound(name)
    return {"user": users[0] if users else {"name": name}, "active": active}


async def ppp(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.read()
    name = ctx.arg(0)
    if name is None:
        rows = await client.print("/ppp/active", proplist=["name", "address", "uptime"])
        return {"secret": None, "active": rows[:LIST_LIMIT], "total": len(rows)}
    secrets = await client.print("/ppp/secret", queries=[f"?name={name}"],
                                 proplist=["name", "service", "profile", "disabled", "comment",
                                           "remote-address", "last-logged-out"])
    active = await client.print("/ppp/active", queries=[f"?name={name}"])
    if not secrets and not active:
        raise NotFound(name)
    return {"secret": secrets[0] if secrets else {"name": name}, "active": active}


COMMANDS = [
    Command("hotspot", "viewer", hotspot, usage="[user]",
            summary={"id": "sesi hotspot aktif / detail user", "en": "active hotspot sessions / a user"}),
    Command("ppp", "viewer", ppp, usage="[user]",
            summary={"id": "sesi PPPoE aktif / detail pelanggan", "en": "active PPPoE sessions / a customer"}),
]
