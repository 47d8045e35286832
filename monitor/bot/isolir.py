"""Isolir and renew: the one code path behind the bot's ``/isolir`` and ``/buka`` (PPPoE secrets and
hotspot users) and pantau's own ``subscriptions.on_expiry: isolir``, so a renew reverses an
automatic isolir exactly as it reverses one an admin ordered.

A PPP secret follows the router's ``isolir:`` setting: ``disable`` the secret, or move it to an
isolir ``profile`` and/or put its address in an ``address_list``. A hotspot user moves to the
router's ``isolir.hotspot_profile`` (e.g. one that only reaches a payment page). Every kind ends
the active session so it takes effect at once. What renew must restore is stored in ``bot_isolir``
(``BotStore``) BEFORE the router is changed; renew restores exactly that and forgets it. Hotspot
records are keyed ``hotspot:NAME`` so a hotspot user and a PPP secret of the same name stay apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..routeros.config import RouterConfig
from ..routeros.sessions import end_sessions
from .command import UsageError, one

SECRET, PPP_ACTIVE, LIST = "/ppp/secret", "/ppp/active", "/ip/firewall/address-list"
USER, HOTSPOT_ACTIVE = "/ip/hotspot/user", "/ip/hotspot/active"

Connect = Callable[[], Awaitable[Any]]  # opens (or returns) a connection as the manage: user


def record_key(kind: str, name: str) -> str:
    return name if kind == "ppp" else f"hotspot:{name}"


def _tag(name: str) -> str:
    return f"pantau-isolir:{name}"


async def _drop(client: Any, kind: str, name: str) -> int:
    if kind == "ppp":
        return await end_sessions(client, PPP_ACTIVE, "name", name)
    return await end_sessions(client, HOTSPOT_ACTIVE, "user", name)


async def isolate(connect: Connect, router: RouterConfig, store: Any, kind: str, name: str,
                  now: float) -> dict[str, Any]:
    """Isolate ``name`` (a PPP secret or hotspot user); ``already: True`` when pantau already holds
    it isolated (nothing changed), ``unset`` when the router has no ``isolir.hotspot_profile``.
    Raises NotFound, UsageError (no address to put in the list) or the router's error."""
    cfg, key = router.isolir, record_key(kind, name)
    if store.isolated(router.name, key) is not None:
        return {"name": name, "kind": kind, "already": True}
    if kind == "hotspot" and not cfg.hotspot_profile:  # the bot says so (on_expiry checks it at start-up)
        return {"name": name, "kind": kind, "already": False, "unset": "isolir.hotspot_profile"}
    client = await connect()
    menu = SECRET if kind == "ppp" else USER
    row = await one(client, menu, name=name)
    mode = cfg.mode if kind == "ppp" else "profile"
    previous: dict[str, Any] = {"mode": mode}
    target = cfg.profile if kind == "ppp" else cfg.hotspot_profile
    address = None
    if mode == "disable":
        previous["disabled"] = row.get("disabled", "false")
    else:
        if target:
            previous["profile"] = row.get("profile", "default")
        if kind == "ppp" and cfg.address_list:
            active = await client.print(PPP_ACTIVE, queries=[f"?name={name}"], proplist=["address"])
            address = row.get("remote-address") or (active[0].get("address") if active else None)
            if not address:
                raise UsageError("address")  # nothing to put in the list: the customer has no known IP
            previous["address_list"] = cfg.address_list
    store.save_isolated(router.name, key, previous, now)
    wrote = False
    try:
        if mode == "disable":
            await client.command(f"{menu}/set", {".id": row[".id"], "disabled": "yes"})
            wrote = True
        else:
            if target:
                await client.command(f"{menu}/set", {".id": row[".id"], "profile": target})
                wrote = True
            if address:
                await client.command(f"{LIST}/add", {"list": cfg.address_list or "", "address": address,
                                                     "comment": _tag(name)})
    except BaseException:
        if not wrote:  # nothing changed on the router: nothing for renew to restore
            store.forget_isolated(router.name, key)
        raise  # after a partial write the record stays, so renew can still undo it
    dropped = await _drop(client, kind, name)
    listed = await client.print(LIST, queries=[f"?comment={_tag(name)}"]) if kind == "ppp" else []
    return {"name": name, "kind": kind, "already": False, "mode": mode, "secret": await one(client, menu, name=name),
            "listed": listed, "dropped": dropped}


async def renew(connect: Connect, router: RouterConfig, store: Any, kind: str, name: str) -> dict[str, Any]:
    """Undo what ``isolate`` did to ``name`` (whoever ordered it) and forget it; ``was_isolated:
    False`` when pantau holds no isolir for it."""
    key = record_key(kind, name)
    previous = store.isolated(router.name, key)
    if previous is None:
        return {"name": name, "kind": kind, "was_isolated": False}
    client = await connect()
    menu = SECRET if kind == "ppp" else USER
    row = await one(client, menu, name=name)
    restore = {k: previous[k] for k in ("disabled", "profile") if k in previous}
    if restore:
        await client.command(f"{menu}/set", {".id": row[".id"], **restore})
    if kind == "ppp":
        for entry in await client.print(LIST, queries=[f"?comment={_tag(name)}"], proplist=[".id"]):
            await client.command(f"{LIST}/remove", {".id": entry[".id"]})
    dropped = await _drop(client, kind, name)  # reconnect with the restored profile
    store.forget_isolated(router.name, key)
    return {"name": name, "kind": kind, "was_isolated": True, "restored": restore,
            "secret": await one(client, menu, name=name), "dropped": dropped}
