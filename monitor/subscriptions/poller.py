"""Reading a router's subscribers and turning their usage into warnings (one task per router).

Every ``check_every`` the poller reads ``/ip/hotspot/user`` (limits, counters, comment) and
``/ip/hotspot/active`` (the running sessions' counters, which the user's own counters do not
include until the session ends) when the router watches hotspot, and ``/ppp/secret`` (validity
only: a secret has no cumulative counters) when it watches ppp. The validity is the comment's date,
else pantau's own record for an account it created (``subscription_validity``, same ``.id``). It
evaluates each with the pure core (``levels``), enforces ``on_expiry`` (``enforce.py``), emits the
warnings and saves the records. A router that cannot be reached is skipped for that round (its ``router.down`` is the
session watcher's to say); the task itself runs under the supervisor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from ..config.durations import parse_routeros_duration
from ..errors import ConfigError, RouterError, RouterTrap
from ..events import Event, Source
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig
from ..statedb import is_transient
from .config import SubscriptionsConfig
from .enforce import Enforcer
from .levels import Levels, Record, Usage, evaluate
from .mikhmon import find_expiry
from .store import SubscriptionStore

log = structlog.get_logger("pantau.subscriptions")

USER_FIELDS = [".id", "name", "profile", "comment", "disabled", "uptime", "bytes-in", "bytes-out",
               "limit-uptime", "limit-bytes-total", "limit-bytes-in", "limit-bytes-out"]
ACTIVE_FIELDS = ["user", "uptime", "bytes-in", "bytes-out"]
SECRET_FIELDS = [".id", "name", "profile", "comment", "disabled", "service"]
PPP = "ppp:"  # a PPP secret's record key is ppp:NAME (a hotspot user's is its name)


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _seconds(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return parse_routeros_duration(text)
    except ValueError:
        return 0.0


def usages(router: str, users: list[dict[str, str]], active: list[dict[str, str]], tz: ZoneInfo) -> list[Usage]:
    """Each user's usage: its own counters plus those of its running sessions."""
    running: dict[str, tuple[float, int, int]] = {}
    for row in active:
        uptime, b_in, b_out = running.get(row.get("user", ""), (0.0, 0, 0))
        running[row.get("user", "")] = (uptime + _seconds(row.get("uptime")), b_in + _int(row.get("bytes-in")),
                                        b_out + _int(row.get("bytes-out")))
    out = []
    for row in users:
        name = row.get("name", "")
        uptime, b_in, b_out = running.get(name, (0.0, 0, 0))
        out.append(Usage(
            router=router, user=name, user_id=row.get(".id", ""), profile=row.get("profile", ""),
            uptime_s=_seconds(row.get("uptime")) + uptime, bytes_in=_int(row.get("bytes-in")) + b_in,
            bytes_out=_int(row.get("bytes-out")) + b_out,
            limit_uptime_s=_seconds(row.get("limit-uptime")) or None,
            limit_total=_int(row.get("limit-bytes-total")) or None,
            limit_in=_int(row.get("limit-bytes-in")) or None, limit_out=_int(row.get("limit-bytes-out")) or None,
            expires_at=find_expiry(row.get("comment"), tz), disabled=row.get("disabled") in ("true", "yes")))
    return out


def ppp_usages(router: str, secrets: list[dict[str, str]], tz: ZoneInfo) -> list[Usage]:
    """Each PPP secret as a subscriber: its validity from the comment, nothing to count."""
    return [Usage(router=router, user=row.get("name", ""), user_id=row.get(".id", ""), profile=row.get("profile", ""),
                  expires_at=find_expiry(row.get("comment"), tz), disabled=row.get("disabled") in ("true", "yes"),
                  service="ppp") for row in secrets]


class SubscriptionPoller:
    def __init__(self, router: RouterConfig, config: SubscriptionsConfig, *, timezone: str,
                 emit: Callable[[Event], Awaitable[None]], store: SubscriptionStore,
                 clock: Callable[[], datetime] | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 bot_store: Any = None):
        self.router, self.config = router, config
        self.watch = [w for w in ("hotspot", "ppp") if w in router.watch]
        problems = config.router_problems(router, f"routers.{router.name}")
        if problems:
            raise ConfigError(problems)
        self.tz = ZoneInfo(timezone)
        self.levels = Levels(quota=tuple(config.quota_levels), time=tuple(config.time_levels))
        self.emit, self.store = emit, store
        self.clock = clock or (lambda: datetime.now(self.tz))
        self._sleep = sleep
        self._records: dict[str, Record] | None = None
        self._unsaved: dict[str, Record] = {}  # changed records a DB fault kept from being saved
        self.enforcer = Enforcer(router, config.on_expiry, bot_store=bot_store)

    def take_over(self, old: SubscriptionPoller) -> None:
        """A replacement for the same router (a reload) keeps what ``old`` said this period and
        what a DB fault kept it from saving: no warning twice, none lost."""
        self._records, self._unsaved = old._records, old._unsaved

    async def wait_round(self) -> None:
        """The pause between two rounds (``check_every``, through the injectable sleep)."""
        await self._sleep(self.config.check_every)

    async def check_once(self) -> int:
        """One round: read, evaluate, emit, save. Returns the number of warnings emitted."""
        try:
            users, active, secrets = await self._read()
        except (RouterError, RouterTrap) as exc:
            log.warning("subscriptions.read_failed", router=self.router.name, error=str(exc))
            return 0
        if self._records is None:
            self._records = await asyncio.to_thread(self.store.load, self.router.name)
        own = await asyncio.to_thread(self.store.validity, self.router.name)  # accounts pantau created
        now = self.clock()
        changed: dict[str, Record] = {}
        sent = 0
        field = self.router.subscriber.field
        phones = {row.get("name", ""): self.router.subscriber.phone_from(row.get(field)) for row in users}
        phones.update({PPP + row.get("name", ""): self.router.subscriber.phone_from(row.get("comment"))
                       for row in secrets})
        try:
            for usage in usages(self.router.name, users, active, self.tz) + ppp_usages(self.router.name, secrets,
                                                                                        self.tz):
                key = (PPP if usage.service == "ppp" else "") + usage.user
                if usage.expires_at is None and key in own and own[key][0] == usage.user_id:
                    usage = replace(usage, expires_at=datetime.fromtimestamp(own[key][1], self.tz))
                before = self._records.get(key)
                snapshot = (before.period, before.max_uptime_s, before.max_in, before.max_out,
                            frozenset(before.sent)) if before else None
                record, warnings = evaluate(usage, before, self.levels, now)
                self._records[key] = record
                done = None
                if "expired" in record.sent:
                    done = await self.enforcer.enforce(usage, record, now.timestamp())  # again next round if failed
                for warning in warnings:
                    data = dict(warning.data)
                    if done and warning.type == "subscriber.expired":
                        data.update(done)
                    phone = phones.get(key)
                    if phone:
                        data["subscriber"] = {"phone": phone}
                    event = Event(warning.type, Source(kind="router", name=self.router.name,
                                                       address=self.router.address, labels=dict(self.router.labels)),
                                  data)
                    log.info("subscriptions.warning", router=self.router.name, user=usage.user, service=usage.service,
                             event_type=warning.type, kind=data.get("kind"), action=data.get("action"))
                    await self.emit(event)
                    sent += 1
                if snapshot != (record.period, record.max_uptime_s, record.max_in, record.max_out,
                                frozenset(record.sent)):
                    changed[key] = record
        finally:
            await self.enforcer.close()
        self._unsaved.update(changed)
        if self._unsaved:
            try:
                await asyncio.to_thread(self.store.save, self.router.name, dict(self._unsaved))
                self._unsaved.clear()
            except Exception as exc:  # a locked or full state DB: saved with the next round
                if not is_transient(exc):
                    raise
                log.warning("subscriptions.save_waiting", router=self.router.name, records=len(self._unsaved),
                            error=f"{type(exc).__name__}: {exc}")
        log.debug("subscriptions.checked", router=self.router.name, users=len(users), secrets=len(secrets),
                  warnings=sent)
        return sent

    async def _read(self) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
        r = self.router
        users: list[dict[str, str]] = []
        active: list[dict[str, str]] = []
        secrets: list[dict[str, str]] = []
        client = await RouterClient.for_router(r)
        try:
            if "hotspot" in self.watch:
                fields = list(dict.fromkeys(USER_FIELDS + [r.subscriber.field]))
                users = await client.print("/ip/hotspot/user", proplist=fields)
                active = await client.print("/ip/hotspot/active", proplist=ACTIVE_FIELDS)
            if "ppp" in self.watch:
                secrets = await client.print("/ppp/secret", proplist=SECRET_FIELDS)
        finally:
            await client.close()
        return users, active, secrets
