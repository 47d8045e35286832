"""The host loop: check a host every ``interval``, feed the detector, emit host.down / host.up."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from ..config.model import HostCheck
from ..errors import RouterError
from ..events import Event, Source
from .detector import Detector, State, Transition
from .pace import echo_spacing
from .probe import CheckResult, Probe
from .state import HostStateStore

log = structlog.get_logger("pantau.hosts")

Emit = Callable[[Event], Awaitable[None]]


def judge(host: HostCheck, result: CheckResult) -> tuple[bool, str | None]:
    """Whether a check counts as good, and why not. Default: fails only if every echo was lost."""
    if result.received == 0:
        return False, result.reason or "timeout"
    if host.max_loss is not None and result.loss > host.max_loss + 1e-9:
        return False, f"loss {result.loss:.0%} > {host.max_loss:.0%}"
    avg = result.rtt_avg_ms
    if host.max_rtt is not None and avg is not None and avg > host.max_rtt * 1000:
        return False, f"rtt {avg:.1f}ms > {host.max_rtt * 1000:g}ms"
    return True, None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def host_event(host: HostCheck, t: Transition, result: CheckResult, reason: str | None) -> Event:
    source = Source(kind="host", name=host.name, address=host.address, labels=dict(host.labels))
    at = datetime.fromtimestamp(t.at, UTC)
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    base = {"loss": round(result.loss, 4), "rtt_avg_ms": _rounded(result.rtt_avg_ms)}
    if t.current is State.DOWN:
        return Event("host.down", source, {**base, "reason": reason, "checks_failed": t.streak}, at=at)
    down_for = t.duration_in_previous
    return Event("host.up", source, {**base, "down_for_s": None if down_for is None else round(down_for, 3),
                                     "checks_ok": t.streak}, at=at)


class HostMonitor:
    """One host's detector. ``observe`` is synchronous (no I/O but the state store's buffer) so it
    can run from the ICMP scheduler's callback; ``run`` is the task-per-host loop for other probes."""

    def __init__(self, host: HostCheck, probe: Probe | None, emit: Emit, *, store: HostStateStore | None = None,
                 initial: tuple[State, float] | None = None, clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random):
        self.host = host
        self.probe = probe
        self.emit = emit
        self.store = store
        self.clock = clock
        self.rng = rng
        state, since = initial or (State.UNKNOWN, None)
        self.detector = Detector(host.down_after, host.up_after, state=state, since=since)
        self.checks = self.failures = 0  # counted for /metrics; read at scrape time, never pushed
        self.last: CheckResult | None = None
        # the per-check debug line costs ~7 % of `pantau run` at 100k hosts even when filtered out
        # (its arguments are built before the filter): asked once, as the level is set at start-up
        self.debug = log.is_enabled_for(logging.DEBUG)

    def observe(self, result: CheckResult, now: float) -> Event | None:
        """Judge one result at time ``now``; return the event to announce, if any.

        The new state is handed to the store's write buffer, which the engine flushes after the
        event was emitted (emit first, then persist: at-least-once, never lost)."""
        ok, reason = judge(self.host, result)
        self.checks += 1
        self.failures += not ok
        self.last = result
        if self.debug:
            log.debug("check", host=self.host.name, ok=ok, loss=result.loss,
                      rtt_avg_ms=_rounded(result.rtt_avg_ms), reason=reason)
        t = self.detector.observe(ok, now)
        if t is None:
            return None
        event = host_event(self.host, t, result, reason)
        log.info("transition", host=self.host.name, address=self.host.address, previous=t.previous.value,
                 state=t.current.value, streak=t.streak, reason=reason, announce=t.announce,
                 event_id=event.id if t.announce else None)
        if self.store is not None:
            self.store.mark(self.host.name, self.host.address, t.current, t.at)
        return event if t.announce else None

    async def handle(self, result: CheckResult, now: float) -> Event | None:
        """``observe``, then emit the event and persist the state (task-per-host path and tests)."""
        event = self.observe(result, now)
        if event is not None:
            await self.emit(event)
        if self.store is not None:
            self.store.flush()
        return event

    async def run(self) -> None:
        """Check forever at a fixed rate, starting at a random offset within the interval."""
        assert self.probe is not None
        loop = asyncio.get_running_loop()
        interval = self.host.interval
        await asyncio.sleep(self.rng() * interval)
        next_at = loop.time()
        while True:
            try:
                result = await self.probe.check(self.host.address, count=self.host.count,
                                                timeout=self.host.timeout, interval=echo_interval(self.host))
                await self.handle(result, self.clock())
            except asyncio.CancelledError:
                raise
            except RouterError as exc:  # via: the router is unreachable: no verdict on the host
                log.debug("host.check_skipped", host=self.host.name, via=self.host.via, error=str(exc))
            except Exception as exc:  # degrade: this host's loop survives anything but cancellation
                log.error("host.loop_error", host=self.host.name, error=f"{type(exc).__name__}: {exc}")
            next_at += interval
            now = loop.time()
            if next_at < now:  # the check overran: skip missed slots instead of bursting
                next_at = now
            await asyncio.sleep(next_at - now)


def echo_interval(host: HostCheck) -> float:
    """Spacing of the echoes within one check: short, and well inside the interval."""
    return echo_spacing(host.interval)
