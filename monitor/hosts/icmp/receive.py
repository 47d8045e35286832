"""Reading the engine's sockets: echo replies and ICMP errors, matched to echoes in flight.

Runs as the event loop's reader callback (and right after bursts of sends). Raw IPv4 replies take a
fast path that matches an echo reply without building a parse tuple; everything else goes through
``packets``. Ping sockets also drain their error queue, where the kernel puts ICMP errors about
our echoes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from . import packets
from .sockets import IP_RECVERR, IPV6_RECVERR, IcmpSocket

Match = Callable[[packets.Parsed, float], None]


def make_reader(s: IcmpSocket, *, pending: dict[bytes, Any], stats: dict[str, int],
                reply: Callable[[Any, float], None], match: Match,
                mark_read: Callable[[], None]) -> Callable[[], None]:
    """The reader callback for one socket. ``pending`` maps (address, id+seq) to echoes in flight;
    ``reply`` takes a matched raw echo reply, ``match`` any other parsed packet; ``mark_read`` is
    called at the start of every read (the engine counts echoes sent since the last one)."""
    sock, family = s.sock, s.family
    v6 = family == socket.AF_INET6
    pton = socket.inet_pton
    monotonic = time.monotonic  # the clock of loop.time(), without a method call per packet
    if s.has_ip_header:

        def read() -> None:
            mark_read()
            for _ in range(10_000):  # bounded: a flood must not starve the loop
                try:
                    data = sock.recv(2048)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    continue  # an ICMP error surfacing as a socket error; its packet follows as data
                start = (data[0] & 0x0F) << 2
                if data[start] == packets.ECHO_REPLY_V4 and len(data) >= start + 12:  # fast path
                    echo = pending.get(data[12:16] + data[start + 4:start + 8])
                    if echo is not None and echo[2] == data[start + 8:start + 12]:
                        reply(echo, monotonic())
                    else:
                        stats["ignored"] += 1
                    continue
                parsed = packets.parse_v4(data, True, None)
                if parsed is not None:
                    match(parsed, monotonic())
        return read

    def read_from() -> None:
        mark_read()
        if not s.privileged:
            drain_error_queue(s, match)
        for _ in range(10_000):
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            source = pton(family, addr[0].split("%", 1)[0])
            parsed = packets.parse_v6(data, source) if v6 else packets.parse_v4(data, False, source)
            if parsed is not None:
                match(parsed, monotonic())
    return read_from

def drain_error_queue(s: IcmpSocket, match: Match) -> None:
    """Ping sockets deliver ICMP errors about our echoes only via the error queue (RECVERR)."""
    level, kind = ((socket.IPPROTO_IP, IP_RECVERR) if s.family == socket.AF_INET
                   else (socket.IPPROTO_IPV6, IPV6_RECVERR))
    for _ in range(10_000):
        try:
            data, ancillary, _flags, addr = s.sock.recvmsg(2048, 1024, socket.MSG_ERRQUEUE)
        except OSError:
            return
        extended = next((d for lv, ty, d in ancillary if lv == level and ty == kind), b"")
        try:
            destination = socket.inet_pton(s.family, addr[0].split("%", 1)[0])
        except (OSError, ValueError, IndexError, TypeError):
            continue
        parsed = packets.parse_error_queue(extended, data, destination)
        if parsed is not None:
            match(parsed, time.monotonic())
