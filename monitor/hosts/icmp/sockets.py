"""Opening the engine's ICMP sockets: unprivileged datagram ICMP where allowed, raw otherwise.

One socket per address family carries every echo of the engine. A datagram ("ping") socket needs the
process's group inside ``net.ipv4.ping_group_range``; the kernel then rewrites the echo identifier
to the socket's local port and only hands us replies to our own echoes. A raw socket needs
CAP_NET_RAW and sees every ICMP packet on the host, so it gets a kernel-side type filter and our
identifier check.
"""

from __future__ import annotations

import errno
import os
import random
import socket
import struct
from dataclasses import dataclass

from ...errors import ProbeError
from . import bpf

# Linux socket options that the socket module does not name.
SOL_RAW = 255
ICMP_FILTER = 1  # SOL_RAW: bitmask of ICMPv4 types to *drop*
ICMP6_FILTER = 1  # IPPROTO_ICMPV6: 256-bit bitmap of ICMPv6 types to *drop*
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_RCVBUFFORCE = 33  # SOL_SOCKET: set the receive buffer past net.core.rmem_max (CAP_NET_ADMIN)

RCVBUF_BYTES = 4 * 1024 * 1024

FIX_MESSAGE = (
    "cannot open an ICMP socket: allow unprivileged ping with "
    "`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, or give pantau CAP_NET_RAW "
    "(run as root, `setcap cap_net_raw+ep`, or `docker run --cap-add NET_RAW`)"
)


@dataclass
class IcmpSocket:
    """An open, non-blocking ICMP socket of one family and how to talk over it."""

    sock: socket.socket
    family: int  # socket.AF_INET or socket.AF_INET6
    privileged: bool  # True: SOCK_RAW; False: SOCK_DGRAM ("ping socket")
    ident: int  # the echo identifier replies will carry

    @property
    def has_ip_header(self) -> bool:
        """Raw IPv4 sockets receive the IP header in front of the ICMP message; nothing else does."""
        return self.privileged and self.family == socket.AF_INET

    def close(self) -> None:
        self.sock.close()


def _tune(sock: socket.socket, privileged: bool) -> None:
    """A receive buffer big enough for a burst of replies (forced past rmem_max when we may)."""
    try:
        if privileged:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)


def _raw_filter(sock: socket.socket, family: int) -> None:
    """Let only echo replies and the errors we match (unreachable, time exceeded) reach user space."""
    if family == socket.AF_INET:
        wanted = (1 << 0) | (1 << 3) | (1 << 11)
        sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~wanted & 0xFFFFFFFF))
    else:
        blocked = [0xFFFFFFFF] * 8
        for icmp_type in (1, 3, 129):  # destination unreachable, time exceeded, echo reply
            blocked[icmp_type >> 5] &= ~(1 << (icmp_type & 31))
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *blocked))


def _drain(sock: socket.socket) -> None:
    """Discard what is queued on a fresh non-blocking socket."""
    for _ in range(100_000):
        try:
            sock.recv(2048)
        except OSError:  # BlockingIOError: empty
            return


def open_icmp_socket(family: int, privileged: bool) -> IcmpSocket:
    """Open one ICMP socket; raises OSError (EACCES/EPERM when not allowed, EAFNOSUPPORT, …)."""
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    kind = socket.SOCK_RAW if privileged else socket.SOCK_DGRAM
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        _tune(sock, privileged)
        if privileged:
            _raw_filter(sock, family)
            ident = (os.getpid() ^ random.getrandbits(16)) & 0xFFFF
            try:  # foreign ICMP dropped in the kernel; the type filter above still applies without it
                bpf.attach(sock, family, ident)
            except OSError:
                pass
            _drain(sock)  # what arrived before the filter was attached was not filtered
        else:
            # Ping sockets report ICMP errors only through the error queue, and only with RECVERR.
            if family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
                sock.bind(("0.0.0.0", 0))
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
                sock.bind(("::", 0))
            ident = sock.getsockname()[1]  # the kernel's identifier for every echo we send
    except BaseException:
        sock.close()
        raise
    return IcmpSocket(sock, family, privileged, ident)


def ping_group_allows() -> bool:
    """Whether ``net.ipv4.ping_group_range`` includes one of our groups (unprivileged ICMP)."""
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return False
    return any(low <= g <= high for g in {os.getgid(), *os.getgroups()})


_DENIED = (errno.EACCES, errno.EPERM)


def open_family(family: int, privileged: bool | None) -> IcmpSocket | None:
    """Open the best socket of ``family``: datagram first, raw as fallback (``privileged=None``).

    Returns None when the family does not exist here (no IPv6); raises ProbeError when ICMP is not
    permitted in the requested mode(s).
    """
    modes = [False, True] if privileged is None else [privileged]
    denied: list[str] = []
    for mode in modes:
        try:
            return open_icmp_socket(family, mode)
        except OSError as exc:
            if exc.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.EADDRNOTAVAIL):
                return None
            if exc.errno not in _DENIED:
                raise ProbeError(f"cannot open an ICMP socket: {exc.strerror or exc}") from None
            denied.append("raw" if mode else "datagram")
    raise ProbeError(f"{FIX_MESSAGE} (denied: {', '.join(denied)})")
