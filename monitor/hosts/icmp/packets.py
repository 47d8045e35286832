"""Echo requests out, replies and errors in: the wire format of ICMPv4 and ICMPv6.

Built with ``struct`` rather than icmplib's helpers: icmplib's ``_create_packet``/``_parse_reply``
are private methods of a socket object (which opens a socket when constructed), its checksum loops
over every byte in Python, its parser assumes a 20-byte IPv4 header and it drops the embedded
destination address that we need to tie an ICMP error to the echo it is about.

Every request carries a 4-byte token (the engine's unwrapped send counter) at the start of its
payload; a reply must echo it back, so a very late reply whose 16-bit sequence number has been reused
after wrap-around is not mistaken for the reply to the newer echo.

Parsers return ``(destination, idseq, token, reason)`` or None for anything that is not ours to
match: ``destination`` is the packed address the echo was sent to, ``idseq`` the 4 bytes of
identifier and sequence, ``token`` the 4 payload bytes (None when an error quotes too little) and
``reason`` None for an echo reply or the failure an error stands for.
"""

from __future__ import annotations

import struct

ECHO_REQUEST_V4, ECHO_REPLY_V4, UNREACHABLE_V4, TIME_EXCEEDED_V4 = 8, 0, 3, 11
ECHO_REQUEST_V6, ECHO_REPLY_V6, UNREACHABLE_V6, TIME_EXCEEDED_V6 = 128, 129, 1, 3
ICMP_PROTO_V4, ICMP_PROTO_V6 = 1, 58

PAYLOAD_SIZE = 56  # like ping and fping: a 64-byte ICMP message
_HEADER = struct.Struct("!BBHHHI")  # type, code, checksum, identifier, sequence, token

Parsed = tuple[bytes, bytes, "bytes | None", "str | None"]

_REASONS_V4 = {UNREACHABLE_V4: "unreachable", TIME_EXCEEDED_V4: "ttl_exceeded"}
_REASONS_V6 = {UNREACHABLE_V6: "unreachable", TIME_EXCEEDED_V6: "ttl_exceeded"}


def echo_request(family_v6: bool, ident: int, seq: int, token: int, padding: bytes) -> bytes:
    """An echo request; ``padding`` (all zero) fills the payload after the token.

    The IPv4 checksum is computed here in O(1): the zero padding adds nothing to the one's
    complement sum. The kernel fills in ICMPv6 checksums (and datagram sockets' IPv4 ones) itself.
    """
    if family_v6:
        return _HEADER.pack(ECHO_REQUEST_V6, 0, 0, ident, seq, token) + padding
    total = (ECHO_REQUEST_V4 << 8) + ident + seq + (token >> 16) + (token & 0xFFFF)
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return _HEADER.pack(ECHO_REQUEST_V4, 0, ~total & 0xFFFF, ident, seq, token) + padding


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``; used by tests to check ``echo_request``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def parse_v4(data: bytes, has_ip_header: bool, source: bytes | None) -> Parsed | None:
    """Parse an ICMPv4 message; ``source`` is the sender's packed address when there is no IP header."""
    if has_ip_header:
        if len(data) < 20:
            return None
        start = (data[0] & 0x0F) << 2
        source = data[12:16]
    else:
        start = 0
    if len(data) < start + 8:
        return None
    icmp_type = data[start]
    if icmp_type == ECHO_REPLY_V4:
        token = data[start + 8:start + 12]
        return source, data[start + 4:start + 8], token if len(token) == 4 else None, None
    reason = _REASONS_V4.get(icmp_type)
    if reason is None:
        return None
    inner = start + 8  # the quoted IP header of our echo request
    if len(data) < inner + 20 or data[inner + 9] != ICMP_PROTO_V4:
        return None
    quoted = inner + ((data[inner] & 0x0F) << 2)
    if len(data) < quoted + 8 or data[quoted] != ECHO_REQUEST_V4:
        return None
    token = data[quoted + 8:quoted + 12]
    return data[inner + 16:inner + 20], data[quoted + 4:quoted + 8], token if len(token) == 4 else None, reason


def parse_v6(data: bytes, source: bytes) -> Parsed | None:
    """Parse an ICMPv6 message (IPv6 sockets never see the IP header); ``source`` packed."""
    if len(data) < 8:
        return None
    icmp_type = data[0]
    if icmp_type == ECHO_REPLY_V6:
        token = data[8:12]
        return source, data[4:8], token if len(token) == 4 else None, None
    reason = _REASONS_V6.get(icmp_type)
    if reason is None:
        return None
    inner = 8  # the quoted IPv6 header (40 bytes; extension headers are not followed)
    if len(data) < inner + 48 or data[inner + 6] != ICMP_PROTO_V6 or data[inner + 40] != ECHO_REQUEST_V6:
        return None
    token = data[inner + 48:inner + 52]
    return data[inner + 24:inner + 40], data[inner + 44:inner + 48], token if len(token) == 4 else None, reason


# struct sock_extended_err { u32 ee_errno; u8 ee_origin, ee_type, ee_code, ee_pad; u32 ee_info, ee_data; }
_EXTENDED_ERR = struct.Struct("=IBBBBII")
SO_EE_ORIGIN_LOCAL, SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 1, 2, 3


def parse_error_queue(extended_err: bytes, quoted: bytes, destination: bytes) -> Parsed | None:
    """Parse one message from a ping socket's error queue (``recvmsg(..., MSG_ERRQUEUE)``).

    ``extended_err`` is the IP_RECVERR/IPV6_RECVERR control data, ``quoted`` the start of our echo
    request as the kernel kept it, ``destination`` the packed address that request went to.
    """
    if len(extended_err) < _EXTENDED_ERR.size or len(quoted) < 8:
        return None
    _errno, origin, icmp_type, _code, _pad, _info, _data = _EXTENDED_ERR.unpack_from(extended_err)
    if origin == SO_EE_ORIGIN_ICMP:
        reason = _REASONS_V4.get(icmp_type)
    elif origin == SO_EE_ORIGIN_ICMP6:
        reason = _REASONS_V6.get(icmp_type)
    elif origin == SO_EE_ORIGIN_LOCAL:
        reason = "no_route"
    else:
        reason = None
    if reason is None:
        return None
    token = quoted[8:12]
    return destination, quoted[4:8], token if len(token) == 4 else None, reason
