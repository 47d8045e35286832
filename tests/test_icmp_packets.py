"""Wire-level corner cases of the ICMP engine: packet building, parsing and reply matching.

These feed crafted bytes to the parser and demultiplexer directly; tests/test_icmp_netns.py produces
the same situations for real over a veth link.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from monitor.hosts.icmp import packets
from monitor.hosts.icmp.engine import IcmpEngine
from monitor.hosts.icmp.sockets import open_icmp_socket

V4 = socket.inet_pton(socket.AF_INET, "127.1.2.3")
V6 = socket.inet_pton(socket.AF_INET6, "2001:db8::7")
PAD = b"\0" * (packets.PAYLOAD_SIZE - 4)


def ip_header(src: bytes, dst: bytes, *, options: bytes = b"", proto: int = 1) -> bytes:
    ihl = (20 + len(options)) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 0, 0, 0, 64, proto, 0, src, dst) + options


def echo(icmp_type: int, ident: int, seq: int, token: int) -> bytes:
    return struct.pack("!BBHHHI", icmp_type, 0, 0, ident, seq, token) + PAD


def test_echo_request_checksum_is_valid_for_every_sequence_edge():
    """The O(1) IPv4 checksum equals a full RFC 1071 sum: a correct packet sums to zero."""
    for ident, seq, token in [(0, 0, 0), (0xFFFF, 0xFFFF, 0xFFFFFFFF), (0x1234, 0xFFFF, 0x0001FFFF), (7, 1, 65536)]:
        packet = packets.echo_request(False, ident, seq, token, PAD)
        assert len(packet) == 8 + packets.PAYLOAD_SIZE
        assert packets.checksum(packet) == 0, (ident, seq, token)
        assert struct.unpack("!HHI", packet[4:12]) == (ident, seq, token)


def test_echo_reply_with_ip_options_is_parsed_past_the_options():
    """A raw IPv4 reply whose header carries options (IHL 6) still yields its identifier and token."""
    data = ip_header(V4, b"\x7f\0\0\1", options=b"\x01\x01\x01\x00") + echo(0, 0x4242, 9, 77)
    assert packets.parse_v4(data, True, None) == (V4, struct.pack("!HH", 0x4242, 9), (77).to_bytes(4, "big"), None)


def test_unreachable_and_ttl_exceeded_point_at_the_quoted_destination():
    """ICMP errors come from a router, so they are matched by the destination of the quoted echo."""
    router = socket.inet_pton(socket.AF_INET, "198.51.100.1")
    quoted = ip_header(b"\x7f\0\0\1", V4) + echo(8, 5, 6, 99)
    for icmp_type, reason in [(3, "unreachable"), (11, "ttl_exceeded")]:
        data = ip_header(router, b"\x7f\0\0\1") + struct.pack("!BBHI", icmp_type, 1, 0, 0) + quoted
        assert packets.parse_v4(data, True, None) == (V4, struct.pack("!HH", 5, 6), (99).to_bytes(4, "big"), reason)
    # a router that quotes only 8 bytes of our echo (RFC 792 minimum): matched without a token
    short = ip_header(router, b"\x7f\0\0\1") + struct.pack("!BBHI", 3, 1, 0, 0) + quoted[:28]
    assert packets.parse_v4(short, True, None) == (V4, struct.pack("!HH", 5, 6), None, "unreachable")


def test_foreign_and_truncated_packets_are_not_matched():
    """Echo requests, redirects, errors about non-echo packets and truncated data parse to None."""
    assert packets.parse_v4(ip_header(V4, V4) + echo(8, 1, 1, 1), True, None) is None
    assert packets.parse_v4(ip_header(V4, V4) + struct.pack("!BBHI", 5, 0, 0, 0), True, None) is None
    udp_quote = ip_header(V4, V4, proto=17) + b"\0" * 8
    assert packets.parse_v4(ip_header(V4, V4) + struct.pack("!BBHI", 3, 3, 0, 0) + udp_quote, True, None) is None
    assert packets.parse_v4(b"\x45\0\0", True, None) is None
    assert packets.parse_v4(ip_header(V4, V4) + b"\0\0\0", True, None) is None
    assert packets.parse_v6(b"\x81\0\0", V6) is None


def test_icmpv6_reply_and_errors():
    """ICMPv6 echo replies match by source; unreachable/time exceeded by the quoted IPv6 destination."""
    reply = echo(129, 3, 4, 5)
    assert packets.parse_v6(reply, V6) == (V6, struct.pack("!HH", 3, 4), (5).to_bytes(4, "big"), None)
    inner = struct.pack("!IHBB16s16s", 0x60000000, 64, 58, 64, b"\0" * 15 + b"\1", V6) + echo(128, 3, 4, 5)
    for icmp_type, reason in [(1, "unreachable"), (3, "ttl_exceeded")]:
        error = struct.pack("!BBHI", icmp_type, 0, 0, 0) + inner
        assert packets.parse_v6(error, b"\xfe" * 16) == (V6, struct.pack("!HH", 3, 4), (5).to_bytes(4, "big"), reason)
    assert packets.parse_v6(echo(128, 3, 4, 5), V6) is None  # our own request looping back


def test_error_queue_messages_of_ping_sockets():
    """A ping socket's error-queue entry (sock_extended_err + quoted echo) maps to the failed echo."""
    quoted = echo(8, 40000, 12, 34)
    for origin, icmp_type, reason in [(2, 3, "unreachable"), (2, 11, "ttl_exceeded"), (3, 1, "unreachable"),
                                      (3, 3, "ttl_exceeded"), (1, 0, "no_route")]:
        ee = struct.pack("=IBBBBII", 113, origin, icmp_type, 1, 0, 0, 0)
        assert packets.parse_error_queue(ee, quoted, V4) == (V4, struct.pack("!HH", 40000, 12),
                                                             (34).to_bytes(4, "big"), reason)
    assert packets.parse_error_queue(b"", quoted, V4) is None
    assert packets.parse_error_queue(struct.pack("=IBBBBII", 90, 2, 5, 0, 0, 0, 0), quoted, V4) is None


def _in_flight(engine: IcmpEngine) -> tuple[bytes, bytes]:
    """(key, token) of the single echo the engine has in flight."""
    [(key, echo)] = engine._pending.items()
    return key, echo[2]


async def test_demultiplexer_ignores_duplicates_late_unknown_and_stale_replies():
    """Only the first matching reply counts; duplicates, unknown ids, stale tokens and late replies are dropped."""
    sock = open_icmp_socket(socket.AF_INET, True)
    e = IcmpEngine([sock], pps=1000)
    e.start()
    try:
        e._readers.clear()  # hold the reader back so the crafted replies decide the check
        e._loop.remove_reader(sock.sock.fileno())
        results = []
        e.submit("127.1.2.3", count=1, timeout=0.3, interval=1, on_done=results.append)
        while not e._pending:
            await _tick()
        key, token = _in_flight(e)
        dest, idseq = key[:4], key[4:]
        foreign_id = struct.pack("!H", (struct.unpack("!H", idseq[:2])[0] + 1) & 0xFFFF) + idseq[2:]
        e._match((dest, foreign_id, token, None), e._loop.time())  # unknown identifier
        e._match((dest, idseq, (int.from_bytes(token, "big") ^ 0x10000).to_bytes(4, "big"), None),
                 e._loop.time())  # same sequence, older wrap (stale token)
        e._match((b"\x7f\1\2\4", idseq, token, None), e._loop.time())  # another address
        assert results == [] and e.stats["ignored"] == 3
        e._match((dest, idseq, token, None), e._loop.time())
        e._match((dest, idseq, token, None), e._loop.time())  # duplicate
        assert len(results) == 1 and results[0].received == 1 and e.stats["ignored"] == 4

        e.submit("127.1.2.3", count=1, timeout=0.05, interval=1, on_done=results.append)
        while not e._pending:
            await _tick()
        key, token = _in_flight(e)
        while len(results) < 2:
            await _tick()
        assert results[1].received == 0 and results[1].reason == "timeout"
        e._match((key[:4], key[4:], token, None), e._loop.time())  # arrives after its timeout
        assert len(results) == 2 and e.stats["ignored"] == 5
    finally:
        await e.aclose()


async def test_icmp_error_fails_the_echo_with_its_reason():
    """A matched destination-unreachable ends the check at once with reason ``unreachable``."""
    sock = open_icmp_socket(socket.AF_INET, True)
    e = IcmpEngine([sock], pps=1000)
    e.start()
    try:
        e._readers.clear()
        e._loop.remove_reader(sock.sock.fileno())
        results = []
        e.submit("127.1.2.3", count=1, timeout=5, interval=1, on_done=results.append)
        while not e._pending:
            await _tick()
        key, token = _in_flight(e)
        e._match((key[:4], key[4:], None, "unreachable"), e._loop.time())
        assert results[0].received == 0 and results[0].reason == "unreachable"
    finally:
        await e.aclose()


async def _tick() -> None:
    await asyncio.sleep(0.001)
