"""The simulator's ``/ping``: which addresses answer is decided by the simulated router, steerable by tests.

RouterOS streams one ``!re`` per echo (``seq``, ``host``, ``size``, ``ttl``, ``time`` for a reply or
``status=timeout`` for a loss) carrying the running totals ``sent``, ``received``, ``packet-loss``
(percent) and ``min-rtt``/``avg-rtt``/``max-rtt``, then ``!done``. v6 prints times as whole
milliseconds (``1ms``); v7 adds microseconds (``1ms432us``, ``325us``).

By default nothing answers (an unknown address times out, as on a real router). Script it with
``PingTargets.set(address, pattern="!!.!", rtt_ms=1.5)``: ``!`` answers, ``.`` is lost, and the
pattern repeats across pings of that address, so loss is deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class PingTarget:
    pattern: str = "!"  # "!" reply, "." lost; cycles over every echo ever sent to the address
    rtt_ms: float = 1.0
    ttl: int = 64
    position: int = 0  # echoes sent so far (index into pattern)

    def next_reply(self) -> bool:
        answered = self.pattern[self.position % len(self.pattern)] == "!"
        self.position += 1
        return answered


def format_ping_time(ms: float, *, v6: bool) -> str:
    """An RTT the way RouterOS prints it: v6 ``3ms``; v7 ``3ms120us`` / ``450us``."""
    if v6:
        return f"{int(round(ms))}ms"
    us = int(round(ms * 1000))
    whole, rest = divmod(us, 1000)
    if whole and rest:
        return f"{whole}ms{rest}us"
    return f"{whole}ms" if whole else f"{rest}us"


class PingTargets:
    """The simulated router's view of which hosts answer, plus load counters for tests/benchmarks."""

    def __init__(self) -> None:
        self.targets: dict[str, PingTarget] = {}
        self.started = 0  # /ping commands accepted
        self.echoes = 0  # echo requests "sent" by the router
        self.running = 0  # /ping commands in progress now
        self.max_running = 0  # the most ever in progress at once (per-router concurrency tests)

    def set(self, address: str, *, pattern: str = "!", rtt_ms: float = 1.0, ttl: int = 64) -> None:
        """Make ``address`` answer per ``pattern`` (``"!"`` always, ``"."`` never, ``"!!.."`` half)."""
        if not pattern or set(pattern) - {"!", "."}:
            raise ValueError(f"ping pattern must be made of '!' and '.', got {pattern!r}")
        self.targets[address] = PingTarget(pattern=pattern, rtt_ms=rtt_ms, ttl=ttl)

    def set_down(self, address: str) -> None:
        self.set(address, pattern=".")

    def forget(self, address: str) -> None:
        self.targets.pop(address, None)


def _parse_seconds(text: str | None, default: float) -> float:
    from ...config.durations import parse_routeros_duration

    if not text:
        return default
    try:
        return parse_routeros_duration(text)
    except ValueError:
        return float(text)  # a bare number is seconds on RouterOS


async def run_ping(targets: PingTargets, attrs: dict[str, str], send: Callable[..., None],
                   tag_words: list[str], *, v6: bool) -> None:
    """Stream the ``!re`` rows of one ``/ping`` and its ``!done``. Raises ValueError on bad arguments
    (the caller answers ``!trap``); cancelled by ``/cancel`` or a dropped connection."""
    address = attrs.get("address", "")
    count = int(attrs.get("count", "4"))  # RouterOS pings forever without count; the API user sets one
    interval = _parse_seconds(attrs.get("interval"), 1.0)
    size = int(attrs.get("size", "56"))
    target = targets.targets.get(address)
    targets.started += 1
    targets.running += 1
    targets.max_running = max(targets.max_running, targets.running)
    sent = received = 0
    rtts: list[float] = []
    try:
        for seq in range(count):
            if seq:
                await asyncio.sleep(interval)
            sent += 1
            targets.echoes += 1
            row = {".section": str(seq), "seq": str(seq), "host": address, "size": str(size)}
            if target is not None and target.next_reply():
                received += 1
                rtts.append(target.rtt_ms)
                row.update({"ttl": str(target.ttl), "time": format_ping_time(target.rtt_ms, v6=v6)})
            else:
                row["status"] = "timeout"
            row.update({"sent": str(sent), "received": str(received),
                        "packet-loss": str((sent - received) * 100 // sent)})
            if rtts:
                row.update({"min-rtt": format_ping_time(min(rtts), v6=v6),
                            "avg-rtt": format_ping_time(sum(rtts) / len(rtts), v6=v6),
                            "max-rtt": format_ping_time(max(rtts), v6=v6)})
            send(["!re", *(f"={k}={v}" for k, v in row.items()), *tag_words])
        send(["!done", *tag_words])
    finally:
        targets.running -= 1


def validate_ping(attrs: dict[str, str]) -> str | None:
    """The trap message RouterOS would give for these arguments, or None when they are fine."""
    if not attrs.get("address"):
        return "missing value(s) of argument(s) address"
    for key in ("count", "size"):
        if key in attrs and not attrs[key].isdigit():
            return f"invalid value for argument {key}"
    with contextlib.suppress(ValueError):
        _parse_seconds(attrs.get("interval"), 1.0)
        return None
    return "invalid value for argument interval"
