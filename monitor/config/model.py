"""Configuration: YAML → env substitution → typed models, every problem reported by its path.

``load_config(path)`` returns a ``Config`` or raises ``ConfigError`` whose ``problems`` are lines
like ``hosts[2].interval: invalid duration 'ten'``. Nothing here touches the network.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..bot.config import BotConfig
from ..delivery.notify import NotifierConfig
from ..delivery.registry import Registry, load_registry
from ..delivery.templates.renderer import MessageConfig, TemplateFile, TemplateRenderer
from ..errors import ConfigError
from ..events import EVENT_TYPES
from ..history.config import HistoryConfig, ReportConfig, report_problems
from ..hosts.pace import check_duration
from ..registration.config import RegistrationConfig
from ..routeros.config import RouterConfig
from ..subscriptions.config import SubscriptionsConfig, enforcement_problems
from ..suppression.config import MaintenanceConfig, suppression_problems
from ..web.config import HttpConfig
from .envsubst import substitute
from .types import Name, Percent, PositiveDuration, StatePath, TimeZone
from .yaml_reader import gc_paused, parse_yaml, read_text

__all__ = ["Config", "HostConfig", "RouteConfig", "Settings", "load_config", "parse_config"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckDefaults(_Model):
    interval: PositiveDuration = 10.0  # time between checks of one host
    count: int = Field(3, ge=1, le=100)  # echo requests per check
    timeout: PositiveDuration = 1.0  # wait per echo
    down_after: int = Field(3, ge=1, le=100_000)  # consecutive failed checks before DOWN
    up_after: int = Field(2, ge=1, le=100_000)  # consecutive good checks before UP


class HostConfig(_Model):
    name: Name
    address: str = Field(min_length=1)
    interval: PositiveDuration | None = None
    count: int | None = Field(None, ge=1, le=100)
    timeout: PositiveDuration | None = None
    down_after: int | None = Field(None, ge=1, le=100_000)
    up_after: int | None = Field(None, ge=1, le=100_000)
    max_loss: Percent | None = None  # a check fails when loss exceeds this (default: all lost)
    max_rtt: PositiveDuration | None = None  # a check fails when the average RTT exceeds this
    labels: dict[str, str] = {}
    via: str | None = Field(None, min_length=1)  # ping from this router (routers[].name) with /ping
    size: int | None = Field(None, ge=28, le=65535)  # echo size in bytes (via: hosts; RouterOS default 56)
    parent: str | None = None  # a host or router this one sits behind (docs/maintenance.md)

    @field_validator("address")
    @classmethod
    def _no_blank(cls, v: str) -> str:
        if v.strip() != v or " " in v:
            raise ValueError(f"invalid address {v!r}")
        return v


@dataclass(frozen=True)
class HostCheck:
    """A host with the defaults applied: everything the host loop needs."""

    name: str
    address: str
    interval: float
    count: int
    timeout: float
    down_after: int
    up_after: int
    max_loss: float | None
    max_rtt: float | None
    labels: Mapping[str, str]
    via: str | None = None  # the router that pings this host, None for pantau's own ICMP
    size: int = 56


class RouteConfig(_Model):
    events: list[str] = Field(min_length=1)  # glob patterns over event types: "host.*"
    notify: list[str] = Field(min_length=1)  # notifier names
    sources: list[str] = ["*"]  # glob patterns over the source name (host or router)
    labels: dict[str, str] = {}  # every label must match the source's labels
    # per-route message wording: overrides the notifiers' own templates/language for this route
    templates: dict[str, str | TemplateFile] = {}
    language: Literal["id", "en"] | None = None


class IcmpConfig(_Model):
    engine: Literal["auto", "socket", "icmplib"] = "auto"  # socket = one-socket engine for many hosts
    privileged: Literal["auto"] | bool = "auto"  # auto: unprivileged ICMP if allowed, else raw
    # echo requests per second at most (socket engine); auto: sized from the hosts (hosts/pace.py)
    pps: int | str = "auto"

    @field_validator("pps", mode="before")
    @classmethod
    def _pps(cls, v: Any) -> int | str:
        if v == "auto":
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1_000_000:
            raise ValueError(f"must be auto or a whole number of echoes per second from 1 to 1000000, not {v!r}")
        return v


class StateConfig(_Model):
    path: StatePath = "./pantau.db"
    keep_sent: PositiveDuration = 7 * 86400.0  # sent messages are pruned after this
    keep_dead: PositiveDuration = 30 * 86400.0  # dead letters are pruned after this


class LogConfig(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Model):
    """The top level of monitor.yaml, notifiers kept raw (they are validated per type)."""

    defaults: CheckDefaults = CheckDefaults()
    hosts: list[HostConfig] = []
    routers: list[RouterConfig] = []
    # raw here; validated per type into Config.notifiers, then dropped (they may hold secrets)
    notifiers: list[dict[str, Any]] = Field(default=[], repr=False)
    routes: list[RouteConfig] = []
    icmp: IcmpConfig = IcmpConfig()
    state: StateConfig = StateConfig()
    log: LogConfig = LogConfig()
    plugins_dir: str | None = "./plugins"
    timezone: TimeZone = "Asia/Jakarta"
    subscriptions: SubscriptionsConfig | None = None  # expiry and quota warnings (hotspot users, PPP secrets)
    http: HttpConfig | None = None  # pantau's HTTP server (health; later metrics, status page, webhooks)
    bot: BotConfig | None = None  # the operator bot (docs/bot.md)
    history: HistoryConfig = HistoryConfig()  # event history retention (docs/history.md)
    reports: list[ReportConfig] = []  # scheduled uptime summaries (docs/history.md)
    maintenance: list[MaintenanceConfig] = []  # maintenance windows (docs/maintenance.md)
    registration: RegistrationConfig | None = None  # the contact and registration page (docs/subscribers.md)


@dataclass(frozen=True)
class Config:
    settings: Settings
    notifiers: list[NotifierConfig]  # including the per-route variants ("tg@routes[1]")
    registry: Registry
    source: Path | None = None
    routes: list[RouteConfig] = field(default_factory=list)  # notify names point at the variants

    @property
    def hosts(self) -> list[HostCheck]:
        return self.host_checks()

    def host_checks(self, limit: int | None = None) -> list[HostCheck]:
        """The first ``limit`` hosts (all by default) with the defaults applied."""
        d = self.settings.defaults
        return [
            HostCheck(
                name=h.name, address=h.address,
                interval=h.interval or d.interval, count=h.count or d.count,
                timeout=h.timeout or d.timeout, down_after=h.down_after or d.down_after,
                up_after=h.up_after or d.up_after, max_loss=h.max_loss, max_rtt=h.max_rtt,
                labels=dict(h.labels), via=h.via, size=h.size or 56,
            )
            for h in self.settings.hosts[:limit]
        ]

    def notifier(self, name: str) -> NotifierConfig:
        return next(n for n in self.notifiers if n.name == name)


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def _messages(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        for lead in ("Value error, ", "Assertion failed, "):
            if msg.startswith(lead):
                msg = msg[len(lead):]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        if err["type"] == "missing":
            msg = "required"
        lines.append(f"{format_loc(loc)}: {msg}")
    return lines


def parse_config(data: Any, *, env: Mapping[str, str] | None = None, base_dir: Path | None = None,
                 registry: Registry | None = None, source: Path | None = None,
                 substitute_env: bool = True) -> Config:
    """Validate an already-parsed YAML document. Collects every problem before raising.
    ``substitute_env=False`` skips the ``${VAR}`` walk (the text has no ``$`` at all)."""
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["<root>: the config must be a mapping (key: value)"])
    if substitute_env:
        data = substitute(data, os.environ if env is None else env, problems=problems)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems.extend(_messages(exc))
        problems.extend(_notifier_problems_alone(data, base_dir, registry))  # every error in one run
        raise ConfigError(problems) from None

    if registry is None:
        plugins = settings.plugins_dir
        if plugins is not None and base_dir is not None and not Path(plugins).is_absolute():
            plugins = str(base_dir / plugins)
        registry = load_registry(plugins)
    problems.extend(registry.problems)

    notifiers = _validate_notifiers(settings, registry, problems, base_dir)
    _cross_checks(settings, notifiers, problems)
    routes = _route_variants(settings.routes, notifiers, problems, base_dir)
    if problems:
        raise ConfigError(problems)
    settings = settings.model_copy(update={"notifiers": []})
    return Config(settings=settings, notifiers=notifiers, registry=registry, source=source, routes=routes)


def _notifier_problems_alone(data: dict[str, Any], base_dir: Path | None, registry: Registry | None) -> list[str]:
    """When the rest of the config is invalid, still validate the notifiers, so a user does not fix
    the hosts only to learn about a notifier on the next run."""
    try:
        alone = Settings.model_validate({k: data[k] for k in ("notifiers", "timezone", "plugins_dir") if k in data})
    except ValidationError:
        return []  # the notifiers list itself (or the timezone) is broken: already reported above
    problems: list[str] = []
    if registry is None:
        plugins = alone.plugins_dir
        if plugins is not None and base_dir is not None and not Path(plugins).is_absolute():
            plugins = str(base_dir / plugins)
        registry = load_registry(plugins)
    _validate_notifiers(alone, registry, problems, base_dir)
    return problems


def _route_variants(routes: list[RouteConfig], notifiers: list[NotifierConfig], problems: list[str],
                    base_dir: Path | None) -> list[RouteConfig]:
    """Routes with their own templates/language get their own variant of each notifier, named
    ``NAME@routes[i]`` (stable across restarts, so pending outbox rows still find it)."""
    by_name = {n.name: n for n in notifiers}
    out = []
    for i, route in enumerate(routes):
        if not route.templates and route.language is None:
            out.append(route)
            continue
        names = []
        for j, name in enumerate(route.notify):
            base = by_name.get(name)
            if base is None:
                continue  # reported by _cross_checks
            if not isinstance(base, MessageConfig):
                problems.append(f"routes[{i}].notify[{j}]: notifier {name!r} ({base.type}) renders no "
                                "message templates, so this route's templates/language cannot apply")
                continue
            variant = base.model_copy(update={
                "name": f"{name}@routes[{i}]", "templates": {**base.templates, **route.templates},
                "language": route.language or base.language})
            if _template_problems(variant, f"routes[{i}]", base_dir, problems):
                continue
            notifiers.append(variant)
            names.append(variant.name)
        out.append(route.model_copy(update={"notify": names}))
    return out


def _validate_notifiers(settings: Settings, registry: Registry, problems: list[str],
                        base_dir: Path | None) -> list[NotifierConfig]:
    out: list[NotifierConfig] = []
    for i, raw in enumerate(settings.notifiers):
        type_name = raw.get("type")
        if not isinstance(type_name, str):
            problems.append(f"notifiers[{i}].type: required (one of {', '.join(registry.names())})")
            continue
        kind = registry.get(type_name)
        if kind is None:
            problems.append(f"notifiers[{i}].type: unknown notifier type {type_name!r} "
                            f"(known: {', '.join(registry.names())})")
            continue
        model = kind.config_model
        if issubclass(model, MessageConfig) and "timezone" not in raw:
            raw = {**raw, "timezone": settings.timezone}  # the top-level timezone is the default
        try:
            cfg = model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_messages(exc, ("notifiers", i)))
            continue
        except ConfigError as exc:  # a plugin's own validator may raise it with sub-paths
            problems.extend(f"notifiers[{i}].{p}" for p in exc.problems)
            continue
        if isinstance(cfg, MessageConfig) and _template_problems(cfg, f"notifiers[{i}]", base_dir, problems):
            continue
        out.append(cfg)
    return out


def _template_problems(cfg: MessageConfig, path: str, base_dir: Path | None, problems: list[str]) -> bool:
    """Compile every template and render every sample event; record problems under ``path``."""
    try:
        TemplateRenderer.from_config(cfg, "text", base_dir=base_dir).validate(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return True
    return False


def _duplicates(names: list[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    dups = []
    for i, n in enumerate(names):
        if n in seen:
            dups.append((i, n))
        seen.add(n)
    return dups


def _cross_checks(settings: Settings, notifiers: list[NotifierConfig], problems: list[str]) -> None:
    for i, name in _duplicates([h.name for h in settings.hosts]):
        problems.append(f"hosts[{i}].name: duplicate host name {name!r}")
    for i, name in _duplicates([r.name for r in settings.routers]):
        problems.append(f"routers[{i}].name: duplicate router name {name!r}")
    for i, name in _duplicates([str(n.get("name")) for n in settings.notifiers]):
        problems.append(f"notifiers[{i}].name: duplicate notifier name {name!r}")
    known = {str(n.get("name")) for n in settings.notifiers}
    for i, route in enumerate(settings.routes):
        for j, pattern in enumerate(route.events):
            if not any(fnmatch.fnmatchcase(t, pattern) for t in EVENT_TYPES):
                problems.append(f"routes[{i}].events[{j}]: {pattern!r} matches no event type "
                                f"(types: {', '.join(EVENT_TYPES)})")
        for j, name in enumerate(route.notify):
            if name not in known:
                problems.append(f"routes[{i}].notify[{j}]: unknown notifier {name!r}")
    problems.extend(report_problems(settings))
    problems.extend(suppression_problems(settings))
    routers = {r.name for r in settings.routers}
    for i, name in enumerate((settings.subscriptions.routers or []) if settings.subscriptions else []):
        if name not in routers:
            problems.append(f"subscriptions.routers[{i}]: unknown router {name!r}")
    problems.extend(enforcement_problems(settings))
    d = settings.defaults
    longest_of: dict[tuple[float, int, float], float] = {}  # most hosts share a few (interval, count, timeout)
    for i, host in enumerate(settings.hosts):
        if host.via is not None and host.via not in routers:
            problems.append(f"hosts[{i}].via: unknown router {host.via!r} "
                            f"(routers: {', '.join(sorted(routers)) or 'none configured'})")
        if host.size is not None and host.via is None:
            problems.append(f"hosts[{i}].size: applies to via: hosts only (pantau's own ICMP uses 56 bytes)")
        timeout = host.timeout or d.timeout
        interval = host.interval or d.interval
        count = host.count or d.count
        longest = longest_of.get((interval, count, timeout))
        if longest is None:
            longest = longest_of[(interval, count, timeout)] = check_duration(interval, count, timeout)
        if longest >= interval:
            problems.append(f"hosts[{i}]: a check takes up to {longest:g}s ({count} echoes, timeout "
                            f"{timeout:g}s), not less than the interval ({interval:g}s), so every other "
                            "check would be skipped: lower timeout or count, or raise the interval")


def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
                registry: Registry | None = None) -> Config:
    """Read and validate a YAML config file; relative paths in it are relative to the file."""
    path = Path(path)
    with gc_paused():  # a large config allocates millions of objects at once
        text = read_text(path)
        data = parse_yaml(text, str(path))
        return parse_config(data, env=env, base_dir=path.parent, registry=registry, source=path,
                            substitute_env="$" in text)
