"""Message templates: Jinja2 (sandboxed), one per event type, defaults in Indonesian and English.

A notifier builds one ``TemplateRenderer`` from its config (``language``, ``timezone``,
``templates``) and the markup its peer speaks: ``html`` (Telegram: every interpolated value is
escaped) or ``text`` (WhatsApp: nothing escaped, ``*bold*``). The context every template sees is
documented in docs/templates.md.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, field_validator

from ...config.types import TimeZone
from ...errors import ConfigError
from ...events import EVENT_TYPES, Event, Source
from ..notify import NotifierConfig

__all__ = ["MessageConfig", "TemplateFile", "TemplateRenderer", "human_duration", "sample_events"]

DIGEST = "digest"
UP_TYPES = {"host.up", "router.up", "hotspot.login", "ppp.connect", "router.rebooted", "router.interface_up"}

_REASONS = {
    "id": {"while_unreachable": "router tidak terjangkau", "while_stopped": "pantau sedang berhenti",
           "router_rebooted": "router restart"},
    "en": {"while_unreachable": "router unreachable", "while_stopped": "pantau was stopped",
           "router_rebooted": "router rebooted"},
}
_UNITS = {
    "id": (("hari", 86400), ("jam", 3600), ("menit", 60), ("detik", 1)),
    "en": (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)),
}


class TemplateFile(BaseModel):
    """``{file: path}``: a template read from a file (relative paths: to the config directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str


class MessageConfig(NotifierConfig):
    """Config fields shared by notifiers that render text messages (Telegram, WhatsApp)."""

    language: Literal["id", "en"] = "id"
    timezone: TimeZone = "Asia/Jakarta"
    templates: dict[str, str | TemplateFile] = {}

    @field_validator("templates")
    @classmethod
    def _known_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key != DIGEST and not fnmatch.filter(EVENT_TYPES, key):
                raise ValueError(f"template key {key!r} matches no event type "
                                 f"(use one of {', '.join(EVENT_TYPES)}, a glob, or 'digest')")
        return value


def human_duration(seconds: Any, language: str = "id") -> str:
    """``7500`` → ``2 jam 5 menit`` (id) / ``2h 5m`` (en): the two largest units; ``""`` if unknown."""
    if seconds is None or isinstance(seconds, jinja2.Undefined | bool):
        return ""
    try:
        total = int(round(float(seconds)))
    except (TypeError, ValueError):
        return str(seconds)
    units = _UNITS.get(language, _UNITS["en"])
    parts = []
    for name, size in units:
        if total >= size:
            parts.append((total // size, name))
            total %= size
    if not parts:
        parts = [(0, units[-1][0])]
    sep = " " if language == "id" else ""
    return " ".join(f"{n}{sep}{name}" for n, name in parts[:2])


def human_bytes(value: Any) -> str:
    """``1536000`` → ``1.5 MB``; ``""`` if unknown."""
    if value is None or isinstance(value, jinja2.Undefined | bool):
        return ""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return str(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


@dataclass
class _Compiled:
    key: str  # the config key ("host.down", "ppp.*", "digest") or "default"
    template: jinja2.Template


class TemplateRenderer:
    """Renders events (and digests) with the configured or default templates.

    ``overrides`` maps an event type, a glob over event types, or ``"digest"`` to inline template
    text or a ``TemplateFile``. Problems (unreadable file, syntax error) are collected, not raised:
    call ``validate(path_prefix)`` at start-up to turn them into one ConfigError.
    """

    def __init__(self, *, language: str = "id", timezone: str = "Asia/Jakarta",
                 overrides: dict[str, str | TemplateFile] | None = None,
                 markup: Literal["html", "text"] = "text", base_dir: str | Path | None = None):
        self.language = language if language in _UNITS else "id"
        self.tz = ZoneInfo(timezone)
        self.markup = markup
        self.env = SandboxedEnvironment(autoescape=markup == "html", trim_blocks=True,
                                        lstrip_blocks=True, undefined=jinja2.Undefined)
        self.env.filters.update(duration=self._duration, bytes=human_bytes, bold=self._bold,
                                italic=self._italic, reason=self._reason, names=self._names,
                                percent=_percent, when=self._when)
        self.problems: list[str] = []
        self._overrides: list[tuple[str, _Compiled]] = []
        for key, source in (overrides or {}).items():
            text = self._read(key, source, base_dir)
            if text is None:
                continue
            try:
                self._overrides.append((key, _Compiled(key, self.env.from_string(text))))
            except jinja2.TemplateSyntaxError as exc:
                self.problems.append(f"templates.{key}: syntax error on line {exc.lineno}: {exc.message}")
        self._defaults: dict[str, _Compiled] = {}

    @classmethod
    def from_config(cls, config: MessageConfig, markup: Literal["html", "text"],
                    base_dir: str | Path | None = None) -> TemplateRenderer:
        return cls(language=config.language, timezone=config.timezone, overrides=config.templates,
                   markup=markup, base_dir=base_dir)

    # -- public API -----------------------------------------------------------------------------

    def render(self, event: Event) -> str:
        """The message for one event. Raises jinja2 errors only from a broken custom template."""
        text = self._finish(self._template(event.type).template.render(self.context(event)))
        if event.data.get("test") is True:  # pantau test-notify: nobody may mistake it for a real alert
            text = ("[TES] " if self.language == "id" else "[TEST] ") + text
        return text

    def render_digest(self, events: list[Event]) -> str:
        """One summary message for many events ("12 pengguna login: …")."""
        return self._finish(self._template(DIGEST).template.render(self.digest_context(events)))

    def validate(self, path_prefix: str = "") -> None:
        """Compile every template and render every sample event; raise ConfigError naming paths."""
        prefix = f"{path_prefix}." if path_prefix else ""
        problems = [prefix + p for p in self.problems]
        samples = sample_events()
        for event in samples:
            problems += self._try(prefix, event.type, lambda e=event: self.render(e))
        problems += self._try(prefix, DIGEST, lambda: self.render_digest(samples))
        if problems:
            raise ConfigError(sorted(set(problems), key=problems.index))

    def context(self, event: Event) -> dict[str, Any]:
        """The variables a per-event template sees (docs/templates.md)."""
        at = event.at.astimezone(self.tz)
        source = event.source.to_dict()
        data = dict(event.data)
        subject = data.get("user") or data.get("name") if event.category in ("hotspot", "ppp", "subscriber") else None
        return {
            "event": event.to_dict(), "type": event.type, "id": event.id, "source": source,
            "data": data, "at": at, "date": self._date(at), "time": at.strftime("%H:%M:%S"),
            "tz": at.tzname() or "", "status": "ON" if event.type in UP_TYPES else "OFF",
            "is_up": event.type in UP_TYPES, "name": subject or event.source.name,
            "router": event.source.name, "language": self.language,
        }

    def digest_context(self, events: list[Event]) -> dict[str, Any]:
        """Variables of the digest template: ``events``, ``count``, ``outages``, ``groups`` …"""
        contexts = [self.context(e) for e in events]
        outages: list[dict[str, Any]] = []
        covered: set[int] = set()
        for i, event in enumerate(events):
            if event.type != "router.down":
                continue
            covered.add(i)
            lost = [j for j, other in enumerate(events)
                    if other.category in ("hotspot", "ppp") and other.type in ("hotspot.logout", "ppp.disconnect")
                    and other.source.name == event.source.name and other.data.get("reason") == "while_unreachable"]
            covered.update(lost)
            outages.append({"router": contexts[i]["router"], "sessions": len(lost), **contexts[i]})
        groups: dict[str, dict[str, Any]] = {}
        for i, ctx in enumerate(contexts):
            if i in covered:
                continue
            group = groups.setdefault(ctx["type"], {"type": ctx["type"], "count": 0, "names": []})
            group["count"] += 1
            if ctx["name"] not in group["names"]:
                group["names"].append(ctx["name"])
        last = max((e.at for e in events), default=datetime.now(UTC)).astimezone(self.tz)
        return {"events": contexts, "count": len(events), "outages": outages,
                "groups": list(groups.values()), "at": last, "date": self._date(last),
                "time": last.strftime("%H:%M:%S"), "tz": last.tzname() or "", "language": self.language}

    # -- internals ------------------------------------------------------------------------------

    def _template(self, kind: str) -> _Compiled:
        for key, compiled in self._overrides:
            if key == kind:
                return compiled
        if kind != DIGEST:
            for key, compiled in self._overrides:
                if key != DIGEST and fnmatch.fnmatchcase(kind, key):
                    return compiled
        if kind not in self._defaults:
            name = f"{self.language}.{kind}.j2"
            text = resources.files("monitor.delivery.templates").joinpath(name).read_text(encoding="utf-8")
            self._defaults[kind] = _Compiled("default", self.env.from_string(text))
        return self._defaults[kind]

    def _try(self, prefix: str, kind: str, fn: Any) -> list[str]:
        compiled_key = self._template_key(kind)
        where = f"{prefix}templates.{compiled_key}" if compiled_key != "default" else \
            f"{prefix}templates (default {self.language}.{kind})"
        try:
            text = fn()
        except jinja2.TemplateError as exc:
            return [f"{where}: cannot render a sample {kind} event: {type(exc).__name__}: {exc}"]
        except Exception as exc:  # a template calling something that fails (e.g. a bad filter argument)
            return [f"{where}: cannot render a sample {kind} event: {type(exc).__name__}: {exc}"]
        if not text.strip():
            return [f"{where}: renders an empty message for a sample {kind} event"]
        return []

    def _template_key(self, kind: str) -> str:
        try:
            return self._template(kind).key
        except (OSError, jinja2.TemplateError):
            return "default"

    def _read(self, key: str, source: str | TemplateFile | dict, base_dir: str | Path | None) -> str | None:
        if isinstance(source, dict):
            source = TemplateFile(**source)
        if isinstance(source, str):
            return source
        path = Path(source.file).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"templates.{key}: cannot read template file {str(path)!r}: "
                                 f"{getattr(exc, 'strerror', None) or exc}")
            return None

    def _finish(self, text: str) -> str:
        lines = [line.rstrip() for line in str(text).strip().splitlines()]
        return "\n".join(lines)

    def _date(self, at: datetime) -> str:
        return at.strftime("%d/%m/%Y") if self.language == "id" else at.strftime("%Y-%m-%d")

    def _duration(self, seconds: Any) -> str:
        return human_duration(seconds, self.language)

    def _when(self, iso: Any) -> str:
        """An ISO date-time (``data.expires_at``) as a date and time in the notifier's timezone."""
        try:
            moment = datetime.fromisoformat(str(iso)).astimezone(self.tz)
        except ValueError:
            return str(iso)
        return f"{self._date(moment)} {moment.strftime('%H:%M')} {moment.strftime('%Z') or ''}".strip()

    def _reason(self, code: Any) -> str:
        if code is None or isinstance(code, jinja2.Undefined):
            return ""
        return _REASONS[self.language].get(str(code), str(code))

    def _names(self, names: Any, limit: int = 10) -> str:
        names = [str(n) for n in names]
        shown = ", ".join(names[:limit])
        rest = len(names) - limit
        if rest > 0:
            shown += f" dan {rest} lainnya" if self.language == "id" else f" and {rest} more"
        return shown

    def _bold(self, value: Any) -> Any:
        if self.markup == "html":
            return Markup("<b>{}</b>").format(value)
        return f"*{value}*"

    def _italic(self, value: Any) -> Any:
        if self.markup == "html":
            return Markup("<i>{}</i>").format(value)
        return f"_{value}_"


def _percent(value: Any) -> str:
    """``0.25`` → ``25%``."""
    if value is None or isinstance(value, jinja2.Undefined | bool):
        return ""
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return str(value)


_SAMPLE_AT = datetime(2026, 11, 23, 2, 44, 5, tzinfo=UTC)


def sample_events() -> list[Event]:
    """One realistic event per EVENT_TYPES entry, for template validation and ``pantau test-notify``."""
    host = Source(kind="host", name="server-kantor", address="192.168.10.2", labels={"site": "kantor"})
    router = Source(kind="router", name="core", address="10.0.0.1", labels={"site": "pusat"},
                    identity="MikroTik-Core")
    hotspot = {"user": "budi", "address": "10.5.50.23", "mac": "AA:BB:CC:11:22:33", "server": "hotspot1",
               "login_by": "http-chap", "subscriber": {"phone": "6285712345678"}}
    ppp = {"name": "pelanggan-017", "service": "pppoe", "caller_id": "AA:BB:CC:44:55:66",
           "address": "10.20.0.17", "subscriber": None}
    data = {
        "host.down": {"loss": 1.0, "rtt_avg_ms": None, "reason": "timeout", "checks_failed": 3},
        "host.up": {"loss": 0.0, "rtt_avg_ms": 2.4, "down_for_s": 7500.0, "checks_ok": 2},
        "router.down": {"error": "connection refused"},
        "router.up": {"down_for_s": 312.0},
        "hotspot.login": hotspot,
        "hotspot.logout": {**hotspot, "uptime_s": 5400.0, "bytes_in": 3_145_728, "bytes_out": 52_428_800,
                           "reason": "lost-service"},
        "ppp.connect": ppp,
        "ppp.disconnect": {**ppp, "uptime_s": 93_784.0, "reason": "peer-request"},
        "subscriber.quota": {"user": "budi", "router": "core", "profile": "2M-harian", "kind": "data",
                             "used": 1_717_986_918, "limit": 2_147_483_648, "percent": 80.0, "level": 80,
                             "expires_at": "2026-11-24T10:00:00+07:00", "subscriber": {"phone": "6285712345678"}},
        "subscriber.expiring": {"user": "budi", "router": "core", "profile": "2M-harian", "kind": "validity",
                                "level_s": 3600, "remaining_s": 3420, "expires_at": "2026-11-24T10:00:00+07:00",
                                "subscriber": {"phone": "6285712345678"}},
        "registration.verified": {"request": "q2Xv7dUe1o9KcJcQ3w0pFQ", "name": "Budi", "phone": "6285712345678",
                                    "package": "2M-harian", "profile": "2M-harian", "message": "Rumah blok C"},
        "subscriber.expired": {"user": "budi", "router": "core", "profile": "2M-harian", "kind": "validity",
                               "reason": "validity", "remaining_s": 0, "expires_at": "2026-11-24T10:00:00+07:00",
                               "subscriber": {"phone": "6285712345678"}},
        "report.summary": {"period": "daily", "since": "2026-11-22T00:00:00.000Z", "until": "2026-11-23T00:00:00.000Z",
                           "sources": 12, "outages": 3, "downtime_s": 5400.0, "maintenance_s": 3600.0,
                           "worst": [{"kind": "host", "name": "olt-kampung", "uptime": 0.9375, "down_s": 5400.0,
                                      "outages": 2}],
                           "sessions_peak": {"core": 153}},
        "pantau.degraded": {"task": "router:core", "error": "OperationalError: disk I/O error", "crashes": 5,
                            "window_s": 300.0},
        "router.rebooted": {"old_uptime_s": 1_209_600, "uptime_s": 45, "old_version": "6.49.10 (long-term)",
                            "version": "6.49.10 (long-term)", "sessions_before": 21, "sessions_back": 20,
                            "sessions_ended": 1, "settle_s": 180.0},
        "router.interface_down": {"interface": "sfp1-uplink", "down_for_s": None},
        "router.interface_up": {"interface": "sfp1-uplink", "down_for_s": 95.0},
        "router.health": {"metric": "temperature", "value": 78.0, "limit": 70.0, "state": "bad", "bad_for_s": None},
        "audit.command": {"identity": "tg:123456789", "channel": "telegram", "role": "admin", "router": "core",
                          "command": "ppp.isolir", "args": ["pelanggan-017"], "result": "ok", "detail": None},
        "audit.refused": {"identity": "tg:987654321", "channel": "telegram", "role": None, "router": None,
                          "command": "status", "args": [], "result": "refused", "detail": "unknown identity"},
    }
    sources = {"host": host, "report": Source(kind="pantau", name="report"),
               "pantau": Source(kind="pantau", name="router:core"), "audit": Source(kind="bot", name="telegram"),
               "registration.verified": Source(kind="pantau", name="registration")}
    return [Event(type=t, source=sources.get(t, sources.get(t.split(".")[0], router)), data=data[t], at=_SAMPLE_AT)
            for t in EVENT_TYPES]
