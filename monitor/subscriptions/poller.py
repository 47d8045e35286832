"""Reading a router's hotspot users and turning their usage into warnings (one task per router).

Every ``check_every`` the poller reads ``/ip/hotspot/user`` (limits, counters, comment) and
``/ip/hotspot/active`` (the running sessions' counters, which the user's own counters do not
include until the session ends), evaluates each user with the pure core (``levels``), emits the
warnings and saves the records. A router that cannot be reached is skipped for that round (its
``router.down`` is the session watcher's to say); the task itself runs under the supervisor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from ..config.durations import parse_routeros_duration
from ..errors import ConfigError, RouterError, RouterTrap
from ..events import Event, Source
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig
from ..routeros.sessions import end_sessions
from ..statedb import is_transient
from .config import SubscriptionsConfig
from .levels import Levels, Record, Usage, evaluate
from .mikhmon import find_expiry
from .store import SubscriptionStore

log = structlog.get_logger("pantau.subscriptions")

USER_FIELDS = [".id", "name", "profile", "comment", "disabled", "uptime", "bytes-in", "bytes-out",
               "limit-uptime", "limit-bytes-total", "limit-bytes-in", "limit-bytes-out"]
ACTIVE_FIELDS = ["user", "uptime", "bytes-in", "bytes-out"]


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


class SubscriptionPoller:
    def __init__(self, router: RouterConfig, config: SubscriptionsConfig, *, timezone: str,
                 emit: Callable[[Event], Awaitable[None]], store: SubscriptionStore,
                 clock: Callable[[], datetime] | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.router, self.config = router, config
        if config.on_expiry == "disable" and router.manage is None:
            raise ConfigError([f"subscriptions.on_expiry: disable needs a manage: user on router {router.name!r}"])
        self.tz = ZoneInfo(timezone)
        self.levels = Levels(quota=tuple(config.quota_levels), time=tuple(config.time_levels))
        self.emit, self.store = emit, store
        self.clock = clock or (lambda: datetime.now(self.tz))
        self._sleep = sleep
        self._records: dict[str, Record] | None = None
        self._unsaved: dict[str, Record] = {}  # changed records a DB fault kept from being saved
        self._manage: RouterClient | None = None  # open during a round that disables someone

    async def run(self) -> None:
        while True:
            await self.check_once()
            await self._sleep(self.config.check_every)

    async def check_once(self) -> int:
        """One round: read, evaluate, emit, save. Returns the number of warnings emitted."""
        try:
            users, active = await self._read()
        except (RouterError, RouterTrap) as exc:
            log.warning("subscriptions.read_failed", router=self.router.name, error=str(exc))
            return 0
        if self._records is None:
            self._records = await asyncio.to_thread(self.store.load, self.router.name)
        now = self.clock()
        changed: dict[str, Record] = {}
        sent = 0
        phones = {row.get("name", ""): self.router.subscriber.phone_from(row.get(self.router.subscriber.field))
                  for row in users}
        for usage in usages(self.router.name, users, active, self.tz):
            before = self._records.get(usage.user)
            snapshot = (before.period, before.max_uptime_s, before.max_in, before.max_out,
                        frozenset(before.sent)) if before else None
            record, warnings = evaluate(usage, before, self.levels, now)
            self._records[usage.user] = record
            disabled = False
            if self.config.on_expiry == "disable" and not usage.disabled and "expired" in record.sent:
                disabled = await self._disable(usage.user, usage.user_id)  # again next round if it failed
            for warning in warnings:
                data = dict(warning.data)
                if disabled and warning.type == "subscriber.expired":
                    data["action"] = "disabled"
                phone = phones.get(usage.user)
                if phone:
                    data["subscriber"] = {"phone": phone}
                event = Event(warning.type, Source(kind="router", name=self.router.name,
                                                   address=self.router.address, labels=dict(self.router.labels)),
                                  data)
                log.info("subscriptions.warning", router=self.router.name, user=usage.user,
                         event_type=warning.type, kind=data.get("kind"))
                await self.emit(event)
                sent += 1
            if snapshot != (record.period, record.max_uptime_s, record.max_in, record.max_out,
                            frozenset(record.sent)):
                changed[usage.user] = record
        if self._manage is not None:
            await self._manage.close()
            self._manage = None
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
        log.debug("subscriptions.checked", router=self.router.name, users=len(users), warnings=sent)
        return sent

    async def _disable(self, name: str, user_id: str) -> bool:
        """Disable an expired user and end its sessions through the manage: user (enforced from
        pantau: a router reboot or a lost scheduler cannot skip it). False when the router refused."""
        manage = self.router.manage
        assert manage is not None
        try:
            if self._manage is None:
                self._manage = await RouterClient.for_router(self.router, username=manage.username,
                                                             password=manage.password.get_secret_value())
            await self._manage.command("/ip/hotspot/user/set", {".id": user_id, "disabled": "yes"})
            kicked = await end_sessions(self._manage, "/ip/hotspot/active", "user", name)
        except (RouterError, RouterTrap) as exc:
            log.warning("subscriptions.disable_failed", router=self.router.name, user=name, error=str(exc))
            if self._manage is not None:
                await self._manage.close()
                self._manage = None
            return False
        log.info("subscriptions.disabled", router=self.router.name, user=name, kicked=kicked)
        return True

    async def _read(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        r = self.router
        client = await RouterClient.for_router(r)
        try:
            fields = list(dict.fromkeys(USER_FIELDS + [r.subscriber.field]))
            users = await client.print("/ip/hotspot/user", proplist=fields)
            active = await client.print("/ip/hotspot/active", proplist=ACTIVE_FIELDS)
        finally:
            await client.close()
        return users, active
