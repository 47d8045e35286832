"""Test hosts in network namespaces: a veth pair from the root namespace into a namespace of our own.

Addresses come from TEST-NET-2 (198.51.100.0/24, RFC 5737): documentation space, never routed,
never anybody's real or private network. Each host gets a /30 nobody on this machine uses yet
(chosen under a file lock, so test runs side by side do not collide). Every namespace is named
``pantau-t<pid>-<n>`` and is removed on exit, also when the test fails.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

_counter = itertools.count(1)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def netns_available() -> bool:
    """True when we may create namespaces and veth pairs here (root with iproute2)."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        return False
    probe = f"pantau-probe-{os.getpid()}"
    if _ip("netns", "add", probe, check=False).returncode != 0:
        return False
    _ip("netns", "del", probe, check=False)
    return True


@dataclass
class NetnsHost:
    """One test host at ``address`` reachable from the root namespace over a /30 veth link."""

    index: int
    subnet_base: int = 0  # 198.51.100.<base> .. <base+3>

    def __post_init__(self) -> None:
        n = self.index
        self.ns = f"pantau-t{os.getpid()}-{n}"
        self.host_if = f"pt{os.getpid() % 10000}h{n}"[:15]
        self.peer_if = f"pt{os.getpid() % 10000}p{n}"[:15]
        self.base = self.subnet_base

    def _addresses(self) -> None:
        self.local_address = f"198.51.100.{self.base + 1}"
        self.address = f"198.51.100.{self.base + 2}"

    def create(self) -> NetnsHost:
        with open("/tmp/pantau-nethost.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held until our address is assigned
            if not self.base:
                self.base = _free_base()
            self._addresses()
            self._create()
        return self

    def _create(self) -> None:
        _ip("netns", "add", self.ns)
        try:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
            _ip("link", "set", self.peer_if, "netns", self.ns)
            _ip("addr", "add", f"{self.local_address}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.ns, "addr", "add", f"{self.address}/30", "dev", self.peer_if)
            _ip("-n", self.ns, "link", "set", self.peer_if, "up")
            _ip("-n", self.ns, "link", "set", "lo", "up")
            # answer every echo and send every ICMP error at once: Linux's per-peer rate limit would
            # turn an expected "unreachable" into a "timeout" when tests run back to back
            _ip("netns", "exec", self.ns, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        except Exception:
            self.destroy()
            raise

    def down(self) -> None:
        """Take the host off the network: its interface goes down, echoes go unanswered."""
        _ip("-n", self.ns, "link", "set", self.peer_if, "down")

    def up(self) -> None:
        _ip("-n", self.ns, "link", "set", self.peer_if, "up")

    def destroy(self) -> None:
        _ip("link", "del", self.host_if, check=False)
        _ip("netns", "del", self.ns, check=False)

    def __enter__(self) -> NetnsHost:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def _free_base() -> int:
    """The first 198.51.100.x/30 whose addresses no interface here holds."""
    out = _ip("-o", "-4", "addr", "show").stdout
    used = {int(m) for m in re.findall(r"inet 198\.51\.100\.(\d+)/", out)}
    for base in range(4, 252, 4):
        if not used & set(range(base, base + 4)):
            return base
    raise RuntimeError("no free /30 left in 198.51.100.0/24 for a test host")


def new_host() -> NetnsHost:
    return NetnsHost(next(_counter))


class PrivateNamespace:
    """A network namespace of the test's own for the pinging side.

    A raw ICMP socket opened in it (tests/test_icmp_netns.py ``in_netns``) sees only the packets of
    the test hosts linked into it — not the foreign ICMP of fping, Smokeping or another test run on
    this machine, which every raw socket of the root namespace receives."""

    def __init__(self) -> None:
        self.name = f"pantau-c{os.getpid()}-{next(_counter)}"

    def create(self) -> PrivateNamespace:
        _ip("netns", "add", self.name)
        _ip("-n", self.name, "link", "set", "lo", "up")
        return self

    def adopt(self, host: NetnsHost) -> None:
        """Move ``host``'s near end of the link (and its address) from the root namespace into this one."""
        _ip("link", "set", host.host_if, "netns", self.name)
        _ip("-n", self.name, "addr", "add", f"{host.local_address}/30", "dev", host.host_if)
        _ip("-n", self.name, "link", "set", host.host_if, "up")

    def destroy(self) -> None:
        _ip("netns", "del", self.name, check=False)
