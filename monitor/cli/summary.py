"""``pantau check``: a one-screen summary of a valid config. Secrets print as ``**********``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from .. import __version__
from ..config.durations import format_duration
from ..config.model import Config
from ..config.types import is_duration

_LIMIT = 15  # items listed per section before "… and N more"


def _value(v: Any, *, duration: bool = False) -> str:
    if duration and isinstance(v, float):
        return format_duration(v)
    if isinstance(v, SecretStr):
        return str(v)  # "**********", or scheme://host:port/… for a SecretUrl
    if isinstance(v, BaseModel):
        return "{" + ", ".join(_field(v, k) for k in v.model_fields_set) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def _field(model: BaseModel, name: str) -> str:
    duration = is_duration(type(model).model_fields[name])
    return f"{name}={_value(getattr(model, name), duration=duration)}"


def _fields(model: BaseModel, skip: tuple[str, ...] = ()) -> str:
    return " ".join(_field(model, k) for k in sorted(model.model_fields_set) if k not in skip)


def _section(title: str, lines: list[str]) -> list[str]:
    out = [f"{title} ({len(lines)}):"]
    out += [f"  {line}" for line in lines[:_LIMIT]]
    if len(lines) > _LIMIT:
        out.append(f"  … and {len(lines) - _LIMIT} more")
    return out


def summarize_config(config: Config) -> str:
    s = config.settings
    where = f" {config.source}" if config.source else ""
    out = [f"pantau {__version__}: config{where} is valid"]
    out += _section("hosts", [
        f"{h.name:<20} {h.address:<18} every {format_duration(h.interval)}, {h.count}×{format_duration(h.timeout)}, "
        f"down after {h.down_after}, up after {h.up_after}"
        + (f", max_loss {h.max_loss:.0%}" if h.max_loss is not None else "")
        + (f", max_rtt {format_duration(h.max_rtt)}" if h.max_rtt is not None else "")
        for h in config.hosts])
    out += _section("routers", [f"{r.name:<20} {_fields(r, ('name',))}" for r in s.routers])
    origins = {t.name: t.origin for t in config.registry.types()}
    out += _section("notifiers", [
        f"{n.name:<20} {n.type} ({origins.get(n.type, '?')}) {_fields(n, ('name', 'type'))}".rstrip()
        for n in config.notifiers])
    out += _section("routes", [
        f"{', '.join(r.events)} → {', '.join(r.notify)}"
        + (f" (sources {', '.join(r.sources)})" if r.sources != ["*"] else "")
        + (f" (labels {_value(r.labels)})" if r.labels else "")
        for r in s.routes])
    parents = [f"{h.name} → {h.parent}" for h in s.hosts if h.parent]
    if parents:
        out += _section("dependencies", parents)
    if s.maintenance:
        out += _section("maintenance", [f"{', '.join(m.match)}: {m.every or f'{m.start} → {m.end}'}"
                                        + (f" ({m.reason})" if m.reason else "") for m in s.maintenance])
    if s.reports:
        out += _section("reports", [f"{r.every} → {', '.join(r.notify)}" for r in s.reports])
    out.append(f"state: {s.state.path}   log: {s.log.level}/{s.log.format}   timezone: {s.timezone}   "
               f"icmp: {s.icmp.engine}")
    out.append(f"notifier types: {', '.join(config.registry.names())}")
    return "\n".join(out)
