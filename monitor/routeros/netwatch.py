"""``pantau import-netwatch``: turn a router's /tool/netwatch entries into pantau ``hosts:`` YAML."""

from __future__ import annotations

import re

import structlog
import yaml

from ..config.durations import format_duration, parse_routeros_duration
from .client import RouterClient
from .config import RouterConfig

log = structlog.get_logger("pantau.routeros")


def _duration(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return format_duration(parse_routeros_duration(text))
    except ValueError:
        return None


def _name(comment: str | None, host: str) -> str:
    """The first line of the comment, trimmed (netwatch comments often hold a whole note)."""
    text = (comment or "").strip().splitlines()[0].strip() if comment and comment.strip() else ""
    return re.sub(r"\s+", " ", text) or host


def netwatch_to_hosts(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    """(hosts entries, notes). Disabled entries and entries without a host are left out, with a note."""
    hosts: list[dict[str, str]] = []
    notes: list[str] = []
    seen: dict[str, int] = {}
    for row in rows:
        host = row.get("host", "").strip()
        if not host:
            notes.append(f"skipped netwatch {row.get('.id', '?')}: no host (type {row.get('type', '?')})")
            continue
        name = _name(row.get("comment"), host)
        if row.get("disabled") in ("true", "yes"):
            notes.append(f"skipped disabled netwatch {name!r} ({host})")
            continue
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"
        entry = {"name": name, "address": host}
        for key in ("interval", "timeout"):
            value = _duration(row.get(key))
            if value:
                entry[key] = value
        hosts.append(entry)
    return hosts, notes


async def import_netwatch(config: RouterConfig) -> str:
    """Read /tool/netwatch from the router and return a ``hosts:`` YAML document to paste into the config.

    Raises RouterError / RouterTrap when the router cannot be read.
    """
    client = await RouterClient.for_router(config)
    try:
        rows = await client.print("/tool/netwatch")
    finally:
        await client.close()
    hosts, notes = netwatch_to_hosts(rows)
    log.info("netwatch_imported", router=config.name, hosts=len(hosts), skipped=len(notes))
    header = [f"# imported from /tool/netwatch of router {config.name!r} ({len(hosts)} hosts)"]
    header += [f"# {note}" for note in notes]
    body = yaml.safe_dump({"hosts": hosts}, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return "\n".join(header) + "\n" + body
