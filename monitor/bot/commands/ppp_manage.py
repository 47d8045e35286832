"""PPPoE customers (seed 004): add, remove, profile, isolir and renew ("buka").

Isolir follows the router's ``isolir:`` setting: ``disable`` the secret, or move it to an isolir
``profile`` and/or put its address in an ``address_list``. Every mode drops the ``/ppp/active``
session so it takes effect. The previous state is stored before the first write; renew restores
exactly that and forgets it.
"""

from __future__ import annotations

from typing import Any

from ...delivery.phone import normalize_msisdn
from ...routeros.sessions import end_sessions
from ..command import Command, Ctx, UsageError, one

SECRET = "/ppp/secret"
ACTIVE = "/ppp/active"
LIST = "/ip/firewall/address-list"


def _tag(name: str) -> str:
    return f"pantau-isolir:{name}"


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
    cfg, name = ctx.router.isolir, ctx.args[0]
    if ctx.store.isolated(ctx.router.name, name) is not None:
        return {"name": name, "already": True}
    client = await ctx.manage()
    row = await one(client, SECRET, name=name)
    previous: dict[str, Any] = {"mode": cfg.mode}
    address = None
    if cfg.mode == "disable":
        previous["disabled"] = row.get("disabled", "false")
    else:
        if cfg.profile:
            previous["profile"] = row.get("profile", "default")
        if cfg.address_list:
            active = await client.print(ACTIVE, queries=[f"?name={name}"], proplist=["address"])
            address = row.get("remote-address") or (active[0].get("address") if active else None)
            if not address:
                raise UsageError("address")  # nothing to put in the list: the customer has no known IP
            previous["address_list"] = cfg.address_list
    ctx.store.save_isolated(ctx.router.name, name, previous, ctx.now)
    wrote = False
    try:
        if cfg.mode == "disable":
            await client.command(f"{SECRET}/set", {".id": row[".id"], "disabled": "yes"})
            wrote = True
        else:
            if cfg.profile:
                await client.command(f"{SECRET}/set", {".id": row[".id"], "profile": cfg.profile})
                wrote = True
            if cfg.address_list:
                await client.command(f"{LIST}/add", {"list": cfg.address_list, "address": address or "",
                                                     "comment": _tag(name)})
    except BaseException:
        if not wrote:  # nothing changed on the router: nothing for renew to restore
            ctx.store.forget_isolated(ctx.router.name, name)
        raise  # after a partial write the record stays, so renew can still undo it
    dropped = await _drop(client, name)
    listed = await client.print(LIST, queries=[f"?comment={_tag(name)}"])
    return {"name": name, "already": False, "mode": cfg.mode, "secret": await one(client, SECRET, name=name),
            "listed": listed, "dropped": dropped}


async def renew(ctx: Ctx) -> dict[str, Any]:
    assert ctx.router is not None
    name = ctx.args[0]
    previous = ctx.store.isolated(ctx.router.name, name)
    if previous is None:
        return {"name": name, "was_isolated": False}
    client = await ctx.manage()
    row = await one(client, SECRET, name=name)
    restore = {k: previous[k] for k in ("disabled", "profile") if k in previous}
    if restore:
        await client.command(f"{SECRET}/set", {".id": row[".id"], **restore})
    for entry in await client.print(LIST, queries=[f"?comment={_tag(name)}"], proplist=[".id"]):
        await client.command(f"{LIST}/remove", {".id": entry[".id"]})
    dropped = await _drop(client, name)  # reconnect with the restored profile
    ctx.store.forget_isolated(ctx.router.name, name)
    return {"name": name, "was_isolated": True, "restored": restore, "secret": await one(client, SECRET, name=name),
            "dropped": dropped}


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
