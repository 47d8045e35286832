"""Config value types shared by the engine and by notifier plugins' own config models."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, WithJsonSchema

from .durations import parse_duration


def _duration(value: object) -> float:
    return parse_duration(value)


def _percent(value: object) -> float:
    """``50%`` → 0.5; a bare number 0..1 is a fraction, 1..100 would be ambiguous so it needs ``%``."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                number = float(text[:-1])
            except ValueError:
                raise ValueError(f"invalid percentage {value!r}") from None
            if not 0 <= number <= 100:
                raise ValueError(f"percentage {value!r} out of range 0%..100%")
            return number / 100
        raise ValueError(f"invalid percentage {value!r} (write e.g. '50%')")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:  # NaN fails
        return float(value)
    raise ValueError(f"invalid percentage {value!r} (write e.g. '50%')")


def is_duration(field: object) -> bool:
    """Whether a pydantic FieldInfo holds a Duration (for printing ``5s`` rather than ``5.0``)."""
    return any(getattr(m, "json_schema", None) is _DURATION_SCHEMA.json_schema
               for m in getattr(field, "metadata", ()))


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name like 'Asia/Jakarta')") from None
    return value


def _name(value: str) -> str:
    """Names end up in log lines, messages and SQLite keys: printable text, no edge spaces."""
    if value.isascii() and value.isprintable() and value[:1] != " " and value[-1:] != " " and value:
        return value  # the common case, without the per-character walk below (100k hosts)
    if not value.strip():
        raise ValueError("must not be empty or blank")
    if value != value.strip():
        raise ValueError(f"{value!r} has spaces at the start or end")
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(f"{value!r} contains the invisible or control character U+{ord(bad):04X}")
    return value


def _state_path(value: str) -> str:
    """The SQLite file: not a directory, and its folder (created on start) not a file."""
    _name(value)
    path = Path(value).expanduser()
    if path.is_dir():
        raise ValueError(f"{value!r} is a directory; give a file in it, e.g. {str(path / 'pantau.db')!r}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ValueError(f"{value!r}: {str(parent)!r} is a file, not a directory")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


_DURATION_SCHEMA = WithJsonSchema({"anyOf": [
    {"type": "string",
     "pattern": r"^(?=\s*\d)\s*(\d+(\.\d+)?\s*(ms|us|ns|w|d|h|m|s)\s*)*(\d+:\d{2}:\d{2}(\.\d+)?)?\s*$",
     "examples": ["500ms", "10s", "1m30s", "1d2h", "00:01:00", "1d 02:00:00"]},
    {"type": "number", "minimum": 0}]})
_PERCENT_SCHEMA = WithJsonSchema({"anyOf": [
    {"type": "string", "pattern": r"^\s*\d+(\.\d+)?%$", "examples": ["50%"]},
    {"type": "number", "minimum": 0, "maximum": 1}]})

#: Seconds, written in config as ``500ms``, ``10s``, ``1m30s``, ``1w2d``, ``00:01:00``, ``1d 02:00:00``.
Duration = Annotated[float, BeforeValidator(_duration), _DURATION_SCHEMA]
#: A strictly positive duration.
PositiveDuration = Annotated[float, BeforeValidator(_duration), AfterValidator(_positive), _DURATION_SCHEMA]
#: A fraction 0..1, written in config as ``50%``.
Percent = Annotated[float, BeforeValidator(_percent), _PERCENT_SCHEMA]
#: An IANA timezone name (``Asia/Jakarta``, ``Asia/Makassar``, ``UTC``), checked against tzdata.
TimeZone = Annotated[str, AfterValidator(_timezone)]
#: A name (host, router, notifier): printable, no control or invisible characters, at most 200.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
#: The state database file (``state.path``): refused when it is a directory.
StatePath = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_state_path)]
#: A secret (password, token, key): repr/str/model_dump show ``**********``, never the value.
Secret = SecretStr


class SecretUrl(SecretStr):
    """An http(s) URL that may carry a token in its path or query (webhook URLs often do).

    It prints as ``scheme://host:port/…`` so operators can still tell where it points."""

    def _display(self) -> str:
        parts = urlsplit(self.get_secret_value())
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"


def _http_url(value: SecretStr) -> SecretUrl:
    text = value.get_secret_value().strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError("invalid port in URL") from None
    return SecretUrl(text)


#: A URL validated as http(s), kept secret except for its scheme, host and port.
HttpUrlSecret = Annotated[SecretStr, AfterValidator(_http_url)]
