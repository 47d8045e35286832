"""Enforcement at expiry (``subscriptions.on_expiry``) through the router's ``manage:`` user, from
pantau — so a router reboot, a lost scheduler or a changed date format cannot skip it.

``disable``: the hotspot user or PPP secret is disabled and its session ended, every round until the
router shows it disabled (re-enabling it on the router without a new date is undone).

``isolir``: the bot's own ``/isolir`` (``bot/isolir.py``, the same ``bot_isolir`` record), so the
bot's ``/buka`` reverses it exactly. It is done once per subscription period (the record's
``isolir`` mark): a failed attempt is retried the next round, a restart or a reboot does not repeat
it, and after ``/buka`` the subscriber stays open until a new date runs out too. While pantau holds
the isolation, a router that lost it (disabled flag or profile back) gets it written again.

Every write is in the bot's audit (identity ``pantau``, channel ``subscriptions``); what was done
goes into the ``subscriber.expired`` event (``action``, and ``isolir`` with the details).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import structlog

from ..bot.isolir import isolate, record_key
from ..errors import PantauError
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig
from ..routeros.sessions import end_sessions
from .levels import Record, Usage

log = structlog.get_logger("pantau.subscriptions")

ISOLIR = "isolir"  # the record's mark: isolated in this period
MENUS = {"hotspot": ("/ip/hotspot/user", "/ip/hotspot/active", "user"), "ppp": ("/ppp/secret", "/ppp/active", "name")}


class Enforcer:
    def __init__(self, router: RouterConfig, mode: str, *, bot_store: Any):
        if mode == "isolir" and bot_store is None:
            raise ValueError("on_expiry: isolir keeps its records in the bot's store: pass bot_store")
        self.router, self.mode, self.bot_store = router, mode, bot_store
        self._client: RouterClient | None = None  # open during a round that enforces something

    async def enforce(self, usage: Usage, record: Record, now: float) -> dict[str, Any] | None:
        """Enforce on an expired ``usage``; what was done (for the event), or None (nothing now)."""
        if self.mode == "disable" and not usage.disabled:
            return await self._disable(usage, now)
        if self.mode == "isolir" and ISOLIR in record.sent:
            await self._reassert(usage, now)
            return None
        if self.mode == "isolir":
            kind = usage.service
            if usage.disabled and self.bot_store.isolated(self.router.name, record_key(kind, usage.user)) is None:
                return None  # a disabled account is not isolated (one an admin isolated is marked below)
            done = await self._isolir(usage, now)
            if done is not None:
                record.sent.add(ISOLIR)
            return done
        return None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _connect(self) -> RouterClient:
        if self._client is None:
            manage = self.router.manage
            assert manage is not None  # checked with the config
            self._client = await RouterClient.for_router(self.router, username=manage.username,
                                                         password=manage.password.get_secret_value())
        return self._client

    async def _disable(self, usage: Usage, now: float) -> dict[str, Any] | None:
        menu, active, field = MENUS[usage.service]
        try:
            client = await self._connect()
            await client.command(f"{menu}/set", {".id": usage.user_id, "disabled": "yes"})
            dropped = await end_sessions(client, active, field, usage.user)
        except PantauError as exc:
            await self._failed(usage, "disable", exc)
            return None
        log.info("subscriptions.disabled", router=self.router.name, user=usage.user, service=usage.service,
                 kicked=dropped)
        await self._audit(f"{usage.service}.disable", usage.user, now)
        return {"action": "disabled", "dropped": dropped}

    async def _isolir(self, usage: Usage, now: float) -> dict[str, Any] | None:
        kind = usage.service
        try:
            result = await isolate(self._connect, self.router, self.bot_store, kind, usage.user, now)
        except (PantauError, sqlite3.IntegrityError) as exc:  # IntegrityError: the bot isolated it meanwhile
            await self._failed(usage, "isolir", exc)
            return None
        if result.get("unset"):  # not reached: the config check requires it
            await self._failed(usage, "isolir", PantauError(f"{result['unset']} is not set"))
            return None
        if result["already"]:  # an admin's /isolir (or this, before a crash): nothing to redo
            log.info("subscriptions.isolir_already", router=self.router.name, user=usage.user, service=kind)
            return {"action": "isolir", "isolir": {"already": True}}
        row = result["secret"]
        detail: dict[str, Any] = {"mode": result["mode"], "profile": row.get("profile"),
                                  "disabled": row.get("disabled") == "true", "dropped": result["dropped"]}
        if result["listed"]:
            detail["address_list"] = result["listed"][0].get("list")
        log.info("subscriptions.isolated", router=self.router.name, user=usage.user, service=kind, **detail)
        await self._audit(f"{'ppp' if kind == 'ppp' else 'hotspot'}.isolir", usage.user, now)
        return {"action": "isolir", "isolir": detail}

    async def _reassert(self, usage: Usage, now: float) -> None:
        """The router lost an isolation pantau still holds (a restored backup, someone in Winbox):
        write it again, keeping the record of what ``/buka`` restores. A renewed one (no record) is
        left open."""
        kind = usage.service
        previous = self.bot_store.isolated(self.router.name, record_key(kind, usage.user))
        if previous is None:
            return
        target = self.router.isolir.profile if kind == "ppp" else self.router.isolir.hotspot_profile
        want: dict[str, str] = {}
        if previous.get("mode") == "disable" and not usage.disabled:
            want["disabled"] = "yes"
        elif "profile" in previous and target and usage.profile != target:
            want["profile"] = target
        if not want:
            return
        menu, active, field = MENUS[kind]
        try:
            client = await self._connect()
            await client.command(f"{menu}/set", {".id": usage.user_id, **want})
            dropped = await end_sessions(client, active, field, usage.user)
        except PantauError as exc:
            await self._failed(usage, "isolir", exc)
            return
        log.warning("subscriptions.isolir_reasserted", router=self.router.name, user=usage.user, service=kind,
                    fields=sorted(want), dropped=dropped)
        await self._audit(f"{kind}.isolir", usage.user, now, detail="subscriptions.on_expiry: the router had lost it")

    async def _failed(self, usage: Usage, what: str, exc: BaseException) -> None:
        log.warning(f"subscriptions.{what}_failed", router=self.router.name, user=usage.user, service=usage.service,
                    error=f"{type(exc).__name__}: {exc}", hint="retried next round")
        await self.close()  # the connection may be broken: a fresh one next time

    async def _audit(self, command: str, name: str, now: float, detail: str = "subscriptions.on_expiry") -> None:
        data = {"identity": "pantau", "channel": "subscriptions", "role": None, "router": self.router.name,
                "command": command, "args": [name], "result": "ok", "detail": detail}
        if self.bot_store is not None:  # pantau always passes it; a bare poller (tests) may not
            self.bot_store.audit(at=now or time.time(), **data)
        log.info("bot.audit", **data)
