"""``http:`` — where pantau's HTTP server listens."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, field_validator

from ..config.types import PositiveDuration
from .passwords import parse_hash


def split_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"``, ``"[::1]:8080"``, ``"0.0.0.0:8080"`` or ``":8080"`` (every address) →
    (host, port). Raises ValueError with the reason."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"invalid listen address {value!r} (expected HOST:PORT, e.g. 127.0.0.1:8080)")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"invalid port {port} in {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "":
        host = "0.0.0.0"
    elif host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"invalid listen address {value!r}: {host!r} is not an IP address") from None
    return host, port


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # /metrics and /healthz answer anyone who can reach this address: keep it on loopback or a
    # management network (docs/web.md)
    listen: str = "127.0.0.1:8080"
    # status page logins: user name → hash from `pantau hash-password` (never a clear password).
    # No users: the status page and its API answer 403 (only /metrics, /healthz, /readyz are served).
    users: dict[str, str] = {}
    session_ttl: PositiveDuration = 12 * 3600.0  # a login lasts this long (sliding)
    max_loop_lag: PositiveDuration = 2.0  # /healthz turns red when the event loop lags longer

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        split_listen(v)
        return v

    @field_validator("users")
    @classmethod
    def _users(cls, v: dict[str, str]) -> dict[str, str]:
        for name, stored in v.items():
            if not name or len(name) > 64 or any(c.isspace() or c in ":/" for c in name):
                raise ValueError(f"invalid user name {name!r} (1-64 characters, no spaces, ':' or '/')")
            try:
                parse_hash(stored)
            except ValueError as exc:
                raise ValueError(f"user {name!r}: {exc}") from None
        return v
