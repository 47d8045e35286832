"""``pantau check`` warnings: configs that are valid but do nothing, or cannot work as meant.

Pure: takes a validated ``Config`` and returns lines like ``hosts[1].address: '10.0.0' is not a
full IPv4 address``. Nothing here touches the network or the environment.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, SecretStr

from ..events import EVENT_TYPES
from ..hosts.pace import pace_warning
from .durations import format_duration
from .model import Config

DAY = 86400.0
#: Fragments of the sample values people forget to replace (monitor.yaml's defaults, docs, tutorials).
PLACEHOLDERS = ("change-me", "changeme", "replace-with", "replace_me", "your-token", "your_token", "123456:",
                "xxxxxxxx", "<token>", "<password>")
_DOTTED = re.compile(r"^[0-9.]+$")
#: what ipaddress.IPv4Address accepts: four numbers 0..255 without a leading zero
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$")


def lint_config(config: Config) -> list[str]:
    """Every warning for ``config``, each starting with the path it is about."""
    s = config.settings
    out: list[str] = []
    if not s.hosts and not s.routers:
        out.append("<root>: nothing is monitored (no hosts: and no routers:)")
    out += _route_warnings(config)
    d = s.defaults
    paced = s.icmp.engine != "icmplib" and s.icmp.pps != "auto"  # then the pace is checked below
    direct: list[SimpleNamespace] = []  # (interval, count) of the hosts the one-socket engine paces
    for i, h in enumerate(s.hosts):  # the raw hosts with the defaults applied here: no HostCheck per host
        warnings = _address_warnings(f"hosts[{i}].address", h.address)
        if warnings:
            out += warnings
        interval = h.interval or d.interval
        if interval > DAY:
            out.append(f"hosts[{i}].interval: {format_duration(interval)} is over a day between checks")
        # a check as long as its interval (pace.check_duration: echoes spaced, then the timeout) is
        # already a config error; nothing overlaps below that, so there is nothing to warn about
        if paced and h.via is None:
            direct.append(SimpleNamespace(interval=interval, count=h.count or d.count))
    if paced:  # the one-socket engine sends at icmp.pps for every direct host
        warning = pace_warning(s.icmp.pps, direct)
        if warning:
            out.append(warning)
    for i, r in enumerate(s.routers):
        out += _address_warnings(f"routers[{i}].address", r.address)
        for name in ("poll_interval", "resync_interval"):
            if getattr(r, name) > DAY:
                out.append(f"routers[{i}].{name}: {format_duration(getattr(r, name))} is over a day")
    out += _placeholder_warnings(config)
    return out


def _route_warnings(config: Config) -> list[str]:
    s = config.settings
    out: list[str] = []
    if not s.routes:
        out.append("routes: no routes, so no event reaches any notifier")
    used = {name for r in s.routes for name in r.notify}
    for i, n in enumerate(_own_notifiers(config)):
        if n.name not in used:
            out.append(f"notifiers[{i}]: notifier {n.name!r} is used by no route")
    if s.routes:
        for event_type in _expected_event_types(config):
            if not any(fnmatch.fnmatchcase(event_type, p) for r in s.routes for p in r.events):
                out.append(f"routes: no route matches {event_type} events (they are dropped)")
    return out


def _own_notifiers(config: Config) -> list[Any]:
    """The notifiers as written (not the per-route variants ``name@routes[i]``), in file order."""
    return [n for n in config.notifiers if "@" not in n.name]


def _expected_event_types(config: Config) -> list[str]:
    """The event types this config's sources can produce."""
    s = config.settings
    wanted: set[str] = set()
    if s.hosts:
        wanted.update(("host.down", "host.up"))
    for r in s.routers:
        wanted.update(("router.down", "router.up", "router.rebooted"))
        wanted.update(t for w in r.watch for t in EVENT_TYPES if t.startswith(f"{w}."))
        if r.interfaces:
            wanted.update(("router.interface_down", "router.interface_up"))
        if r.health is not None:
            wanted.add("router.health")
        if r.netwatch == "follow":
            wanted.update(("host.down", "host.up"))
    return [t for t in EVENT_TYPES if t in wanted]


def _address_warnings(path: str, address: str) -> list[str]:
    # IPv4 by one pattern rather than ipaddress (once per host: 100,000 in a large config)
    if _IPV4.fullmatch(address):
        if address == "0.0.0.0":
            return [f"{path}: {address} is the unspecified address, not a host"]
        if 224 <= int(address[:address.index(".")]) <= 239:
            return [f"{path}: {address} is a multicast address, not a host"]
        if address.endswith(".255"):
            return [f"{path}: {address} looks like a broadcast address"]
        return []
    if _DOTTED.match(address):
        why = ("is not a full IPv4 address (four numbers)" if address.count(".") != 3
               else "is not a valid IPv4 address (each number 0..255)")
        return [f"{path}: {address!r} {why}"]
    try:
        return _suspicious(path, ipaddress.IPv6Address(address.split("%")[0]))
    except ValueError:
        pass
    if ":" in address:
        return [f"{path}: {address!r} is not a valid IPv6 address"]
    if not _HOSTNAME.match(address):
        return [f"{path}: {address!r} is neither an IP address nor a valid host name"]
    return []


def _suspicious(path: str, ip: ipaddress.IPv6Address) -> list[str]:
    if ip.is_unspecified:
        return [f"{path}: {ip} is the unspecified address, not a host"]
    if ip.is_multicast:
        return [f"{path}: {ip} is a multicast address, not a host"]
    return []


def _placeholder_warnings(config: Config) -> list[str]:
    out = []
    for path, value in _secrets(config):
        lowered = value.lower()
        if any(p in lowered for p in PLACEHOLDERS):  # the message never quotes the value, not even a part
            out.append(f"{path}: still a sample value (like 'change-me' or '123456:replace-with…'); "
                       "set the real secret")
    return out


def _secrets(config: Config) -> Iterator[tuple[str, str]]:
    for i, n in enumerate(_own_notifiers(config)):
        yield from _walk(n, f"notifiers[{i}]")
    for i, r in enumerate(config.settings.routers):
        yield from _walk(r, f"routers[{i}]")


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, SecretStr):
        yield path, value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for j, v in enumerate(value):
            yield from _walk(v, f"{path}[{j}]")
