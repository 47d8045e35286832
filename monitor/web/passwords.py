"""Password hashes for the status page's users: scrypt from the standard library.

Format: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` — what ``pantau hash-password`` prints and
``http.users`` holds. scrypt is memory-hard and built into Python's hashlib (OpenSSL), so no extra
dependency; the cost (n=2^14, r=8, p=1, ~16 MB, tens of ms) follows the common interactive-login
recommendation. Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

PREFIX = "scrypt"
N, R, P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    if not password:
        raise ValueError("empty password")
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=_MAXMEM, dklen=32)
    return f"{PREFIX}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def parse_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    """Split a stored hash; ValueError (without echoing the hash) when it is not one of ours."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != PREFIX:
        raise ValueError("not a password hash from `pantau hash-password` (scrypt$n$r$p$salt$hash)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise ValueError("malformed password hash (expected scrypt$n$r$p$salt$hash)") from None
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or len(salt) < 8 or len(digest) < 16:
        raise ValueError("password hash parameters out of range (make a new one with `pantau hash-password`)")
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    n, r, p, salt, digest = parse_hash(stored)
    candidate = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(digest))
    return hmac.compare_digest(candidate, digest)
