"""Read commands over the router's network menus (seed 003's /Dhcp /Address /Pool /Traffic …)."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..command import Command, Ctx, NotFound, UsageError, is_true


async def dhcp(ctx: Ctx) -> dict[str, Any]:
    rows = await (await ctx.read()).print("/ip/dhcp-server/lease")
    needle = (ctx.arg(0) or "").lower()
    if needle:
        rows = [r for r in rows if any(needle in r.get(k, "").lower()
                                       for k in ("address", "mac-address", "host-name", "comment"))]
    return {"leases": rows, "filter": ctx.arg(0)}


async def address(ctx: Ctx) -> dict[str, Any]:
    return {"addresses": await (await ctx.read()).print("/ip/address")}


def pool_size(ranges: str) -> int:
    """Addresses in ``10.5.50.2-10.5.50.254,10.6.0.0/24`` (bad parts count 0)."""
    total = 0
    for part in ranges.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (ipaddress.ip_address(x.strip()) for x in part.split("-", 1))
                total += int(hi) - int(lo) + 1
            elif "/" in part:
                total += ipaddress.ip_network(part, strict=False).num_addresses
            elif part:
                ipaddress.ip_address(part)
                total += 1
        except ValueError:
            continue
    return total


async def pool(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.read()
    pools = await client.print("/ip/pool")
    used = await client.print("/ip/pool/used")
    out = []
    for p in pools:
        n_used = sum(1 for u in used if u.get("pool") == p.get("name"))
        size = pool_size(p.get("ranges", ""))
        out.append({"name": p.get("name", ""), "ranges": p.get("ranges", ""), "used": n_used,
                    "free": max(size - n_used, 0), "size": size})
    return {"pools": out}


async def traffic(ctx: Ctx) -> dict[str, Any]:
    iface = ctx.arg(0)
    if not iface:
        raise UsageError("interface")
    client = await ctx.read()
    if not await client.print("/interface", queries=[f"?name={iface}"]):
        raise NotFound(iface)
    rows = await client.command("/interface/monitor-traffic", {"interface": iface, "once": ""})
    sample = rows[0] if rows else {}
    return {"interface": iface, "rx": sample.get("rx-bits-per-second"), "tx": sample.get("tx-bits-per-second")}


async def interface(ctx: Ctx) -> dict[str, Any]:
    rows = await (await ctx.read()).print("/interface")
    return {"interfaces": [{**r, "up": is_true(r.get("running")), "off": is_true(r.get("disabled"))}
                           for r in rows]}


async def dns(ctx: Ctx) -> dict[str, Any]:
    rows = await (await ctx.read()).print("/ip/dns")
    return {"dns": rows[0] if rows else {}}


async def neighbor(ctx: Ctx) -> dict[str, Any]:
    return {"neighbors": await (await ctx.read()).print("/ip/neighbor")}


async def resource(ctx: Ctx) -> dict[str, Any]:
    rows = await (await ctx.read()).print("/system/resource")
    return {"res": rows[0] if rows else {}}


async def log_tail(ctx: Ctx) -> dict[str, Any]:
    raw = ctx.arg(0, "10")
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise UsageError("n")
    rows = await (await ctx.read()).print("/log")
    return {"entries": rows[-int(raw):], "n": int(raw)}


async def status(ctx: Ctx) -> dict[str, Any]:
    client = await ctx.read()
    identity = await client.print("/system/identity")
    res = await client.print("/system/resource")
    hotspot = await client.command("/ip/hotspot/active/print", {"count-only": ""})
    ppp = await client.command("/ppp/active/print", {"count-only": ""})
    return {"identity": identity[0].get("name", "") if identity else "", "res": res[0] if res else {},
            "hotspot": hotspot[-1].get("ret", "0") if hotspot else "0",
            "ppp": ppp[-1].get("ret", "0") if ppp else "0"}


COMMANDS = [
    Command("dhcp", "viewer", dhcp, usage="[filter]", summary={"id": "sewa DHCP", "en": "DHCP leases"}),
    Command("address", "viewer", address, summary={"id": "alamat IP router", "en": "router IP addresses"}),
    Command("pool", "viewer", pool, summary={"id": "pool IP: terpakai/sisa", "en": "IP pools: used/free"}),
    Command("traffic", "viewer", traffic, usage="IFACE", min_args=1,
            summary={"id": "trafik rx/tx sebuah interface", "en": "rx/tx of one interface"}),
    Command("interface", "viewer", interface, summary={"id": "status interface", "en": "interface status"}),
    Command("dns", "viewer", dns, summary={"id": "pengaturan DNS", "en": "DNS settings"}),
    Command("neighbor", "viewer", neighbor, summary={"id": "perangkat tetangga", "en": "neighbor devices"}),
    Command("resource", "viewer", resource, summary={"id": "CPU, memori, uptime", "en": "CPU, memory, uptime"}),
    Command("log", "viewer", log_tail, usage="[n]", summary={"id": "log router terakhir", "en": "recent router log"}),
    Command("status", "viewer", status, summary={"id": "ringkasan router", "en": "router summary"}),
]
