"""Hotspot account management (seed 000): add, remove, enable, disable (+kick), password, profile,
kick, isolir/renew (bot/isolir.py) and vouchers. Every write goes through the ``manage:`` user and is read back for the reply."""

from __future__ import annotations

import re
import secrets
from typing import Any

from ...delivery.phone import normalize_msisdn
from ...routeros.sessions import end_sessions
from ..command import Command, Ctx, UsageError, one
from ..isolir import isolate
from ..isolir import renew as restore

USER = "/ip/hotspot/user"
ACTIVE = "/ip/hotspot/active"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed on phones
_UPTIME = re.compile(r"^(\d+[wdhms])+$")


def new_code(length: int = 6) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def _kick(client: Any, name: str) -> int:
    return await end_sessions(client, ACTIVE, "user", name)


async def add(ctx: Ctx) -> dict[str, Any]:
    name, password, profile, uptime, phone = (ctx.args + [None] * 5)[:5]
    if not name:
        raise UsageError("name")
    if password in ("-", "‘’", "“”"):  # "generate one" as typed on phones (smart quotes survive shlex)
        password = None
    generated = not password
    password = password or new_code(8)
    attrs = {"name": name, "password": password, "profile": profile or "default"}
    if uptime:
        if not _UPTIME.match(uptime):
            raise UsageError("limit-uptime")
        attrs["limit-uptime"] = uptime
    if phone:
        number = normalize_msisdn(phone)
        if number is None:
            raise UsageError("phone")
        attrs["comment"] = f"WA {number}"
    client = await ctx.manage()
    await client.command(f"{USER}/add", attrs)
    return {"user": await one(client, USER, name=name), "password": password if generated else None}


async def remove(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.manage()
    row = await one(client, USER, name=ctx.args[0])
    kicked = await _kick(client, ctx.args[0])
    await client.command(f"{USER}/remove", {".id": row[".id"]})
    gone = not await client.print(USER, queries=[f"?name={ctx.args[0]}"])
    return {"name": ctx.args[0], "gone": gone, "kicked": kicked}


async def _set_disabled(ctx: Ctx, disabled: bool) -> dict[str, Any]:
    client = await ctx.manage()
    row = await one(client, USER, name=ctx.args[0])
    await client.command(f"{USER}/set", {".id": row[".id"], "disabled": "yes" if disabled else "no"})
    kicked = await _kick(client, ctx.args[0]) if disabled else 0  # a disabled user stays online otherwise
    return {"user": await one(client, USER, name=ctx.args[0]), "kicked": kicked}


async def enable(ctx: Ctx) -> dict[str, Any]:
    return await _set_disabled(ctx, False)


async def disable(ctx: Ctx) -> dict[str, Any]:
    return await _set_disabled(ctx, True)


async def password(ctx: Ctx) -> dict[str, Any]:
    new = ctx.arg(1) or new_code(8)
    client = await ctx.manage()
    row = await one(client, USER, name=ctx.args[0])
    await client.command(f"{USER}/set", {".id": row[".id"], "password": new})
    after = await one(client, USER, name=ctx.args[0])
    # without the `sensitive` policy the router hides passwords: then the write is all we can confirm
    changed = after.get("password") == new if "password" in after else None
    return {"name": ctx.args[0], "changed": changed, "password": new}


async def profile(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.manage()
    row = await one(client, USER, name=ctx.args[0])
    await client.command(f"{USER}/set", {".id": row[".id"], "profile": ctx.args[1]})
    return {"before": row.get("profile"), "user": await one(client, USER, name=ctx.args[0])}


async def kick(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.manage()
    kicked = await _kick(client, ctx.args[0])
    left = await client.print(ACTIVE, queries=[f"?user={ctx.args[0]}"])
    return {"name": ctx.args[0], "kicked": kicked, "left": len(left)}


async def isolir(ctx: Ctx) -> dict[str, Any]:
    """Move the user to the router's ``isolir.hotspot_profile`` and end its session (bot/isolir.py)."""
    assert ctx.router is not None
    return await isolate(ctx.manage, ctx.router, ctx.store, "hotspot", ctx.args[0], ctx.now)


async def renew(ctx: Ctx) -> dict[str, Any]:
    assert ctx.router is not None
    return await restore(ctx.manage, ctx.router, ctx.store, "hotspot", ctx.args[0])


async def voucher(ctx: Ctx) -> dict[str, Any]:
    count, prof = ctx.args[0], ctx.args[1]
    if not count.isdigit() or not 1 <= int(count) <= 50:
        raise UsageError("N")
    client = await ctx.manage()
    made = []
    for _ in range(int(count)):
        code = new_code()
        await client.command(f"{USER}/add", {"name": code, "password": code, "profile": prof,
                                             "comment": "voucher pantau"})
        made.append(await one(client, USER, name=code))
    return {"vouchers": made, "profile": prof}


def _cmd(name: str, role: str, run: Any, usage: str, min_args: int, summary: dict[str, str],
         secret: tuple[int, ...] = ()) -> Command:
    return Command(name, role, run, usage=usage, min_args=min_args, confirm=True, manage=True,
                   secret_args=secret, summary=summary)


COMMANDS = [
    _cmd("hotspot.add", "admin", add, "NAME [PASSWORD] [PROFILE] [limit-uptime] [phone]", 1,
         {"id": "tambah user hotspot", "en": "add a hotspot user"}, secret=(1,)),
    _cmd("hotspot.remove", "admin", remove, "NAME", 1, {"id": "hapus user hotspot", "en": "remove a hotspot user"}),
    _cmd("hotspot.enable", "operator", enable, "NAME", 1, {"id": "aktifkan user", "en": "enable a user"}),
    _cmd("hotspot.disable", "operator", disable, "NAME", 1,
         {"id": "nonaktifkan user (dan putus sesinya)", "en": "disable a user (and kick the session)"}),
    _cmd("hotspot.password", "admin", password, "NAME [PASSWORD]", 1,
         {"id": "ganti sandi user", "en": "change a user's password"}, secret=(1,)),
    _cmd("hotspot.profile", "admin", profile, "NAME PROFILE", 2, {"id": "ganti profil user", "en": "change a user's profile"}),
    _cmd("hotspot.kick", "operator", kick, "NAME", 1, {"id": "putus sesi user", "en": "kick a user's session"}),
    _cmd("hotspot.isolir", "admin", isolir, "NAME", 1,
         {"id": "isolir user (pindah ke profil isolir)", "en": "isolate a user (to the isolir profile)"}),
    _cmd("hotspot.renew", "admin", renew, "NAME", 1, {"id": "buka isolir user", "en": "renew an isolated user"}),
    _cmd("voucher", "admin", voucher, "N PROFILE", 2, {"id": "buat N voucher", "en": "make N vouchers"}),
]
