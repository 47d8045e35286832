"""``/system/resource``: the router's version, uptime and load, read at connect and for health."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config.durations import parse_routeros_duration
from ..errors import RouterError
from .client import RouterClient

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class RouterResource:
    version: str  # as printed, e.g. "6.49.10 (long-term)" or "7.18.2 (stable)"
    uptime_s: float
    cpu_load: int | None  # percent
    free_memory: int | None  # bytes
    total_memory: int | None
    board_name: str | None

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    @property
    def major(self) -> int:
        return self.version_tuple[0]


def parse_version(text: str) -> tuple[int, int, int]:
    """``"6.49.10 (long-term)"`` → (6, 49, 10); ``"7.18"`` → (7, 18, 0). Raises ValueError otherwise."""
    m = _VERSION.match(text.strip())
    if not m:
        raise ValueError(f"not a RouterOS version: {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    digits = value.strip().removesuffix("%")
    # v6 prints memory as bytes ("912261120"); some outputs use KiB/MiB suffixes
    for suffix, factor in (("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3)):
        if digits.endswith(suffix):
            try:
                return int(float(digits[: -len(suffix)]) * factor)
            except ValueError:
                return None
    return int(digits) if digits.isdigit() else None


def resource_from_row(row: dict[str, str]) -> RouterResource:
    """Build a RouterResource from one ``/system/resource/print`` row (pure)."""
    version = row.get("version", "")
    parse_version(version)  # refuse a row without a usable version
    return RouterResource(version=version, uptime_s=parse_routeros_duration(row.get("uptime", "0s")),
                          cpu_load=_int(row.get("cpu-load")), free_memory=_int(row.get("free-memory")),
                          total_memory=_int(row.get("total-memory")), board_name=row.get("board-name"))


async def read_resource(client: RouterClient) -> RouterResource:
    """Print ``/system/resource`` once. Raises RouterError on a link failure or an unusable answer."""
    rows = await client.print("/system/resource")
    if not rows:
        raise RouterError("/system/resource/print returned no row", kind="broken")
    try:
        return resource_from_row(rows[0])
    except ValueError as exc:
        raise RouterError(f"/system/resource: {exc}", kind="broken") from None
