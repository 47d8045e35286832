"""``/maintenance`` (operator): list, open and end maintenance windows from the chat.

The same windows as ``pantau maintenance`` (monitor/suppression/store.py): stored in the state DB,
picked up by the running engine within seconds, and reconciled when they end (still down → one
DOWN, recovered → nothing).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...config.durations import parse_duration
from ...suppression.store import MaintenanceStore
from ..command import Command, Ctx, UsageError


def _view(window: Any) -> dict[str, Any]:
    return {"id": window.id, "targets": ", ".join(window.targets), "start": window.start, "end": window.end,
            "reason": window.reason, "by": window.created_by}


def _run(state_path: str, action: str, args: list[str], by: str, now: float) -> dict[str, Any]:
    store = MaintenanceStore(state_path)
    try:
        if action == "add":
            targets = [a for a in args if ":" in a]
            rest = [a for a in args if ":" not in a]
            if not targets or not rest:
                raise UsageError("add host:NAME|router:NAME|label:K=V DURATION [reason]")
            try:
                duration = parse_duration(rest[0])
                window = store.add(targets, duration, reason=" ".join(rest[1:]), by=by, now=now)
            except ValueError as exc:
                raise UsageError(f"add TARGET DURATION [reason] ({exc})") from None
            return {"action": "add", "window": _view(window)}
        if action == "end":
            if not args or not args[0].isdigit():
                raise UsageError("end ID")
            try:
                window = store.end(int(args[0]), now=now)
            except KeyError:
                raise UsageError(f"end ID (no window {args[0]})") from None
            return {"action": "end", "window": _view(window)}
        return {"action": "list", "windows": [_view(w) for w in store.list(since=now)]}
    finally:
        store.close()


async def maintenance(ctx: Ctx) -> dict[str, Any]:
    action = ctx.args[0].lower() if ctx.args else "list"
    if action not in ("list", "add", "end"):
        raise UsageError("[list | add TARGET DURATION [reason] | end ID]")
    by = f"bot:{ctx.identity}" if ctx.identity else "bot"
    data = await asyncio.to_thread(_run, ctx.state_path, action, ctx.args[1:], by, ctx.now)
    return {**data, "now": ctx.now}


COMMANDS = [
    Command("maintenance", "operator", maintenance, router=False,
            usage="[list | add host:NAME|router:NAME|label:K=V DURATION [reason] | end ID]",
            summary={"id": "jendela pemeliharaan (tanpa notifikasi)", "en": "maintenance windows (no alerts)"}),
]
