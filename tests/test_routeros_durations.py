"""RouterOS durations in all their forms (monitor.durations.parse_routeros_duration) and the
simulator's renderer agreeing with the parser."""

from __future__ import annotations

import pytest

from monitor.config.durations import parse_routeros_duration
from monitor.routeros.sim.menus import format_routeros_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
    ("45m10s", 2710),
    ("500ms", 0.5),
    ("01:22:53", 4973),
    ("3d00:00:00", 259200),
    ("1w2d03:04:05", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
    ("0s", 0),
    ("10s500ms", 10.5),
    ("2h", 7200),
    ("00:00:01.5", 1.5),
])
def test_parses_every_routeros_form(text: str, seconds: float) -> None:
    """Each form RouterOS prints (v6 clock style, v7 unit style, mixed, sub-second) parses exactly."""
    assert parse_routeros_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "1h 2m", "h", "12:3", True])
def test_rejects_garbage(text: object) -> None:
    """Anything that is not a RouterOS duration raises ValueError instead of becoming 0."""
    with pytest.raises(ValueError):
        parse_routeros_duration(text)


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3723, 86399, 86400, 604800 + 3661, 10 * 604800 + 1])
def test_simulator_rendering_round_trips(seconds: int) -> None:
    """The simulator writes uptimes the way RouterOS 7 does, and pantau's parser reads them back."""
    assert parse_routeros_duration(format_routeros_duration(seconds)) == seconds


@pytest.mark.parametrize("text", [
    "1w2d3h4m5s", "45m10s", "500ms", "01:22:53", "3d00:00:00", "1w2d03:04:05", "0s", "10s500ms", "2h",
    "00:00:01.5", "3d", "1h1h", "1.5s", "2m500ms", "7w", "59m59s", "", "abc", "5x", "1h 2m", "h", "12:3",
])
def test_session_uptime_fast_path_agrees_with_the_parser(text: str) -> None:
    """A session's uptime takes a one-match fast path for the unit form; for every form (and for
    garbage: None) the result is exactly what the general parser gives."""
    from monitor.routeros.sessions import SPECS, make_record

    try:
        expected = parse_routeros_duration(text) if text else None
    except ValueError:
        expected = None
    record = make_record(SPECS["hotspot"], {".id": "*1", "user": "u", "uptime": text}, now=1000.0)
    assert record["uptime_s"] == expected
    assert record["started_at"] == 1000.0 - (expected or 0.0)
