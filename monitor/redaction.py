"""Masking secrets — and the parts of them a peer may echo back — in any text.

A secret is rarely echoed whole: a gateway answers ``invalid token abc123`` for the header
``Authorization: Bearer abc123``, a proxy logs ``?api_key=k9`` without the rest of the URL, an
HTTP library prints ``http://user:pw@host`` without the query. So every secret is registered with
its fragments (``secret_fragments``): the credential after an auth scheme word, the decoded
``Basic`` pair, a URL's userinfo, query values and long path segments, the parts of a
``id:token`` pair, and the percent-encoded forms of each. ``Redactor.redact`` masks them all,
longest first. The process-wide redactor behind ``monitor.logs`` masks every log line; the outbox
scrubs a peer's error with it before the error reaches SQLite, and the CLI before printing.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

__all__ = ["MASK", "Redactor", "collect_secrets", "secret_fragments", "scrub"]

MASK = "***"
MIN_SECRET = 4  # a whole configured secret shorter than this is not masked (it would mask words)
MIN_FRAGMENT = 6  # a derived fragment must be at least this long
MIN_PATH_SEGMENT = 12  # URL path segments this long are taken as tokens (webhook/bot URLs)
_SCHEMES = {"bearer", "basic", "token", "bot", "digest", "apikey", "api-key", "key", "sso-key"}


def secret_fragments(value: str) -> set[str]:
    """``value`` and every part of it worth masking on its own (see the module docstring)."""
    out: set[str] = set()
    if not value or len(value) < MIN_SECRET:
        return out
    out.add(value)
    parts: set[str] = set()
    words = value.split()
    if len(words) > 1:
        rest = words[1:] if words[0].lower() in _SCHEMES else words
        parts.update(w for w in rest)
        parts.add(" ".join(rest))
        if words[0].lower() == "basic" and len(words) == 2:
            parts.update(_basic(words[1]))
    url = urlsplit(value) if "://" in value else None
    if url is not None and url.scheme and url.netloc:
        if url.password:
            parts.update({url.password, unquote(url.password)})
            # HTTP clients turn userinfo into "Authorization: Basic base64(user:password)"
            pair = f"{unquote(url.username or '')}:{unquote(url.password)}".encode()
            parts.add(base64.b64encode(pair).decode())
        elif url.username:  # https://TOKEN@host: the user part is the credential
            parts.update({url.username, unquote(url.username)})
        for _k, v in parse_qsl(url.query, keep_blank_values=False):
            parts.add(v)
        parts.update(s for s in url.path.split("/") if len(s) >= MIN_PATH_SEGMENT)
        if url.fragment:
            parts.add(url.fragment)
    elif ":" in value and len(words) == 1:  # id:token (Telegram bot tokens), user:password
        parts.update(value.split(":", 1))
    for part in parts:
        if len(part) >= MIN_FRAGMENT:
            out.add(part)
    for item in list(out):
        for encoded in (quote(item, safe=""), quote_plus(item, safe="")):
            if encoded != item:
                out.add(encoded)
    return out


def _basic(b64: str) -> set[str]:
    try:
        decoded = base64.b64decode(b64, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return set()
    user, _, password = decoded.partition(":")
    return {decoded, password} if password else {decoded}


class Redactor:
    """A set of secrets (with fragments) masked in text; safe to extend while in use."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        if not value:
            return
        new = secret_fragments(value) - self._values
        if new:
            self._values |= new
            self._pattern = None

    def add_all(self, values: Iterable[str | None]) -> None:
        for v in values:
            self.add(v)

    def __bool__(self) -> bool:
        return bool(self._values)

    def redact(self, text: str) -> str:
        if not self._values or not text:
            return text
        return self._compiled().sub(MASK, text)

    def found_in(self, text: str) -> bool:
        """Whether any secret or fragment occurs in ``text`` (one scan; nothing is replaced)."""
        return bool(self._values) and self._compiled().search(text) is not None

    def _compiled(self) -> re.Pattern[str]:
        pattern = self._pattern
        if pattern is None:
            ordered = sorted(self._values, key=len, reverse=True)
            pattern = self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return pattern


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Mask ``secrets`` and their fragments in ``text`` (a notifier scrubbing its peer's answer)."""
    redactor = Redactor()
    redactor.add_all(secrets)
    return redactor.redact(text)


def collect_secrets(*trees: Any) -> list[str]:
    """Every SecretStr value inside pydantic models, dicts and lists (configs)."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []
    stack: list[Any] = list(trees)
    while stack:
        value = stack.pop()
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            stack.extend(getattr(value, name) for name in type(value).model_fields)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return found
