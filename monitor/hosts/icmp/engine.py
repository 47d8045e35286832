"""The one-socket ICMP engine: every echo of every host over one socket per address family.

Requests go out from one paced sender (token bucket, ``pps`` packets per second); replies are read in
the event loop's reader callback and matched by (destination, identifier, sequence) plus a payload
token; a single heap and one loop timer expire unanswered echoes. ICMP errors (unreachable, TTL
exceeded) are matched through the request they quote and fail their echo with a reason. Late,
duplicate, foreign and stale replies match nothing and are counted in ``stats`` and dropped.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import random
import socket
import struct
from collections import deque
from collections.abc import Callable, Iterable

import structlog

from ...errors import ProbeError
from ..probe import CheckResult
from . import packets
from .checks import Check, Echo, OnDone, literal_target
from .receive import make_reader
from .sockets import IcmpSocket, open_family

log = structlog.get_logger("pantau.icmp")

DEFAULT_PPS = 5000
NAME_TTL = 60.0  # seconds a resolved name is reused before resolving again
_IDSEQ = struct.Struct("!HH")
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.EACCES, errno.EINVAL,
             errno.EADDRNOTAVAIL, errno.ENETDOWN}


class IcmpEngine:
    """A Probe over one ICMP socket per family. Open it with :func:`open_icmp_engine`."""

    def __init__(self, sockets: Iterable[IcmpSocket], *, pps: int = DEFAULT_PPS):
        self._sockets = {s.family: s for s in sockets}
        if not self._sockets:
            raise ValueError("an ICMP engine needs at least one socket")
        self.pps = max(1, int(pps))
        # up to 100 ms of sends back to back: a scheduler tick goes out inline, without the sender task
        self._burst = max(1.0, min(512.0, self.pps / 10))
        self._tokens = self._burst
        self._refilled = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[Check] = deque()
        self._wake = asyncio.Event()
        self._pending: dict[bytes, Echo] = {}
        self._heap: list[tuple[float, int, Echo]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        # unwrapped send counter: sequence = counter & 0xFFFF, token = counter. A random start keeps two
        # engines that drew the same raw-socket identifier from also sharing sequences and tokens.
        self._counter = random.getrandbits(32)
        self._closed = False
        self._padding = b"\0" * (packets.PAYLOAD_SIZE - 4)
        self._names: dict[str, tuple[float, tuple[int, bytes, tuple]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._sender: asyncio.Task | None = None
        self._readers: list[Callable[[], None]] = []
        self._unread = 0  # echoes sent since the sockets were last read
        self._reading = False
        self.stats = {"sent": 0, "replies": 0, "errors": 0, "timeouts": 0, "ignored": 0, "send_errors": 0}

    @property
    def privileged(self) -> bool:
        return next(iter(self._sockets.values())).privileged

    @property
    def families(self) -> tuple[int, ...]:
        return tuple(self._sockets)

    def start(self) -> None:
        """Attach to the running loop: readers on the sockets, the paced sender task."""
        self._loop = loop = asyncio.get_running_loop()
        self._refilled = loop.time()
        for s in self._sockets.values():
            reader = make_reader(s, pending=self._pending, stats=self.stats, reply=self._reply,
                                 match=self._match, mark_read=self._mark_read)
            loop.add_reader(s.sock.fileno(), reader)
            self._readers.append(reader)
        self._sender = loop.create_task(self._send_loop(), name="pantau-icmp-sender")

    # ------------------------------------------------------------------ public API
    async def check(self, address: str, *, count: int = 1, timeout: float = 1.0,
                    interval: float = 1.0) -> CheckResult:
        """Send ``count`` echoes ``interval`` apart to ``address`` and wait ``timeout`` for each."""
        future = self._running_loop().create_future()

        def done(result: CheckResult) -> None:
            if not future.done():
                future.set_result(result)

        self.submit(address, count=count, timeout=timeout, interval=interval, on_done=done)
        return await future

    async def check_many(self, addresses: Iterable[str], *, count: int = 1, timeout: float = 1.0,
                         interval: float = 1.0) -> list[CheckResult]:
        """Check every address at once (paced at ``pps``); results in the order of ``addresses``."""
        addresses = list(addresses)
        results: list[CheckResult | None] = [None] * len(addresses)
        if not addresses:
            return []
        finished = self._running_loop().create_future()
        left = len(addresses)

        def done_at(index: int) -> OnDone:
            def done(result: CheckResult) -> None:
                nonlocal left
                results[index] = result
                left -= 1
                if left == 0 and not finished.done():
                    finished.set_result(None)
            return done

        for index, address in enumerate(addresses):
            self.submit(address, count=count, timeout=timeout, interval=interval, on_done=done_at(index))
        await finished
        return results  # type: ignore[return-value]

    def submit(self, address: str, *, count: int, timeout: float, interval: float, on_done: OnDone) -> None:
        """Start a check now and call ``on_done(result)`` from the loop when it is complete.

        Never raises for a per-host problem: an unresolvable name or a missing address family
        completes the check (asynchronously) with ``received == 0`` and a reason.
        """
        check = Check(address, max(1, int(count)), timeout, interval, on_done)
        target = literal_target(address)
        if target is None:
            cached = self._names.get(address)
            if cached is not None and cached[0] > self._running_loop().time():
                target = cached[1]
            else:
                task = self._running_loop().create_task(self._resolve_then_enqueue(check))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
        self._target(check, target)

    async def aclose(self) -> None:
        """Stop sending, close the sockets; checks still running complete with ``send_error: engine closed``."""
        self._closed = True
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = None
        for task in list(self._tasks):
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for s in self._sockets.values():
            if self._loop is not None and s.sock.fileno() >= 0:
                self._loop.remove_reader(s.sock.fileno())
            s.close()
        open_checks = {id(echo[0]): echo[0] for echo in self._pending.values()}
        open_checks.update((id(check), check) for check in self._queue)
        self._pending.clear()
        self._heap.clear()
        self._queue.clear()
        for check in open_checks.values():
            self._abandon(check)
        log.info("icmp.engine_closed", **self.stats)

    # ------------------------------------------------------------------ sending
    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self.start()
        assert self._loop is not None
        return self._loop

    async def _resolve_then_enqueue(self, check: Check) -> None:
        loop = self._running_loop()
        try:
            infos = await loop.getaddrinfo(check.address, None, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError, ValueError):
            infos = []
        except asyncio.CancelledError:  # aclose() while resolving: the caller still gets a result
            self._abandon(check)
            raise
        for family, _type, _proto, _canon, sockaddr in infos:
            if family in self._sockets:
                host = str(sockaddr[0]).split("%", 1)[0]
                packed = socket.inet_pton(family, host)
                target = (family, packed, sockaddr)
                self._names[check.address] = (loop.time() + NAME_TTL, target)
                self._target(check, target)
                return
        check.outcomes = ("unresolvable" if not infos else "no_route",)
        check.open = 0
        self._finish(check)

    def _target(self, check: Check, target: tuple[int, bytes, tuple]) -> None:
        check.family, check.packed, check.dest = target
        if check.address != target[2][0]:
            check.resolved = target[2][0]
        if check.family not in self._sockets:
            check.outcomes = ("no_route",)  # e.g. an IPv6 address on a host without IPv6
            check.open = 0
            self._loop.call_soon(self._finish, check)  # type: ignore[union-attr]
            return
        self._enqueue(check)

    def _abandon(self, check: Check) -> None:
        if check.open > 0:
            check.open = 0
            check.outcomes += ("send_error: engine closed",)
            self._finish(check)

    def _enqueue(self, check: Check) -> None:
        if self._closed:  # e.g. the next echo of a running check, due after aclose()
            self._abandon(check)
            return
        queue = self._queue
        if not queue:
            # Nothing waiting and the pace allows it: send right here, without waking the sender task.
            now = self._loop.time()  # type: ignore[union-attr]
            self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self.pps)
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                self._send(check, now)  # when congested, it requeues the check and wakes the sender
                return
            self._wake.set()
        queue.append(check)

    async def _send_loop(self) -> None:
        loop = self._running_loop()
        queue = self._queue
        while True:
            if not queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = loop.time()
            self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self.pps)
            self._refilled = now
            wanted = min(self._burst, len(queue))
            if self._tokens < wanted:  # wait for a whole burst rather than waking per packet
                await asyncio.sleep((wanted - self._tokens) / self.pps)
                continue
            self._tokens -= wanted
            congested = False
            for _ in range(int(wanted)):
                if not self._send(queue.popleft(), now):
                    congested = True
                    break
            self._drain()
            await asyncio.sleep(0.001 if congested else 0)

    def _mark_read(self) -> None:
        self._unread = 0

    def _drain(self) -> None:
        """Read what has arrived now, so a burst of replies cannot overflow the receive buffer."""
        if self._reading:  # called back from inside a reader (a consumer submitting from on_done)
            return
        self._unread = 0
        self._reading = True
        try:
            for reader in self._readers:
                reader()
        finally:
            self._reading = False

    def _send(self, check: Check, now: float) -> bool:
        """Send the next echo of ``check``; False when the socket is congested (check requeued)."""
        s = self._sockets[check.family]
        pending = self._pending
        while True:
            self._counter = counter = (self._counter + 1) & 0xFFFFFFFF
            key = check.packed + _IDSEQ.pack(s.ident, counter & 0xFFFF)
            if key not in pending:  # after wrap-around, skip a sequence still in flight
                break
        packet = packets.echo_request(check.family == socket.AF_INET6, s.ident, counter & 0xFFFF,
                                      counter, self._padding)
        error = None
        try:
            s.sock.sendto(packet, check.dest)
        except (BlockingIOError, InterruptedError):
            self._undo_send(check)
            return False
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                self._undo_send(check)
                return False
            try:  # a raw socket reports an earlier ICMP error on the next send: retry once
                s.sock.sendto(packet, check.dest)
            except OSError as again:
                error = again
        check.sent += 1
        if check.sent < check.count:
            self._loop.call_at(now + check.interval, self._enqueue, check)  # type: ignore[union-attr]
        if error is not None:
            self.stats["send_errors"] += 1
            reason = "no_route" if error.errno in _NO_ROUTE else f"send_error: {error.strerror or error}"
            self._fail(check, reason)
            return True
        self.stats["sent"] += 1
        echo = (check, key, counter.to_bytes(4, "big"), now)
        pending[key] = echo
        deadline = now + check.timeout
        heapq.heappush(self._heap, (deadline, counter, echo))
        if self._timer is None or deadline < self._timer_at:
            self._arm(deadline)
        self._unread += 1
        if self._unread >= 64:  # on loopback the replies are already queued: read before they overflow
            self._drain()
        return True

    def _undo_send(self, check: Check) -> None:
        """The socket is congested: put the check back in front and let the sender retry later."""
        self._queue.appendleft(check)
        self._wake.set()

    # ------------------------------------------------------------------ receiving
    def _match(self, parsed: packets.Parsed, now: float) -> None:
        destination, idseq, token, reason = parsed
        pending = self._pending
        echo = pending.get(destination + idseq)
        if echo is None or (token is None and reason is None) or (token is not None and token != echo[2]):
            self.stats["ignored"] += 1  # late, duplicate, foreign, or a stale sequence after wrap-around
            return
        if reason is None:
            self._reply(echo, now)
            return
        del pending[echo[1]]
        check = echo[0]
        self.stats["errors"] += 1
        check.outcomes += (reason,)
        check.open -= 1
        if check.open == 0:
            self._finish(check)
        if not pending:
            self._heap.clear()  # only answered echoes are left in it

    def _reply(self, echo: tuple, now: float) -> None:
        """The echo reply to ``echo`` arrived at ``now``."""
        pending = self._pending
        del pending[echo[1]]
        self.stats["replies"] += 1
        check = echo[0]
        check.outcomes += ((now - echo[3]) * 1000.0,)
        check.open -= 1
        if check.open == 0:
            self._finish(check)
        if not pending:
            self._heap.clear()  # only answered echoes are left in it

    def _fail(self, check: Check, reason: str) -> None:
        check.outcomes += (reason,)
        check.open -= 1
        if check.open == 0:
            self._loop.call_soon(self._finish, check)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ timeouts
    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._expire)  # type: ignore[union-attr]
        self._timer_at = when

    def _expire(self) -> None:
        self._timer = None
        heap, pending = self._heap, self._pending
        now = self._loop.time()  # type: ignore[union-attr]
        while heap and heap[0][0] <= now:
            echo = heapq.heappop(heap)[2]
            if pending.get(echo[1]) is not echo:
                continue  # answered already
            del pending[echo[1]]
            self.stats["timeouts"] += 1
            check = echo[0]
            check.outcomes += ("timeout",)
            check.open -= 1
            if check.open == 0:
                self._finish(check)
        if heap:
            self._arm(heap[0][0])

    def _finish(self, check: Check) -> None:
        try:
            check.on_done(check.result())
        except Exception as exc:  # a consumer's bug must not stop the engine
            log.error("icmp.callback_failed", host=check.address, error=f"{type(exc).__name__}: {exc}")

async def open_icmp_engine(*, privileged: bool | None = None, pps: int = DEFAULT_PPS) -> IcmpEngine:
    """Open the engine: unprivileged datagram ICMP when ``privileged`` is None and allowed, raw
    sockets otherwise. IPv6 is used when the host has it. Raises ProbeError (with the fix) when
    ICMP is not permitted at all."""
    sockets = [s for s in (open_family(socket.AF_INET, privileged), open_family(socket.AF_INET6, privileged))
               if s is not None]
    if not sockets:
        raise ProbeError("cannot open an ICMP socket: this host has neither IPv4 nor IPv6")
    engine = IcmpEngine(sockets, pps=pps)
    engine.start()
    log.info("icmp.engine_opened", privileged=engine.privileged, pps=engine.pps,
             families=[("ipv4" if f == socket.AF_INET else "ipv6") for f in engine.families],
             ident=sockets[0].ident)
    return engine
