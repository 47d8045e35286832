"""The raw socket's kernel filter: only our echo replies and errors about our echoes get through.

The program is checked twice: instruction by instruction with a small interpreter of classic BPF
(crafted packets of every kind, IPv4 with options, truncated packets), and in the kernel, where
another pinger's replies on loopback must never reach the engine's reader.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

import pytest

from monitor.errors import ProbeError
from monitor.hosts.icmp import bpf
from monitor.hosts.icmp.engine import open_icmp_engine
from monitor.hosts.icmp.packets import checksum

OURS, THEIRS = 0x4242, 0x4243


def run(program: list[bpf.Instruction], packet: bytes) -> int:
    """Classic BPF as the kernel runs it: the accepted length, 0 for drop; loads past the end drop."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == bpf.RET_K:
            return k
        if code in (bpf.LD_B_ABS, bpf.LD_H_ABS, bpf.LD_B_IND, bpf.LD_H_IND):
            offset = k + (x if code in (bpf.LD_B_IND, bpf.LD_H_IND) else 0)
            size = 1 if code in (bpf.LD_B_ABS, bpf.LD_B_IND) else 2
            if offset + size > len(packet):
                return 0
            a = int.from_bytes(packet[offset:offset + size], "big")
        elif code == bpf.LDX_B_MSH:
            if k >= len(packet):
                return 0
            x = (packet[k] & 0x0F) << 2
        elif code == bpf.TAX:
            x = a
        elif code == bpf.AND_K:
            a &= k
        elif code == bpf.LSH_K:
            a = (a << k) & 0xFFFFFFFF
        elif code == bpf.ADD_K:
            a = (a + k) & 0xFFFFFFFF
        elif code == bpf.ADD_X:
            a = (a + x) & 0xFFFFFFFF
        elif code == bpf.JEQ_K:
            pc += jt if a == k else jf
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def icmp(kind: int, ident: int, body: bytes = b"pantau!!") -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, 7) + body


def ipv4(payload: bytes, options: bytes = b"") -> bytes:
    ihl = (20 + len(options)) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) + len(payload), 0, 0, 64, 1, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    return header + options + payload


def error_v4(kind: int, quoted_ident: int, quoted_options: bytes = b"") -> bytes:
    quoted = ipv4(icmp(8, quoted_ident), quoted_options)[: 20 + len(quoted_options) + 8]
    return ipv4(struct.pack("!BBHI", kind, 1, 0, 0) + quoted)


V4_CASES = [
    ("our echo reply", ipv4(icmp(0, OURS)), True),
    ("our echo reply, IP options", ipv4(icmp(0, OURS), b"\x01" * 8), True),
    ("foreign echo reply", ipv4(icmp(0, THEIRS)), False),
    ("echo request", ipv4(icmp(8, OURS)), False),
    ("unreachable quoting our echo", error_v4(3, OURS), True),
    ("time exceeded quoting our echo", error_v4(11, OURS), True),
    ("unreachable quoting our echo with options", error_v4(3, OURS, b"\x01" * 4), True),
    ("unreachable quoting a foreign echo", error_v4(3, THEIRS), False),
    ("redirect", ipv4(icmp(5, OURS)), False),
    ("truncated error", error_v4(3, OURS)[:30], False),
]


@pytest.mark.parametrize(("what", "packet", "passes"), V4_CASES, ids=[c[0] for c in V4_CASES])
def test_ipv4_program(what, packet, passes):
    assert bool(run(bpf.ident_program(socket.AF_INET, OURS), packet)) is passes


def error_v6(kind: int, quoted_ident: int) -> bytes:
    quoted = b"\x60" + b"\0" * 39 + icmp(128, quoted_ident)
    return struct.pack("!BBHI", kind, 0, 0, 0) + quoted


V6_CASES = [
    ("our echo reply", icmp(129, OURS), True),
    ("foreign echo reply", icmp(129, THEIRS), False),
    ("echo request", icmp(128, OURS), False),
    ("unreachable quoting our echo", error_v6(1, OURS), True),
    ("time exceeded quoting our echo", error_v6(3, OURS), True),
    ("unreachable quoting a foreign echo", error_v6(1, THEIRS), False),
    ("neighbour solicitation", icmp(135, OURS), False),
]


@pytest.mark.parametrize(("what", "packet", "passes"), V6_CASES, ids=[c[0] for c in V6_CASES])
def test_ipv6_program(what, packet, passes):
    assert bool(run(bpf.ident_program(socket.AF_INET6, OURS), packet)) is passes


def _foreign_pinger(count: int) -> int:
    """Ping 127.0.0.1 ``count`` times from a second raw socket with another identifier; returns
    how many replies that socket itself saw (so we know the kernel delivered them)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.settimeout(0.5)
    ident = (os.getpid() + 7) & 0xFFFF
    seen = 0
    try:
        for batch in range(0, count, 20):  # in batches, so this socket's own buffer never overflows
            for seq in range(batch, min(count, batch + 20)):
                header = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"foreign!"
                packet = header[:2] + struct.pack("!H", checksum(header)) + header[4:]
                sock.sendto(packet, ("127.0.0.1", 0))
            want = min(count, batch + 20)
            while seen < want:
                try:
                    data = sock.recv(2048)
                except TimeoutError:
                    break
                start = (data[0] & 0x0F) << 2
                if data[start] == 0 and struct.unpack("!H", data[start + 4:start + 6])[0] == ident:
                    seen += 1
    finally:
        sock.close()
    return seen


async def test_foreign_echo_replies_never_reach_the_engine():
    """A second raw socket pings loopback 300 times: its replies reach it, none reaches our reader
    (the engine's ``ignored`` counter stays 0), and our own checks still come back."""
    if os.geteuid() != 0:
        pytest.skip("needs a raw ICMP socket (root / CAP_NET_RAW)")
    try:
        engine = await open_icmp_engine(privileged=True, pps=20000)
    except ProbeError as exc:
        pytest.skip(f"no raw ICMP here: {exc}")
    try:
        assert engine.privileged
        seen = await asyncio.to_thread(_foreign_pinger, 300)
        assert seen >= 290  # the kernel did deliver them, to the other socket
        await asyncio.sleep(0.05)
        result = await engine.check("127.0.0.1", count=2, timeout=1.0, interval=0.01)
        assert (result.sent, result.received) == (2, 2)
        assert engine.stats["ignored"] == 0
    finally:
        await engine.aclose()
