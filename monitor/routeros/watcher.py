"""Follow one router's hotspot and PPP sessions and its reachability; emit pantau events.

Structure (one watcher per router):

* a control loop on its own connection, every ``poll_interval``: prints ``/system/identity`` (the
  reachability probe), and prints every watched menu that is not currently followed by a healthy
  listen (poll mode: all of them; listen mode: only as fallback). Failures (refused, login,
  timeout/hung, ``!fatal``, broken stream) count toward ``down_after``; reaching it emits one
  ``router.down``; the next success emits ``router.up`` and a diff with ``reason: while_unreachable``.
* in listen mode, one task per watched menu on a dedicated connection: ``listen`` first, then a
  full ``print`` on the same connection (resync), then live updates; a heartbeat ``print`` on that
  connection every ``poll_interval`` detects a hung link; a full resync every ``resync_interval``.
  Any error closes it; the control loop polls that menu until the listen is back.

No session event is emitted while the router is down. A ``!trap`` on a print of a watched menu
(e.g. the API user lost its permission) is logged clearly and counts as a failed poll — after
``down_after`` of them one ``router.down`` names the trap — and never logs anybody out. The first sync of a menu that
was never synced before (empty store) is a silent baseline: pantau never replays every active user.
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
from .client import RouterClient
from .config import RouterConfig
from .sessions import SPECS, MenuSpec, login_data, logout_data, make_record, session_key
from .store import RouterStore
from .subscribers import SubscriberDirectory

log = structlog.get_logger("pantau.routeros")

Emit = Callable[[Event], Awaitable[None]]
_PERSIST_EVERY = 60.0  # seconds between bulk saves of changing counters (bytes, uptime)


class RouterWatcher:
    """Watch one router until cancelled: ``await RouterWatcher(cfg, emit=..., store=...).run()``."""

    def __init__(self, config: RouterConfig, *, emit: Emit, store: RouterStore | None = None,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self._emit = emit
        self._store = store
        self._clock = clock
        self._specs = [SPECS[w] for w in config.watch]
        self._subscribers = SubscriberDirectory(config.subscriber, config.name)
        self._known: dict[str, dict[str, dict[str, Any]]] = {}
        self._baselined: dict[str, bool] = {}
        self._first_sync: dict[str, bool] = {}
        self._persisted_at: dict[str, float] = {}
        self._locks = {s.path: asyncio.Lock() for s in self._specs}
        self._listening = {s.path: False for s in self._specs}
        self.identity: str | None = None
        self.api_latency_s: float | None = None  # the last /system/identity round trip (/metrics)
        self.down = False
        self._failures = 0
        self._streak_since: float | None = None
        self._down_since: float | None = None
        self._reachable = asyncio.Event()
        self._control: RouterClient | None = None
        self._log = log.bind(router=config.name)
        for spec in self._specs:
            saved = store.load(config.name, spec.path) if store else None
            self._known[spec.path] = saved or {}
            self._baselined[spec.path] = saved is not None
            self._first_sync[spec.path] = saved is not None
        status = store.status(config.name) if store else None
        if status and status.down:  # still down from before the restart: no second router.down
            self.down, self._down_since = True, status.since
        else:
            self._reachable.set()

    # -- public ----------------------------------------------------------------------------------

    def sessions(self, watch: str) -> dict[str, dict[str, Any]]:
        """The last known sessions of ``hotspot`` or ``ppp`` (key → record), for status pages."""
        return dict(self._known.get(SPECS[watch].path, {}))

    def session_count(self, watch: str) -> int:
        """How many ``hotspot`` or ``ppp`` sessions are active now (no copy: /metrics)."""
        return len(self._known.get(SPECS[watch].path, ()))

    async def run(self) -> None:
        tasks = [asyncio.create_task(self._listen_loop(s), name=f"listen {self.config.name} {s.path}")
                 for s in self._specs] if self.config.mode == "listen" else []
        try:
            await self._control_loop()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            await self._close_control()

    # -- connections -----------------------------------------------------------------------------

    async def _connect(self) -> RouterClient:
        c = self.config
        return await RouterClient.for_router(c)

    async def _close_control(self) -> None:
        if self._control is not None:
            await self._control.close()
            self._control = None

    def _source(self) -> Source:
        return Source(kind="router", name=self.config.name, address=self.config.address,
                      labels=dict(self.config.labels), identity=self.identity)

    # -- control loop: reachability, polling, fallback -------------------------------------------

    async def _control_loop(self) -> None:
        while True:
            snapshots: dict[str, list[dict[str, str]]] = {}
            try:
                if self._control is None or self._control.closed:
                    self._control = await self._connect()
                try:
                    started = time.perf_counter()
                    rows = await self._control.print("/system/identity")
                    self.api_latency_s = time.perf_counter() - started
                    self.identity = rows[0].get("name") if rows else self.identity
                except RouterTrap as exc:  # answered, so reachable
                    self._log.error("router_print_trap", menu="/system/identity", error=str(exc))
                for spec in self._specs:
                    if self._subscribers.due(spec):
                        await self._subscribers.refresh(self._control, spec)
                    if self._listening[spec.path] and not self.down:
                        continue
                    try:
                        snapshots[spec.path] = await self._control.print(spec.path, proplist=spec.proplist)
                    except RouterTrap as exc:
                        # e.g. "not enough permissions": pantau cannot see these sessions, so the
                        # round fails (toward router.down, which tells the operator why) and,
                        # since no snapshot was taken, nobody is logged out because of it.
                        self._log.error("router_print_trap", menu=spec.path, error=str(exc))
                        raise RouterError(f"!trap on {spec.path}: {exc}", kind="trap") from None
            except RouterError as exc:
                await self._close_control()
                await self._failed(exc)
            else:
                await self._succeeded(snapshots)
            await asyncio.sleep(self.config.poll_interval)

    async def _failed(self, exc: RouterError) -> None:
        now = self._clock()
        self._failures += 1
        if self._streak_since is None:
            self._streak_since = now
        self._log.warning("router_poll_failed", error=str(exc), kind=exc.kind, attempt=self._failures)
        if not self.down and self._failures >= self.config.down_after:
            self.down, self._down_since = True, self._streak_since
            self._reachable.clear()
            await self._emit(Event("router.down", self._source(),
                                   {"error": str(exc), "down_for_s": round(now - self._streak_since, 3)}))
            if self._store:
                self._store.set_status(self.config.name, down=True, since=self._down_since, error=str(exc))
            self._log.error("router_down", error=str(exc), attempt=self._failures)

    async def _succeeded(self, snapshots: dict[str, list[dict[str, str]]]) -> None:
        self._failures, self._streak_since = 0, None
        reason = "logout"
        if self.down:
            down_for = self._clock() - (self._down_since or self._clock())
            self.down = False
            await self._emit(Event("router.up", self._source(), {"error": None, "down_for_s": round(down_for, 3)}))
            if self._store:
                self._store.set_status(self.config.name, down=False, since=None, error=None)
            self._log.info("router_up", down_for_s=round(down_for, 3))
            reason = "while_unreachable"
        for spec in self._specs:
            if spec.path in snapshots and not (self._listening[spec.path] and reason == "logout"):
                await self._apply_snapshot(spec, snapshots[spec.path], reason, self._control)
        self._reachable.set()

    # -- listen ----------------------------------------------------------------------------------

    async def _listen_loop(self, spec: MenuSpec) -> None:
        while True:
            await self._reachable.wait()
            client: RouterClient | None = None
            pause = self.config.poll_interval
            try:
                client = await self._connect()
                await self._listen_session(client, spec)
            except RouterTrap as exc:
                self._log.error("router_listen_trap", menu=spec.path, error=str(exc))
                pause = self.config.resync_interval  # polling covers this menu meanwhile
            except RouterError as exc:
                self._log.warning("router_listen_failed", menu=spec.path, error=str(exc), kind=exc.kind)
            finally:
                self._listening[spec.path] = False
                if client is not None:
                    await client.close()
            await asyncio.sleep(pause)

    async def _listen_session(self, client: RouterClient, spec: MenuSpec) -> None:
        updates: asyncio.Queue = asyncio.Queue()

        async def pump() -> None:
            try:
                async for row in client.listen(spec.path, proplist=spec.proplist):
                    updates.put_nowait(row)
            except RouterError as exc:
                updates.put_nowait(exc)

        pump_task = asyncio.create_task(pump())
        try:
            await asyncio.sleep(0)  # the listen command goes out before the resync print
            await self._listen_resync(client, spec)
            self._listening[spec.path] = True
            self._log.info("router_listening", menu=spec.path)
            loop = asyncio.get_running_loop()
            next_beat = loop.time() + self.config.poll_interval
            next_resync = loop.time() + self.config.resync_interval
            while True:
                wait = max(0.0, min(next_beat, next_resync) - loop.time())
                try:
                    async with asyncio.timeout(wait):  # not wait_for: it can swallow a cancel on 3.11
                        item = await updates.get()
                except TimeoutError:
                    item = None
                if isinstance(item, RouterError):
                    raise item
                if not self._reachable.is_set():
                    raise RouterError("router is down; listen restarts after recovery", kind="down")
                if item is not None:
                    await self._apply_update(spec, item, client)
                if loop.time() >= next_beat:
                    await client.print("/system/identity")
                    next_beat = loop.time() + self.config.poll_interval
                if loop.time() >= next_resync:
                    await self._listen_resync(client, spec)
                    next_resync = loop.time() + self.config.resync_interval
        finally:
            pump_task.cancel()
            with contextlib.suppress(BaseException):
                await pump_task

    async def _listen_resync(self, client: RouterClient, spec: MenuSpec) -> None:
        rows = await client.print(spec.path, proplist=spec.proplist)
        await self._apply_snapshot(spec, rows, "logout", client)

    # -- applying changes ------------------------------------------------------------------------

    async def _apply_snapshot(self, spec: MenuSpec, rows: list[dict[str, str]], reason: str,
                              client: RouterClient | None) -> None:
        async with self._locks[spec.path]:
            if self.down:
                return
            now = self._clock()
            known = self._known[spec.path]
            current = {session_key(spec, r): r for r in rows if ".id" in r}
            if not self._baselined[spec.path]:
                self._known[spec.path] = {k: make_record(spec, r, now) for k, r in current.items()}
                if self._store:
                    self._store.replace(self.config.name, spec.path, self._known[spec.path], now=now)
                self._baselined[spec.path] = True
                self._persisted_at[spec.path] = now
                self._log.info("router_baseline", menu=spec.path, sessions=len(current))
                return
            if self._first_sync[spec.path]:
                reason, self._first_sync[spec.path] = "while_stopped", False
            for key in [k for k in known if k not in current]:
                await self._end(spec, key, reason)
            new = [k for k in current if k not in known]
            if client is not None and len(new) > 20 and self._subscribers.due(spec):
                await self._subscribers.refresh(client, spec)
            for key, row in current.items():
                if key in known:
                    known[key] = make_record(spec, row, now, known[key])
                else:
                    await self._start(spec, key, row, client)
            if self._store and now - self._persisted_at.get(spec.path, 0.0) >= _PERSIST_EVERY:
                self._store.put_many(self.config.name, spec.path, known)
                self._persisted_at[spec.path] = now

    async def _apply_update(self, spec: MenuSpec, row: dict[str, str], client: RouterClient) -> None:
        async with self._locks[spec.path]:
            if self.down:
                return
            known = self._known[spec.path]
            same_id = [k for k, rec in known.items() if rec["id"] == row.get(".id")]
            if row.get(".dead") in ("true", "yes"):
                for key in same_id:
                    await self._end(spec, key, "logout")
                return
            if spec.name_field not in row and same_id:  # a partial update of a known session
                known[same_id[0]] = make_record(spec, row, self._clock(), known[same_id[0]])
                return
            key = session_key(spec, row)
            for other in same_id:
                if other != key:  # .id reused by another user/device
                    await self._end(spec, other, "logout")
            if key in known:
                known[key] = make_record(spec, row, self._clock(), known[key])
            else:
                await self._start(spec, key, row, client)

    async def _start(self, spec: MenuSpec, key: str, row: dict[str, str], client: RouterClient | None) -> None:
        record = make_record(spec, row, self._clock())
        name = record["user" if spec.watch == "hotspot" else "name"]
        subscriber, comment = await self._subscribers.lookup(client, spec, name)
        await self._emit(Event(spec.start_type, self._source(), login_data(spec, record, subscriber, comment)))
        self._known[spec.path][key] = record  # commit only after the event is handed over
        if self._store:
            self._store.put(self.config.name, spec.path, key, record)
        self._log.info(spec.start_type.replace(".", "_"), user=name, address=record["address"])

    async def _end(self, spec: MenuSpec, key: str, reason: str) -> None:
        record = self._known[spec.path][key]
        name = record["user" if spec.watch == "hotspot" else "name"]
        subscriber, comment = await self._subscribers.lookup(None, spec, name)
        data = logout_data(spec, record, subscriber, comment, reason=reason, now=self._clock())
        await self._emit(Event(spec.end_type, self._source(), data))
        del self._known[spec.path][key]
        if self._store:
            self._store.delete(self.config.name, spec.path, key)
        self._log.info(spec.end_type.replace(".", "_"), user=name, reason=reason)
