"""Commands answered from pantau itself: ``/menu`` and ``/monitor`` (state DB, no router call)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..command import Command, Ctx


def monitor_snapshot(state_path: str, routers: list[str]) -> dict[str, Any]:
    """Every host's and router's state and since when, from the state DB the engine keeps."""
    hosts: list[dict[str, Any]] = []
    status: dict[str, tuple[bool, float | None, str | None]] = {}
    if state_path and Path(state_path).exists():
        db = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True, timeout=5)
        try:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "host_state" in names:
                hosts = [{"name": n, "address": a, "state": s, "since": t} for n, a, s, t in
                         db.execute("SELECT name, address, state, since FROM host_state ORDER BY name")]
            if "router_status" in names:
                status = {r: (bool(d), s, e) for r, d, s, e in
                          db.execute("SELECT router, down, since, error FROM router_status")}
        finally:
            db.close()
    out_routers = []
    for name in routers:
        down, since, error = status.get(name, (False, None, None))
        out_routers.append({"name": name, "state": "down" if down else ("up" if name in status else "unknown"),
                            "since": since, "error": error})
    return {"hosts": hosts, "routers": out_routers}


async def monitor(ctx: Ctx) -> dict[str, Any]:
    snap = monitor_snapshot(ctx.state_path, [r.name for r in ctx.routers])
    return {**snap, "now": ctx.now}


async def menu(ctx: Ctx) -> dict[str, Any]:
    return {}  # the core fills in the commands this identity may use


COMMANDS = [
    Command("menu", "viewer", menu, router=False, summary={"id": "daftar perintah", "en": "list of commands"}),
    Command("monitor", "viewer", monitor, router=False,
            summary={"id": "status semua router dan host", "en": "every router and host"}),
]
