"""``/ping ADDR [count]``: from the router over its API (seed 003's /Ping), and from pantau itself
when pantau has an ICMP probe running (it has one whenever it watches hosts)."""

from __future__ import annotations

import re
from typing import Any

from ...errors import ProbeError, RouterTrap
from ...routeros.ping import router_ping
from ..command import Command, Ctx, UsageError

_ADDRESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$")  # an IP (v4/v6) or a host name


def _summary(result: Any) -> dict[str, Any]:
    return {"sent": result.sent, "received": result.received, "loss": result.loss,
            "avg": result.rtt_avg_ms, "reason": result.reason}


async def ping(ctx: Ctx) -> dict[str, Any]:
    address, raw = ctx.args[0], ctx.arg(1, "4")
    if not _ADDRESS.match(address):
        raise UsageError("ADDR")
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= 20:
        raise UsageError("count")
    count = int(raw)
    from_router = await router_ping(await ctx.read(), address, count=count, interval=0.2)  # 5 echoes a second: an answer within a phone-second
    if (from_router.reason or "").startswith("router: "):  # the router refused (e.g. no `test` policy)
        raise RouterTrap(f"/ping: {from_router.reason.removeprefix('router: ')}")
    from_pantau = None
    if ctx.probe is not None:
        try:
            from_pantau = _summary(await ctx.probe.check(address, count=count, timeout=1.0, interval=0.2))
        except ProbeError as exc:
            from_pantau = {"error": str(exc)}
    return {"address": address, "count": count, "from_router": _summary(from_router), "from_pantau": from_pantau}


COMMANDS = [
    Command("ping", "viewer", ping, usage="ADDR [count]", min_args=1,
            summary={"id": "ping dari router (dan dari pantau)", "en": "ping from the router (and from pantau)"}),
]
