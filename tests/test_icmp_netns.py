"""The ICMP engine against test hosts in network namespaces (198.51.100.0/24 over veth links).

Produces for real what tests/test_icmp_packets.py feeds as bytes: hosts going down, ICMP
unreachable and admin-prohibited from a host's routing table, local no-route, late, duplicate and
foreign replies (sent by a raw socket inside the namespace), and the unprivileged ping-socket mode.
Every address used is a namespace's, or one routed into a namespace before any echo leaves.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Callable

import pytest

from monitor.errors import ProbeError
from monitor.hosts.icmp import packets
from monitor.hosts.icmp.engine import IcmpEngine, open_icmp_engine
from monitor.hosts.icmp.scheduler import IcmpScheduler
from monitor.hosts.icmp.sockets import open_family, open_icmp_socket
from tests.nethost import NetnsHost, netns_available

pytestmark = pytest.mark.skipif(not netns_available(), reason="needs root and iproute2 for network namespaces")

CLONE_NEWNET = 0x40000000
# Addresses nethost never assigns ((4n) % 252 + 1..2 stays below .252): routed into a namespace here.
UNREACHABLE, PROHIBITED, NO_ROUTE = "198.51.100.254", "198.51.100.253", "198.51.100.252"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def in_netns(ns: str, fn: Callable[[], object]) -> object:
    """Run ``fn`` in a thread that has joined namespace ``ns``: sockets it opens live there."""
    box: dict[str, object] = {}

    def target() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                box["error"] = OSError(ctypes.get_errno(), "setns failed")
                return
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            os.close(fd)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def drop_route(address: str) -> None:
    subprocess.run(["ip", "route", "del", f"{address}/32"], capture_output=True)


def routed_via(address: str, dev: str) -> bool:
    out = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True).stdout
    return f"dev {dev}" in out


@pytest.fixture
def hosts():
    """Three namespace hosts on /30 links nobody else on this machine uses."""
    made = [NetnsHost(900 + i).create() for i in range(3)]
    yield made
    for h in made:
        h.destroy()


@pytest.fixture
async def engine():
    e = await open_icmp_engine(privileged=True, pps=2000)
    yield e
    await e.aclose()


async def test_hosts_taken_down_mid_run_are_reported_down_and_the_rest_stay_up(hosts, engine):
    """A host whose link goes down fails with ``timeout`` while the others keep answering; back up, it answers."""
    addresses = [h.address for h in hosts]
    first = await engine.check_many(addresses, timeout=0.5)
    assert [r.received for r in first] == [1, 1, 1]
    hosts[1].down()
    for _ in range(2):
        during = await engine.check_many(addresses, timeout=0.3)
        assert [r.received for r in during] == [1, 0, 1]
        assert during[1].reason == "timeout"
    hosts[1].up()
    for _ in range(20):  # the veth needs a moment to carry traffic again
        after = await engine.check_many(addresses, timeout=0.3)
        if after[1].received:
            break
    assert [r.received for r in after] == [1, 1, 1]


async def test_scheduler_reports_a_host_down_mid_run_and_keeps_the_rest_up(hosts, engine):
    """Under the interval scheduler, a namespace host taken down yields only failed results after
    the change while the other hosts, and loopback ones alongside, keep answering."""
    loop = asyncio.get_running_loop()
    log: list[tuple[float, object, int]] = []
    scheduler = IcmpScheduler(engine, lambda key, r: log.append((loop.time(), key, r.received)), tick=0.01)
    targets = {i: h.address for i, h in enumerate(hosts)} | {"lo": "127.0.0.9"}
    for key, address in targets.items():
        scheduler.add(key, address, interval=0.1, timeout=0.08)
    await asyncio.sleep(0.35)
    hosts[2].down()
    went_down = loop.time()
    await asyncio.sleep(0.5)
    await scheduler.aclose()
    after = [(key, ok) for at, key, ok in log if at > went_down + 0.1]
    assert {key for key, _ in after} == set(targets)
    assert all(ok == 0 for key, ok in after if key == 2)
    assert all(ok == 1 for key, ok in after if key != 2)
    assert all(ok == 1 for at, key, ok in log if at < went_down)


async def test_real_unreachable_prohibited_and_no_route(hosts, engine):
    """A namespace router answers with ICMP host-unreachable / admin-prohibited; a local unreachable
    route makes the send itself fail (``no_route``). A healthy host in the same batch stays up."""
    router = hosts[0]
    # forward (so it answers for routes it holds) and send ICMP errors without Linux's per-peer rate limit
    ip("netns", "exec", router.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.icmp_ratelimit=0")
    ip("-n", router.ns, "route", "add", "unreachable", f"{UNREACHABLE}/32")
    ip("-n", router.ns, "route", "add", "prohibit", f"{PROHIBITED}/32")
    try:
        ip("route", "replace", f"{UNREACHABLE}/32", "via", router.address, "dev", router.host_if)
        ip("route", "replace", f"{PROHIBITED}/32", "via", router.address, "dev", router.host_if)
        ip("route", "replace", "unreachable", f"{NO_ROUTE}/32")
        assert routed_via(UNREACHABLE, router.host_if) and routed_via(PROHIBITED, router.host_if)
        batch = [UNREACHABLE, hosts[1].address, PROHIBITED, NO_ROUTE, PROHIBITED]
        results = await engine.check_many(batch, timeout=1.0)
        assert [(r.received, r.reason) for r in results] == [
            (0, "unreachable"), (1, None), (0, "unreachable"), (0, "no_route"), (0, "unreachable")]
        assert results[3].sent == 1
        assert engine.stats["errors"] == 3
        assert (await engine.check(hosts[2].address, count=1, timeout=0.5, interval=1)).received == 1
    finally:
        for address in (UNREACHABLE, PROHIBITED, NO_ROUTE):
            drop_route(address)


def _reply_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(2.0)
    return sock


def _capture_request(sock: socket.socket) -> bytes:
    """The next echo request the namespace receives (ICMP part)."""
    while True:
        data = sock.recv(2048)
        start = (data[0] & 0x0F) << 2
        if data[start] == packets.ECHO_REQUEST_V4:
            return data[start:]


def _as_reply(request: bytes, *, ident: int | None = None) -> bytes:
    body = bytearray(request)
    body[0] = packets.ECHO_REPLY_V4
    if ident is not None:
        body[4:6] = struct.pack("!H", ident)
    body[2:4] = b"\0\0"
    body[2:4] = struct.pack("!H", packets.checksum(bytes(body)))
    return bytes(body)


async def test_real_late_duplicate_and_foreign_replies_are_ignored(hosts, engine):
    """Replies crafted inside the namespace reach the engine over the veth and are all dropped:
    one after its echo timed out and a second copy of an answered echo reach the reader and are
    ignored; one with a foreign id never reaches it (the kernel filter drops it)."""
    host = hosts[0]
    raw = in_netns(host.ns, _reply_socket)
    loop = asyncio.get_running_loop()
    try:
        ip("netns", "exec", host.ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        pending = asyncio.ensure_future(engine.check(host.address, count=1, timeout=0.2, interval=1))
        request = await loop.run_in_executor(None, _capture_request, raw)
        timed_out = await pending
        assert timed_out.reason == "timeout" and timed_out.received == 0
        ignored = engine.stats["ignored"]
        raw.sendto(_as_reply(request), (host.local_address, 0))  # late
        raw.sendto(_as_reply(request, ident=(struct.unpack("!H", request[4:6])[0] + 1) & 0xFFFF),
                   (host.local_address, 0))  # foreign identifier
        await _until(lambda: engine.stats["ignored"] >= ignored + 1)

        ip("netns", "exec", host.ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0")
        answered = asyncio.ensure_future(engine.check(host.address, count=1, timeout=1.0, interval=1))
        request = await loop.run_in_executor(None, _capture_request, raw)
        result = await answered
        assert result.received == 1 and result.reason is None
        raw.sendto(_as_reply(request), (host.local_address, 0))  # duplicate of the answered echo
        await _until(lambda: engine.stats["ignored"] >= ignored + 2)
        assert engine.stats["ignored"] == ignored + 2  # late + duplicate; the foreign one never arrived
        again = await engine.check(host.address, count=2, timeout=1.0, interval=0.05)
        assert again.received == 2
    finally:
        raw.close()


async def test_unprivileged_ping_socket_in_a_namespace(hosts):
    """Where ping_group_range allows it, the engine runs on a datagram ICMP socket: the kernel rewrites
    the identifier to the socket's port, replies still match, and an ICMP error arrives via the error queue."""
    host = hosts[0]
    ip("netns", "exec", host.ns, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
    with pytest.raises(ProbeError, match="ping_group_range"):
        in_netns(host.ns, lambda: open_family(socket.AF_INET, False))
    ip("netns", "exec", host.ns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
    dgram = in_netns(host.ns, lambda: open_icmp_socket(socket.AF_INET, False))
    dgram6 = in_netns(host.ns, lambda: open_family(socket.AF_INET6, False))  # None without IPv6
    engine = IcmpEngine([dgram] + ([dgram6] if dgram6 else []), pps=1000)
    engine.start()
    raw = None
    try:
        assert not engine.privileged and dgram.ident == dgram.sock.getsockname()[1]
        results = await engine.check_many(["127.0.0.1", host.address, host.local_address], timeout=1.0)
        assert [r.received for r in results] == [1, 1, 1]
        if dgram6 is not None:
            assert (await engine.check("::1", count=2, timeout=1.0, interval=0.01)).received == 2

        ip("netns", "exec", host.ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        raw = in_netns(host.ns, _reply_socket)  # opened now: it must not hold the echoes above
        pending = asyncio.ensure_future(engine.check(host.address, count=1, timeout=2.0, interval=1))
        request = await asyncio.get_running_loop().run_in_executor(None, _capture_request, raw)
        assert struct.unpack("!H", request[4:6])[0] == dgram.ident  # rewritten by the kernel
        own = socket.inet_aton(host.address)
        quoted = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(request), 0, 0, 64, 1, 0, own, own) + request
        error = struct.pack("!BBHI", 3, 1, 0, 0) + quoted
        error = error[:2] + struct.pack("!H", packets.checksum(error)) + error[4:]
        raw.sendto(error, (host.address, 0))
        result = await asyncio.wait_for(pending, 1.5)
        assert (result.received, result.reason) == (0, "unreachable")
    finally:
        await engine.aclose()
        if raw is not None:
            raw.close()


async def _until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
