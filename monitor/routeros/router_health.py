"""Watch one router's health on its own API connection: interface links (listen on ``/interface``,
debounced), thresholds on ``/system/resource`` and ``/system/health`` readings, and — with
``netwatch: follow`` — the router's own ``/tool/netwatch`` status changes as ``host.*`` events.

Events: ``router.interface_down`` / ``router.interface_up`` (``interface``, ``down_for_s``),
``router.health`` (``metric``, ``value``, ``limit``, ``state`` bad|ok, ``bad_for_s``), and
``host.down`` / ``host.up`` for netwatch entries (source: the netwatch host, ``reason: netwatch``).
After a reconnect every followed menu is printed again, so changes while disconnected are seen;
reconnects back off (poll_interval doubling to 5 min).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from ..errors import RouterError, RouterTrap
from ..events import Event, Source
from .backoff import ConnectGate
from .client import RouterClient
from .config import RouterConfig
from .health import LinkChange, LinkDebouncer, ThresholdJudge, readings
from .netwatch import _name as netwatch_name

log = structlog.get_logger("pantau.routeros.health")

Emit = Callable[[Event], Awaitable[None]]
_IFACE_PROPS = (".id", "name", "running", "disabled")
_NETWATCH_PROPS = (".id", "host", "status", "comment", "since", "disabled")


def wants_health_watcher(config: RouterConfig) -> bool:
    return bool(config.interfaces) or config.health is not None or config.netwatch == "follow"


class RouterHealthWatcher:
    def __init__(self, config: RouterConfig, *, emit: Emit, clock: Callable[[], float] = time.time):
        self.config = config
        self._emit = emit
        self._clock = clock
        self.links = LinkDebouncer(config.interfaces, config.interface_hold)
        self.judge = ThresholdJudge(config.health) if config.health else None
        self._iface_names: dict[str, str] = {}  # .id → name (listen rows may be partial)
        self._netwatch: dict[str, dict[str, Any]] = {}  # .id → {host, name, status, down_since}
        self._gate = ConnectGate(first=config.poll_interval)
        self._log = log.bind(router=config.name)

    def _source(self) -> Source:
        return Source(kind="router", name=self.config.name, address=self.config.address,
                      labels=dict(self.config.labels))

    async def run(self) -> None:
        while True:
            client: RouterClient | None = None
            try:
                self._gate.check()
                c = self.config
                client = await RouterClient.for_router(c)
                if self._gate.succeeded():
                    self._log.info("health_connected")
                await self._session(client)
            except RouterError as exc:
                backoff = self._gate.failed(exc)
                if backoff and backoff[1]:
                    self._log.warning("health_connect_failed", error=str(exc), kind=exc.kind, retry_in_s=backoff[0])
            finally:
                if client is not None:
                    await client.close()
            await asyncio.sleep(self.config.poll_interval)

    async def _session(self, client: RouterClient) -> None:
        updates: asyncio.Queue = asyncio.Queue()
        follow = []
        if self.config.interfaces:
            follow.append(("/interface", _IFACE_PROPS, self._interface_row))
        if self.config.netwatch == "follow":
            follow.append(("/tool/netwatch", _NETWATCH_PROPS, self._netwatch_row))

        async def pump(path: str, props: tuple[str, ...], handler: Callable) -> None:
            try:
                async for row in client.listen(path, proplist=props):
                    updates.put_nowait((handler, row))
            except RouterError as exc:
                updates.put_nowait(exc)

        pumps = [asyncio.create_task(pump(*f)) for f in follow]
        try:
            await asyncio.sleep(0)  # the listens go out before the resync prints
            for path, props, handler in follow:
                for row in await client.print(path, proplist=props):
                    await handler(row)
            loop = asyncio.get_running_loop()
            interval = self.config.health.interval if self.config.health else None
            next_read = loop.time()
            next_beat = loop.time() + self.config.poll_interval
            while True:
                deadlines = [next_beat] + ([next_read] if interval else [])
                due = self.links.next_due()
                if due is not None:
                    deadlines.append(loop.time() + max(0.0, due - self._clock()))
                item = None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, min(deadlines) - loop.time())):
                        item = await updates.get()
                if isinstance(item, RouterError):
                    raise item
                if item is not None:
                    await item[0](item[1])
                for change in self.links.due(self._clock()):
                    await self._announce_link(change)
                if interval and loop.time() >= next_read:
                    await self._read_health(client)
                    next_read = loop.time() + interval
                if loop.time() >= next_beat:
                    await client.print("/system/identity")  # a hung link shows as a timeout
                    next_beat = loop.time() + self.config.poll_interval
        finally:
            for task in pumps:
                task.cancel()
            for task in pumps:
                with contextlib.suppress(BaseException):
                    await task

    # -- interfaces ------------------------------------------------------------------------------

    async def _interface_row(self, row: dict[str, str]) -> None:
        item = row.get(".id", "")
        if row.get(".dead") in ("true", "yes"):
            self._iface_names.pop(item, None)
            return
        name = row.get("name") or self._iface_names.get(item)
        if not name or "running" not in row or row.get("disabled") in ("true", "yes"):
            return
        self._iface_names[item] = name
        change = self.links.observe(name, row["running"] in ("true", "yes"), self._clock())
        if change is not None:
            await self._announce_link(change)

    async def _announce_link(self, change: LinkChange) -> None:
        kind = "router.interface_up" if change.running else "router.interface_down"
        down_for = change.duration_in_previous if change.running else None
        self._log.info(kind.replace(".", "_"), interface=change.interface)
        await self._emit(Event(kind, self._source(), {
            "interface": change.interface, "down_for_s": None if down_for is None else round(down_for, 3)}))

    # -- thresholds ------------------------------------------------------------------------------

    async def _read_health(self, client: RouterClient) -> None:
        assert self.judge is not None
        resource = await client.print("/system/resource", proplist=["cpu-load", "free-memory"])
        try:
            sensors = await client.print("/system/health")
        except RouterTrap:
            sensors = []  # not every board has sensors
        values = readings(resource[0] if resource else {}, sensors)
        for change in self.judge.observe(values, self._clock()):
            self._log.warning("router_health", **change.data())
            await self._emit(Event("router.health", self._source(), change.data()))

    # -- netwatch follow -------------------------------------------------------------------------

    async def _netwatch_row(self, row: dict[str, str]) -> None:
        item = row.get(".id", "")
        if row.get(".dead") in ("true", "yes"):
            self._netwatch.pop(item, None)
            return
        known = self._netwatch.get(item)
        status = row.get("status", known["status"] if known else "unknown")
        if row.get("disabled") in ("true", "yes") or status not in ("up", "down"):
            return
        host = row.get("host") or (known or {}).get("host", "")
        name = netwatch_name(row.get("comment") if "comment" in row else (known or {}).get("comment"), host)
        entry = {"host": host, "name": name, "comment": row.get("comment", (known or {}).get("comment")),
                 "status": status, "down_since": (known or {}).get("down_since")}
        self._netwatch[item] = entry
        if known is not None and known["status"] == status:
            return
        now = self._clock()
        source = Source(kind="host", name=name, address=host,
                        labels={**self.config.labels, "router": self.config.name})
        base = {"loss": None, "rtt_avg_ms": None, "source": "netwatch"}
        if status == "down":
            entry["down_since"] = now
            await self._emit(Event("host.down", source, {**base, "reason": "netwatch", "checks_failed": None}))
        elif known is not None:  # a first sighting UP is silent, like a host's first UP
            since = known.get("down_since")
            entry["down_since"] = None
            await self._emit(Event("host.up", source, {**base, "checks_ok": None,
                                                       "down_for_s": None if since is None else round(now - since, 3)}))
        self._log.info("netwatch_status", host=host, status=status)
