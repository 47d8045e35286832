"""Router health as pure cores: debounced interface links and debounced thresholds.

``LinkDebouncer``: ``running`` changes arrive by ``listen``; a change counts only when it lasts
``hold`` seconds (a flapping port does not page anybody). ``ThresholdJudge``: each reading of
CPU load, free memory, temperature and voltage is judged against the configured limits through
the same ``Detector`` as hosts, so ``after`` consecutive readings over (or back under) a limit make
one ``router.health`` event. No I/O and no clock here: every call passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..hosts.detector import Detector, State
from .config import HealthConfig


@dataclass(frozen=True)
class LinkChange:
    interface: str
    running: bool
    at: float
    previous_since: float | None  # when the previous announced state began

    @property
    def duration_in_previous(self) -> float | None:
        return None if self.previous_since is None else max(0.0, self.at - self.previous_since)


class LinkDebouncer:
    """Per interface: the announced state, and a pending change with the time it was first seen."""

    def __init__(self, interfaces: list[str], hold: float):
        self.hold = hold
        self.watched = set(interfaces)
        self.announced: dict[str, tuple[bool, float]] = {}  # name → (running, since)
        self.pending: dict[str, tuple[bool, float]] = {}  # name → (running, first seen at)

    def observe(self, name: str, running: bool, now: float) -> LinkChange | None:
        """One reading (listen row or print). The first reading of an interface is a silent baseline."""
        if name not in self.watched:
            return None
        if name not in self.announced:
            self.announced[name] = (running, now)
            return None
        if running == self.announced[name][0]:
            self.pending.pop(name, None)  # flapped back within the hold: nothing happened
            return None
        if name not in self.pending or self.pending[name][0] != running:
            self.pending[name] = (running, now)
        return self.due(now, only=name)[0] if self.due_at(name, now) else None

    def due_at(self, name: str, now: float) -> bool:
        pend = self.pending.get(name)
        return pend is not None and now - pend[1] >= self.hold

    def due(self, now: float, only: str | None = None) -> list[LinkChange]:
        """The pending changes that have now lasted ``hold`` seconds (announce them)."""
        out = []
        for name in [only] if only else list(self.pending):
            if not self.due_at(name, now):
                continue
            running, first_seen = self.pending.pop(name)
            out.append(LinkChange(name, running, first_seen, self.announced[name][1]))
            self.announced[name] = (running, first_seen)
        return out

    def next_due(self) -> float | None:
        return min((seen + self.hold for _, seen in self.pending.values()), default=None)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    text = str(value).strip().rstrip("%CV").strip()
    try:
        return float(text)
    except ValueError:
        return None


def readings(resource: dict[str, str], health_rows: list[dict[str, str]]) -> dict[str, float]:
    """The metrics pantau can judge, from ``/system/resource`` and ``/system/health`` (v6: one row with
    ``temperature``/``voltage``; v7: one row per sensor with ``name``/``value``). Missing ones are left
    out (boards differ)."""
    out: dict[str, float] = {}
    for key, name in (("cpu-load", "cpu_load"), ("free-memory", "free_memory")):
        value = _number(resource.get(key))
        if value is not None:
            out[name] = value
    sensors: dict[str, Any] = {}
    for row in health_rows:
        if "name" in row and "value" in row:
            sensors[row["name"]] = row["value"]
        else:
            sensors.update(row)
    for key in ("temperature", "cpu-temperature", "board-temperature1"):
        value = _number(sensors.get(key))
        if value is not None:
            out["temperature"] = value
            break
    value = _number(sensors.get("voltage"))
    if value is not None:
        out["voltage"] = value
    return out


@dataclass(frozen=True)
class HealthChange:
    metric: str
    value: float
    limit: float
    state: str  # "bad" | "ok"
    at: float
    bad_for_s: float | None  # on recovery: how long it was bad

    def data(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.value, "limit": self.limit, "state": self.state,
                "bad_for_s": None if self.bad_for_s is None else round(self.bad_for_s, 3)}


class ThresholdJudge:
    """One Detector per configured limit; ``observe`` returns the changes to announce."""

    def __init__(self, cfg: HealthConfig):
        self.limits: dict[str, tuple[str, float]] = {}  # key → (metric, limit); key encodes the direction
        if cfg.cpu_load is not None:
            self.limits["cpu_load>"] = ("cpu_load", float(cfg.cpu_load))
        if cfg.free_memory is not None:
            self.limits["free_memory<"] = ("free_memory", float(cfg.free_memory))
        if cfg.temperature is not None:
            self.limits["temperature>"] = ("temperature", cfg.temperature)
        if cfg.voltage_min is not None:
            self.limits["voltage<"] = ("voltage", cfg.voltage_min)
        if cfg.voltage_max is not None:
            self.limits["voltage>"] = ("voltage", cfg.voltage_max)
        self.detectors = {key: Detector(cfg.after, cfg.after) for key in self.limits}

    def observe(self, values: dict[str, float], now: float) -> list[HealthChange]:
        out = []
        for key, (metric, limit) in self.limits.items():
            if metric not in values:
                continue
            value = values[metric]
            ok = value <= limit if key.endswith(">") else value >= limit
            t = self.detectors[key].observe(ok, now)
            if t is None or not t.announce:
                continue
            bad = t.current is State.DOWN
            out.append(HealthChange(metric, value, limit, "bad" if bad else "ok", now,
                                    None if bad else t.duration_in_previous))
        return out
