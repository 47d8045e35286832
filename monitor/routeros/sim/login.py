"""The simulator's ``/login``, both ways RouterOS has spoken it.

Since 6.43: ``/login =name= =password=`` → ``!done`` (or ``!trap invalid user name or password (6)``
and the connection closes). Before 6.43 the router ignores a password and answers any ``/login``
with ``!done =ret=<32 hex challenge>``; the client then sends ``/login =name= =response=00<hex of
md5(0x00 + password + challenge bytes)>`` and gets ``!done`` or ``!trap cannot log in``. A bare
``/login`` (no name) gets the challenge on every version, and 6.43+ still accepts a response.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field


def challenge_response(password: str, challenge_hex: str, *, encoding: str = "utf-8") -> str:
    """The ``=response=`` of the pre-6.43 login: ``00`` + md5(0x00 + password + challenge)."""
    digest = hashlib.md5(b"\x00" + password.encode(encoding) + bytes.fromhex(challenge_hex)).hexdigest()
    return "00" + digest


@dataclass
class LoginOutcome:
    reply: list[str]  # the reply words (without .tag)
    logged_in: bool = False
    close: bool = False
    user: str | None = None  # who logged in


@dataclass
class LoginAuthority:
    """Checks logins for one simulated router and counts them (tests assert on ``attempts``)."""

    username: str
    password: str
    legacy: bool  # pre-6.43: password logins only get a challenge
    attempts: list[str] = field(default_factory=list)  # "password" | "challenge" | "response" | "failed"
    fixed_challenge: str | None = None  # replay a documented exchange byte for byte
    others: dict[str, tuple[str, bool]] = field(default_factory=dict)  # more API users: name → (password, may write)

    def _password(self, name: str | None) -> str | None:
        if name == self.username:
            return self.password
        other = self.others.get(name or "")
        return other[0] if other is not None else None

    def login(self, attrs: dict[str, str], challenge: str | None) -> tuple[LoginOutcome, str | None]:
        """Answer one ``/login``; returns the outcome and the connection's (new) pending challenge."""
        if "response" in attrs:
            password = self._password(attrs.get("name"))
            ok = (challenge is not None and password is not None
                  and attrs["response"].lower() == challenge_response(password, challenge))
            self.attempts.append("response" if ok else "failed")
            if ok:
                return LoginOutcome(["!done"], logged_in=True, user=attrs.get("name")), None
            return LoginOutcome(["!trap", "=message=cannot log in"], close=True), None
        if self.legacy or "name" not in attrs:
            fresh = self.fixed_challenge or secrets.token_hex(16)
            self.attempts.append("challenge")
            return LoginOutcome(["!done", f"=ret={fresh}"]), fresh
        password = self._password(attrs.get("name"))
        ok = password is not None and attrs.get("password") == password
        self.attempts.append("password" if ok else "failed")
        if ok:
            return LoginOutcome(["!done"], logged_in=True, user=attrs.get("name")), None
        return LoginOutcome(["!trap", "=message=invalid user name or password (6)"], close=True), None

    @property
    def failures(self) -> int:
        return self.attempts.count("failed")

    @property
    def tries(self) -> int:
        """Logins that could have succeeded (a password or a response), i.e. what a brute-force rule counts."""
        return sum(1 for a in self.attempts if a != "challenge")
