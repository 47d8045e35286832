"""Parsing of human durations (config) and RouterOS durations (API replies)."""

from __future__ import annotations

import math
import re

#: The longest duration a config may give (10 years): beyond it a timer overflows or never fires.
MAX_DURATION = 10 * 365 * 86400.0
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_CONFIG_SPACE_UNIT = re.compile(r"(\d)\s+(ms|us|ns|w|d|h|m|s)(?![a-z])")
_CONFIG_SPACE_PARTS = re.compile(r"(?<=[a-z])\s+(?=\d)")  # "1d 02:00:00", "1h 30m"
_ROS_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|w|d|h|m|s)")
_ROS_CLOCK = re.compile(r"^(?:(\d+)d)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


def parse_duration(value: object) -> float:
    """Parse a config duration into seconds. Every form RouterOS users write is accepted:
    ``500ms``, ``10s``, ``1m30s``, ``1w2d3h4m5s``, ``00:01:00``, ``1d 02:00:00``, ``1d2h``
    (spaces between a number and its unit are fine: ``10 s``). Plain numbers are seconds.

    Raises ValueError with the offending text for anything else, and for NaN, infinities,
    negatives and durations over ``MAX_DURATION`` (``.nan`` once passed and left a host never
    checked).
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    seconds: float | None = None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"invalid duration {value!r}: not a finite number")
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: negative")
        seconds = float(value)
    elif isinstance(value, str):
        text = _CONFIG_SPACE_UNIT.sub(r"\1\2", value.strip())
        text = _CONFIG_SPACE_PARTS.sub("", text)
        if text and " " not in text:
            try:
                seconds = parse_routeros_duration(text)
            except ValueError:
                seconds = None
    if seconds is None:
        raise ValueError(f"invalid duration {value!r}")
    if not math.isfinite(seconds):
        raise ValueError(f"invalid duration {value!r}: not a finite number")
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {value!r} is too long (at most {MAX_DURATION / 86400:g}d)")
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds in the shortest RouterOS-style form: ``1w2d``, ``1m30s``, ``1s500ms``, ``0s``.

    ``parse_duration(format_duration(x)) == x`` to the millisecond."""
    millis = int(round(seconds * 1000))
    parts = []
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000),
                       ("s", 1000), ("ms", 1)):
        if millis >= size:
            parts.append(f"{millis // size}{unit}")
            millis %= size
    return "".join(parts) or "0s"


def parse_routeros_duration(value: object) -> float:
    """Parse a RouterOS duration: ``1w2d3h4m5s``, ``45m10s``, ``500ms``, ``01:22:53``, ``3d00:00:00``.

    Returns seconds. Raises ValueError for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid RouterOS duration {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not text:
        raise ValueError("empty RouterOS duration")
    m = _ROS_CLOCK.match(text)
    if m:
        days = int(m.group(1) or 0)
        return days * 86400 + int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
    # "1w2d3h" style, optionally followed by a clock part ("1w2d03:04:05")
    clock = re.search(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$", text)
    head, extra = text, 0.0
    if clock:
        head = text[: clock.start()]
        extra = int(clock.group(1)) * 3600 + int(clock.group(2)) * 60 + float(clock.group(3))
    pos, total = 0, 0.0
    factors = dict(_UNITS, us=1e-6, ns=1e-9)
    for part in _ROS_PART.finditer(head):
        if part.start() != pos:
            raise ValueError(f"invalid RouterOS duration {text!r}")
        total += float(part.group(1)) * factors[part.group(2)]
        pos = part.end()
    if pos != len(head) or (not head and not clock):
        raise ValueError(f"invalid RouterOS duration {text!r}")
    return total + extra
