"""Events: what the sources report and the notifiers deliver (webhook schema v1, docs/events.md)."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

#: Every event type pantau emits. Routes match these with glob patterns ("host.*").
EVENT_TYPES = (
    "host.down",
    "host.up",
    "router.down",
    "router.up",
    "hotspot.login",
    "hotspot.logout",
    "ppp.connect",
    "ppp.disconnect",
    "audit.command",  # the operator bot ran, queued or failed a command (monitor/bot)
    "audit.refused",  # the bot refused someone: unknown identity or a role too low
    "subscriber.quota",
    "subscriber.expiring",
    "subscriber.expired",
    "report.summary",
    "registration.verified",  # a request from the registration page, its number verified (monitor/registration)
    "pantau.degraded",
    "router.rebooted",
    "router.interface_down",
    "router.interface_up",
    "router.health",
)


def new_event_id() -> str:
    """A UUIDv7-style id: time-ordered (ms) with 74 random bits, unique across restarts."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds (the precision of the wire format)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_at(at: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: ``2026-11-23T02:44:05.123Z``."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Source:
    """What an event is about: a host, or a router (session events name the router)."""

    kind: str  # "host" | "router"
    name: str
    address: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    identity: str | None = None  # RouterOS /system/identity, for router-sourced events

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "address": self.address,
                               "labels": dict(self.labels)}
        if self.identity is not None:
            out["identity"] = self.identity
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Source:
        return cls(kind=d["kind"], name=d["name"], address=d.get("address"),
                   labels=dict(d.get("labels") or {}), identity=d.get("identity"))


@dataclass(frozen=True, slots=True)
class Event:
    """One state transition. ``at`` is the detection time (UTC); ``id`` is unique (idempotency key)."""

    type: str
    source: Source
    data: dict[str, Any]
    at: datetime = field(default_factory=utc_now)
    id: str = field(default_factory=new_event_id)
    version: int = SCHEMA_VERSION
    # the wire JSON, built once: the history and the outbox both store it (``replace`` starts afresh)
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def category(self) -> str:
        return self.type.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "id": self.id, "type": self.type, "at": format_at(self.at),
                "source": self.source.to_dict(), "data": dict(self.data)}

    def to_json(self) -> str:
        """The webhook JSON (schema v1). An event is immutable once emitted — ``data`` is never
        changed in place (``dataclasses.replace`` makes a new event) — so it is encoded once."""
        text = self._json
        if text is None:
            text = json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=False)
            object.__setattr__(self, "_json", text)
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(type=d["type"], source=Source.from_dict(d["source"]), data=dict(d.get("data") or {}),
                   at=parse_at(d["at"]), id=d["id"], version=int(d.get("version", SCHEMA_VERSION)))

    @classmethod
    def from_json(cls, text: str) -> Event:
        return cls.from_dict(json.loads(text))
