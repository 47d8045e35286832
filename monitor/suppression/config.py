"""``maintenance:`` windows in monitor.yaml, and the cross-checks of maintenance and dependencies."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .dependencies import dependency_problems
from .schedule import parse_span
from .windows import Window, parse_selector


class MaintenanceConfig(BaseModel):
    """A window: ``match`` targets, and either ``start``/``end`` (one-off; a time without an offset
    is in the top-level ``timezone``) or ``every: "sun 01:00-03:00"`` (recurring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: list[str] = Field(min_length=1)  # host:NAME | router:NAME | label:KEY=VALUE
    start: datetime | None = None
    end: datetime | None = None
    every: str | None = None
    reason: str = ""

    @field_validator("match", mode="before")
    @classmethod
    def _one(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("match")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_selector(text)
        return value

    @field_validator("every")
    @classmethod
    def _span(cls, value: str | None) -> str | None:
        if value is not None:
            parse_span(value)
        return value

    @model_validator(mode="after")
    def _when(self) -> MaintenanceConfig:
        if self.every is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("give either every (recurring) or start and end (one-off), not both")
        elif self.start is None or self.end is None:
            raise ValueError("a window needs start and end, or every (e.g. 'sun 01:00-03:00')")
        elif _naive(self.end) <= _naive(self.start):
            raise ValueError("end must be after start")
        return self

    def window(self, index: int, tz: str) -> Window:
        selectors = tuple(parse_selector(t) for t in self.match)
        if self.every is not None:
            return Window(f"config[{index}]", selectors, self.reason, span=parse_span(self.every))
        assert self.start is not None and self.end is not None
        return Window(f"config[{index}]", selectors, self.reason, start=_epoch(self.start, tz),
                      end=_epoch(self.end, tz))


def _naive(at: datetime) -> datetime:
    return at.replace(tzinfo=None) if at.tzinfo is None else at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _epoch(at: datetime, tz: str) -> float:
    return (at.replace(tzinfo=ZoneInfo(tz)) if at.tzinfo is None else at).timestamp()


def target_problems(targets: list[str], hosts: set[str], routers: set[str]) -> list[tuple[int, str]]:
    """Targets naming no configured host or router (a glob must match at least one), by index."""
    out = []
    for j, text in enumerate(targets):
        sel = parse_selector(text)
        if sel.kind == "label":
            continue
        names = hosts if sel.kind == "host" else routers
        if not fnmatch.filter(names, sel.value):
            out.append((j, f"unknown {sel.kind} {sel.value!r}"))
    return out


def suppression_problems(settings: object) -> list[str]:
    """Cross-checks of ``maintenance:`` targets and of host dependencies, by config path."""
    hosts = list(getattr(settings, "hosts", []))
    routers = list(getattr(settings, "routers", []))
    problems = dependency_problems(hosts, routers)
    host_names, router_names = {h.name for h in hosts}, {r.name for r in routers}
    for i, window in enumerate(getattr(settings, "maintenance", [])):
        problems += [f"maintenance[{i}].match[{j}]: {p}" for j, p in target_problems(window.match, host_names, router_names)]
    return problems
