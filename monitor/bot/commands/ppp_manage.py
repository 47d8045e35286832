"""PPPoE customers (seed 004): add, remove, profile, isolir and renew ("buka").

Isolir and renew run the shared code in ``bot/isolir.py`` (also used by ``subscriptions.on_expiry:
isolir``): the router's ``isolir:`` setting, the previous state stored before the first write,
renew restoring exactly that.
"""

from __future__ import annotations

from typing import Any

from ...delivery.phone import normalize_msisdn
from ...routeros.sessions import end_sessions
from ..command import Command, Ctx, UsageError, one
from ..isolir import isolate
from ..isolir import renew as restore

SECRET = "/ppp/secret"
ACTIVE = "/ppp/active"


async def _drop(client: Any, name: str) -> int:
    return await end_sessions(client, ACTIVE, "name", name)


async def add(ctx: Ctx) -> dict[str, Any]:
    name, password, prof, phone = (ctx.args + [None] * 4)[:4]
    attrs = {"name": name or "", "password": password or "", "service": "pppoe", "profile": prof or "default"}
    if phone:
        number = normalize_msisdn(phone)
        if number is None:
            raise UsageError("phone")
        attrs["comment"] = f"WA {number}"
    client = await ctx.manage()
    await client.command(f"{SECRET}/add", attrs)
    return {"secret": await one(client, SECRET, name=attrs["name"])}


async def remove(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.manage()
    row = await one(client, SECRET, name=ctx.args[0])
    dropped = await _drop(client, ctx.args[0])
    await client.command(f"{SECRET}/remove", {".id": row[".id"]})
    return {"name": ctx.args[0], "dropped": dropped,
            "gone": not await client.print(SECRET, queries=[f"?name={ctx.args[0]}"])}


async def profile(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.manage()
    row = await one(client, SECRET, name=ctx.args[0])
    await client.command(f"{SECRET}/set", {".id": row[".id"], "profile": ctx.args[1]})
    dropped = await _drop(client, ctx.args[0])  # the new profile applies from the next connect
    return {"before": row.get("profile"), "secret": await one(client, SECRET, name=ctx.args[0]), "dropped": dropped}


async def isolir(ctx: Ctx) -> dict[str, Any]:
    assert ctx.router is not None
    return await isolate(ctx.manage, ctx.router, ctx.store, "ppp", ctx.args[0], ctx.now)


async def renew(ctx: Ctx) -> dict[str, Any]:
    assert ctx.router is not None
    return await restore(ctx.manage, ctx.router, ctx.store, "ppp", ctx.args[0])


def _cmd(name: str, run: Any, usage: str, min_args: int, summary: dict[str, str],
         secret: tuple[int, ...] = ()) -> Command:
    return Command(name, "admin", run, usage=usage, min_args=min_args, confirm=True, manage=True,
                   secret_args=secret, summary=summary)


COMMANDS = [
    _cmd("ppp.add", add, "NAME PASSWORD [PROFILE] [phone]", 2, {"id": "tambah pelanggan PPPoE",
                                                                "en": "add a PPPoE customer"}, secret=(1,)),
    _cmd("ppp.remove", remove, "NAME", 1, {"id": "hapus pelanggan PPPoE", "en": "remove a PPPoE customer"}),
    _cmd("ppp.profile", profile, "NAME PROFILE", 2, {"id": "ganti paket/profil", "en": "change the profile"}),
    _cmd("ppp.isolir", isolir, "NAME", 1, {"id": "isolir pelanggan", "en": "isolate a customer"}),
    _cmd("ppp.renew", renew, "NAME", 1, {"id": "buka isolir (perpanjang)", "en": "renew an isolated customer"}),
]
