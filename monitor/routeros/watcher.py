"""Follow one router's hotspot and PPP sessions and its reachability; emit pantau events.

Structure (one watcher per router):

* a control loop on its own connection, starting every ``poll_interval`` on a fixed grid (pacing.py): prints ``/system/identity`` (the
  reachability probe), and prints every watched menu that is not currently followed by a healthy
  listen (poll mode: all of them; listen mode: only as fallback). Failures (refused, login,
  timeout/hung, ``!fatal``, broken stream) count toward ``down_after``; reaching it emits one
  ``router.down``; the next success emits ``router.up`` and a diff with ``reason: while_unreachable``.
* in listen mode, one task per watched menu on a dedicated connection (listen.py).
* large deltas (a burst of listen updates, a 10,000-row snapshot) are applied in slices that hand
  the event loop back (pacing.Slicer); sessions are indexed by ``.id`` (known.py).

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
from ..logs import redact
from ..supervisor import Supervisor
from .backoff import ConnectGate
from .client import RouterClient
from .config import RouterConfig
from .known import KnownSessions
from .listen import ListenMixin
from .pacing import FixedRate, Slicer
from .reboot import SettleWindow, UptimeTracker
from .sessions import SPECS, MenuSpec, login_data, logout_data, make_record, session_key
from .store import RouterStore
from .subscribers import SubscriberDirectory

log = structlog.get_logger("pantau.routeros")

Emit = Callable[[Event], Awaitable[None]]
_PERSIST_EVERY = 60.0  # seconds between bulk saves of changing counters (bytes, uptime)


class RouterWatcher(ListenMixin):
    """Watch one router until cancelled: ``await RouterWatcher(cfg, emit=..., store=...).run()``.
    ``monotonic`` and ``sleep`` pace the poll cycles (tests drive them); ``slice_rows`` and
    ``slice_budget`` size the slices of a large delta; ``room`` (the state writer's) is awaited
    between slices."""

    def __init__(self, config: RouterConfig, *, emit: Emit, store: RouterStore | None = None,
                 clock: Callable[[], float] = time.time, supervisor: Supervisor | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 room: Callable[[], Awaitable[Any]] | None = None):
        self.config = config
        # the listen loops run supervised: a crash is logged and the loop restarts, never silently gone
        self._supervisor = supervisor or Supervisor(backoff=config.poll_interval, max_backoff=30.0)
        self._emit = emit
        self._store = store
        self._clock, self._monotonic, self._sleep, self._room = clock, monotonic, sleep, room
        self.slice_rows, self.slice_budget = 64, 0.002
        self._specs = [SPECS[w] for w in config.watch]
        self._subscribers = SubscriberDirectory(config.subscriber, config.name)
        self._known: dict[str, KnownSessions] = {}
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
        self._uptime = UptimeTracker()
        self._settle: SettleWindow | None = None
        self._gate = ConnectGate(first=config.poll_interval, kinds=("login", "version"), clock=clock)
        self._log = log.bind(router=config.name)
        for spec in self._specs:
            saved = store.load(config.name, spec.path) if store else None
            self._known[spec.path] = KnownSessions(saved or {})
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
        names = []
        if self.config.mode == "listen":
            for spec in self._specs:
                name = f"router:{self.config.name}:listen:{spec.path}"
                self._supervisor.spawn(name, lambda spec=spec: self._listen_loop(spec))
                names.append(name)
        try:
            await self._control_loop()
        finally:
            for name in names:
                with contextlib.suppress(BaseException):
                    await self._supervisor.cancel(name)
            for spec in self._specs:
                self._listening[spec.path] = False
            await self._close_control()

    # -- connections -----------------------------------------------------------------------------

    async def _connect(self) -> RouterClient:
        """Connect and log in. A refused login or an unsupported version closes the shared gate:
        every connection of this router waits (poll_interval doubling to 5 min) instead of retrying
        the password every poll; the failure is logged once per streak."""
        c = self.config
        self._gate.check()
        try:
            client = await RouterClient.for_router(c)
        except RouterError as exc:
            backoff = self._gate.failed(exc)
            if backoff is not None and backoff[1]:
                self._log.error("router_login_refused", error=str(exc), kind=exc.kind, retry_in_s=backoff[0])
            raise
        if self._gate.succeeded():
            self._log.info("router_login_ok", method=client.login_method)
        await self._note_boot(client)
        return client

    # -- reboots ---------------------------------------------------------------------------------

    async def _note_boot(self, client: RouterClient) -> None:
        """Every connect reads the uptime; one that went backwards opens the settle window before any
        snapshot of the rebooted router is applied (see reboot.py)."""
        info = self._uptime.observe(client.resource_row, self._clock())
        if info is None:
            return
        now = self._clock()
        self._log.warning("router_rebooted", old_uptime_s=info.old_uptime_s, uptime_s=info.uptime_s,
                          old_version=info.old_version, version=info.version, settle_s=self.config.reboot_settle)
        held = {s.path: dict(self._known[s.path]) for s in self._specs if self._baselined[s.path]}
        if self._settle is not None:  # rebooted again while settling: keep holding the first set
            held = self._settle.held
        self._settle = SettleWindow(info, now, now + self.config.reboot_settle, held)
        if self.config.reboot_settle <= 0:
            await self._settle_due()

    async def _reattach(self, spec: MenuSpec, key: str, row: dict[str, str]) -> bool:
        """A session that was online before the reboot is back: take it over without events."""
        old = self._settle.take_returning(spec.path, key) if self._settle else None
        if old is None:
            return False
        known = self._known[spec.path]
        known.pop(old, None)
        known[key] = make_record(spec, row, self._clock())
        if self._store:
            self._store.delete(self.config.name, spec.path, old)
            self._store.put(self.config.name, spec.path, key, known[key])
        self._log.info("router_session_back", menu=spec.path, session=key)
        return True

    async def _settle_due(self) -> None:
        """Close the window once due: the missing sessions end (router_rebooted), then one summary."""
        window = self._settle
        if window is None or self._clock() < window.until:
            return
        self._settle = None
        ended = 0
        for spec in self._specs:
            async with self._locks[spec.path]:
                slicer = self._slicer()
                for key in window.remaining().get(spec.path, []):
                    if key in self._known[spec.path]:
                        await self._end(spec, key, "router_rebooted")
                        ended += 1
                        await slicer.tick()
        await self._emit(Event("router.rebooted", self._source(), window.summary(ended)))
        self._log.info("router_reboot_settled", **window.summary(ended))

    async def _close_control(self) -> None:
        if self._control is not None:
            await self._control.close()
            self._control = None

    def _source(self) -> Source:
        return Source(kind="router", name=self.config.name, address=self.config.address,
                      labels=dict(self.config.labels), identity=self.identity)

    # -- control loop: reachability, polling, fallback -------------------------------------------

    def _slicer(self) -> Slicer:
        return Slicer(self.slice_rows, self.slice_budget, room=self._room)

    async def _control_loop(self) -> None:
        pace = FixedRate(self.config.poll_interval, self._monotonic())
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
            await self._settle_due()
            now = self._monotonic()
            delay = pace.delay(now)
            if pace.report(now):
                self._log.warning("router_poll_overrun", interval_s=self.config.poll_interval, late=pace.late)
            await self._sleep(delay)

    async def _failed(self, exc: RouterError) -> None:
        error = redact(str(exc))  # it goes into an event, the database and messages, not only logs
        now = self._clock()
        self._failures += 1
        if self._streak_since is None:
            self._streak_since = now
        gated = exc is self._gate.last_error and self._gate.closed  # logged once by _connect
        (self._log.debug if gated else self._log.warning)("router_poll_failed", error=str(exc), kind=exc.kind,
                                                          attempt=self._failures)
        if not self.down and self._failures >= self.config.down_after:
            self.down, self._down_since = True, self._streak_since
            self._reachable.clear()
            await self._emit(Event("router.down", self._source(),
                                   {"error": error, "down_for_s": round(now - self._streak_since, 3)}))
            if self._store:
                self._store.set_status(self.config.name, down=True, since=self._down_since, error=error)
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
                self._known[spec.path] = KnownSessions((k, make_record(spec, r, now)) for k, r in current.items())
                if self._store:
                    self._store.replace(self.config.name, spec.path, self._known[spec.path], now=now)
                self._baselined[spec.path] = True
                self._persisted_at[spec.path] = now
                self._log.info("router_baseline", menu=spec.path, sessions=len(current))
                return
            if self._first_sync[spec.path]:
                reason, self._first_sync[spec.path] = "while_stopped", False
            slicer = self._slicer()  # 10,000 rows are applied in slices; stop if the router went down meanwhile
            for key in [k for k in known if k not in current]:
                if not (self._settle and self._settle.is_held(spec.path, key)):
                    await self._end(spec, key, reason)
                    await slicer.tick()
                    if self.down:
                        return
            new = [k for k in current if k not in known]
            if client is not None and len(new) > 20 and self._subscribers.due(spec):
                await self._subscribers.refresh(client, spec)
            for key, row in current.items():
                if key in known:
                    known[key] = make_record(spec, row, now, known[key])
                    if self._settle:  # back with the very same .id
                        self._settle.mark_back(spec.path, key)
                elif not await self._reattach(spec, key, row):
                    await self._start(spec, key, row, client)
                await slicer.tick()
                if self.down:
                    return
            if self._store and now - self._persisted_at.get(spec.path, 0.0) >= _PERSIST_EVERY:
                keys = list(known)
                for i in range(0, len(keys), 500):  # ~50 ms of JSON for 10,000 sessions: in slices
                    self._store.put_many(self.config.name, spec.path, {k: known[k] for k in keys[i:i + 500]})
                    await slicer.handover()
                self._persisted_at[spec.path] = now

    async def _apply_update(self, spec: MenuSpec, row: dict[str, str], client: RouterClient) -> None:
        async with self._locks[spec.path]:
            if self.down:
                return
            known = self._known[spec.path]
            held = self._settle.held.get(spec.path, {}) if self._settle else {}
            # .ids restart at a reboot: a held session's old .id says nothing about the new ones
            same_id = [k for k in known.with_id(row.get(".id")) if k not in held] if ".id" in row else []
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
                if self._settle:
                    self._settle.mark_back(spec.path, key)
            elif not await self._reattach(spec, key, row):
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
