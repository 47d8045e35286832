"""Foreign ICMP traffic for the ICMP tests: what fping, Smokeping or Zabbix put on a monitoring box.

``python tests/icmp_load.py --pps 300`` sends, until stopped, echo requests to random 127.0.0.0/8
addresses with random identifiers and sequences (the kernel answers each one, and every raw ICMP
socket on the machine sees the reply), plus crafted echo replies to 127.0.0.1 with random
identifiers — foreign replies that may even carry one of the engine's own identifiers. Bounded:
``--pps`` packets a second, and it exits by itself after ``--seconds`` (a forgotten load dies).
Only 127.0.0.0/8 is ever a target.

The suite starts it when ``PANTAU_ICMP_LOAD=PPS`` is set (tests/conftest.py); `.ci/run` runs the ICMP
tests several times in a row that way.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import struct
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def packet(icmp_type: int, rng: random.Random) -> bytes:
    ident, seq = rng.randrange(0x10000), rng.randrange(0x10000)
    body = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + rng.randbytes(24)
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def open_socket() -> tuple[socket.socket, bool]:
    """A raw socket when allowed (it can also craft replies), else an unprivileged ping socket."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), True
    except PermissionError:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP), False


def run(pps: int, seconds: float, seed: int | None = None) -> int:
    rng = random.Random(seed)
    sock, raw = open_socket()
    sock.setblocking(False)
    sent, start = 0, time.monotonic()
    period = 1.0 / max(1, pps)
    while time.monotonic() - start < seconds:
        target = f"127.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        try:
            if raw and sent % 3 == 2:
                sock.sendto(packet(0, rng), ("127.0.0.1", 0))  # a foreign echo reply
            else:
                sock.sendto(packet(8, rng), (target, 0))
            if not raw:
                while True:  # ping sockets queue their replies: drop them
                    sock.recv(2048)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        sent += 1
        time.sleep(max(0.0, start + sent * period - time.monotonic()))
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pps", type=int, default=300, help="packets per second (bounded)")
    parser.add_argument("--seconds", type=float, default=900.0, help="stop after this long")
    args = parser.parse_args()
    os.nice(5)  # a background load, not a competitor of the tests for the CPU
    run(args.pps, args.seconds)


if __name__ == "__main__":
    main()
