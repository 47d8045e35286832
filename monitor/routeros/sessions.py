"""What a hotspot/PPP session is: menu specs, session keys, stored records and event payloads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..config.durations import parse_routeros_duration


@dataclass(frozen=True)
class MenuSpec:
    watch: str  # "hotspot" | "ppp"
    path: str  # the active-sessions menu
    name_field: str  # "user" | "name"
    peer_field: str  # "mac-address" | "caller-id"
    start_type: str
    end_type: str
    secrets_path: str  # where the subscriber's comment/email lives
    proplist: tuple[str, ...]


SPECS = {
    "hotspot": MenuSpec("hotspot", "/ip/hotspot/active", "user", "mac-address", "hotspot.login",
                        "hotspot.logout", "/ip/hotspot/user",
                        (".id", "user", "address", "mac-address", "server", "login-by", "uptime",
                         "bytes-in", "bytes-out")),
    "ppp": MenuSpec("ppp", "/ppp/active", "name", "caller-id", "ppp.connect", "ppp.disconnect", "/ppp/secret",
                    (".id", "name", "service", "caller-id", "address", "uptime")),
}


def session_key(spec: MenuSpec, row: dict[str, str]) -> str:
    """Session identity within a router and menu: ``.id`` + user/name + MAC/caller-id.

    ``.id``s restart after a reboot, so the same ``.id`` with another user or MAC is another session.
    """
    return f"{row.get('.id', '')}|{row.get(spec.name_field, '')}|{row.get(spec.peer_field, '')}"


def _int(text: str | None) -> int | None:
    """A counter the router reported, or None when it did not (unknown is not zero)."""
    try:
        return int(text) if text else None
    except ValueError:
        return None


# what a router sends as uptime nearly always ("1w2d3h4m5s", any part missing): parsed with one
# match, ~6x cheaper than the general parser, which takes everything else ("500ms", "01:22:53")
_PLAIN_UPTIME = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _uptime(text: str | None) -> float | None:
    if not text:
        return None
    m = _PLAIN_UPTIME.fullmatch(text)
    if m is not None:
        w, d, h, mins, s = m.groups()
        return float((int(w or 0) * 7 + int(d or 0)) * 86400 + int(h or 0) * 3600 + int(mins or 0) * 60 + int(s or 0))
    try:
        return parse_routeros_duration(text)
    except ValueError:
        return None


def make_record(spec: MenuSpec, row: dict[str, str], now: float,
                previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored state of a session (JSON-able); ``started_at`` is kept from the first sighting."""
    uptime = _uptime(row.get("uptime"))
    if uptime is None and previous is not None:
        uptime = previous.get("uptime_s")  # a listen update without uptime: keep the last one seen
    get = row.get
    started = previous["started_at"] if previous else now - (uptime or 0.0)
    # one literal per kind (this runs for every row of every resync: 100,000 rows at ISP scale)
    if spec.watch == "hotspot":
        record: dict[str, Any] = {
            "id": get(".id", ""), "address": get("address", ""), "last_seen": now, "uptime_s": uptime,
            "started_at": started, "user": get("user", ""), "mac": get("mac-address", ""),
            "server": get("server", ""), "login_by": get("login-by", ""), "bytes_in": _int(get("bytes-in")),
            "bytes_out": _int(get("bytes-out"))}
    else:
        record = {"id": get(".id", ""), "address": get("address", ""), "last_seen": now, "uptime_s": uptime,
                  "started_at": started, "name": get("name", ""), "service": get("service", ""),
                  "caller_id": get("caller-id", "")}
    if previous:  # a listen update may carry fewer fields; keep what we knew
        for key, value in previous.items():
            if key not in ("last_seen", "uptime_s") and record.get(key) in ("", 0, None) \
                    and value not in ("", 0, None):
                record[key] = value
    return record


def login_data(spec: MenuSpec, record: dict[str, Any], subscriber: dict[str, str] | None,
               comment: str | None = None) -> dict[str, Any]:
    """Login payload; ``comment`` is the hotspot user's / PPP secret's comment (e.g. a room and name)."""
    if spec.watch == "hotspot":
        data = {"user": record["user"], "address": record["address"], "mac": record["mac"],
                "server": record["server"], "login_by": record["login_by"]}
    else:
        data = {"name": record["name"], "service": record["service"], "caller_id": record["caller_id"],
                "address": record["address"]}
    data["comment"] = comment
    data["subscriber"] = subscriber
    return data


def logout_data(spec: MenuSpec, record: dict[str, Any], subscriber: dict[str, str] | None,
                comment: str | None = None, *, reason: str, now: float) -> dict[str, Any]:
    """Logout payload. Seen live (``reason == "logout"``) the uptime runs to now; otherwise it is the
    last uptime we saw, since we do not know when the session really ended. What the router never
    reported (no uptime, no byte counters) is ``None`` — unknown is not zero."""
    data = login_data(spec, record, subscriber, comment)
    end = now if reason == "logout" else record["last_seen"]
    seen = record.get("uptime_s")
    uptime = max(seen or 0.0, end - record["started_at"])
    live = reason == "logout"
    data["uptime_s"] = None if uptime <= 0 or (seen is None and not live) else int(uptime)
    if spec.watch == "hotspot":
        # only a live logout has the final counters; a session that ended unseen (unreachable, stopped,
        # rebooted) has unknown totals, and the last values pantau saw are given as such
        unknown = reason != "logout"
        data["bytes_in"] = None if unknown else record["bytes_in"]
        data["bytes_out"] = None if unknown else record["bytes_out"]
        if unknown:
            data["bytes_in_last_seen"] = record["bytes_in"]
            data["bytes_out_last_seen"] = record["bytes_out"]
    data["reason"] = reason
    return data


async def end_sessions(client: Any, menu: str, field: str, name: str) -> int:
    """Remove every active session of ``name`` from ``menu`` (``/ip/hotspot/active`` by ``user``,
    ``/ppp/active`` by ``name``) through a write-capable ``client``; returns how many there were."""
    active = await client.print(menu, queries=[f"?{field}={name}"], proplist=[".id"])
    for row in active:
        await client.command(f"{menu}/remove", {".id": row[".id"]})
    return len(active)
