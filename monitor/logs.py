"""structlog set-up: logs go to standard error — JSON lines when it is not a TTY, a readable console
otherwise. Standard output belongs to the console notifier (and to commands' own output), so a
container's or journal's stderr stays parseable JSON and stdout stays the messages.

Logs are a product surface: keys are stable (``event``, ``host``, ``router``, ``user``,
``notifier``, ``attempt``, ``latency_ms``, ``error``). Secrets never reach a line: every secret
value the config holds is registered with ``register_secret`` and masked — with its fragments (the
token of ``Bearer X``, URL userinfo and query values, monitor.redaction) — in every string,
exception texts included (they are rendered to text before masking); tracebacks carry no locals.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog

from .delivery.phone import mask_phones
from .redaction import Redactor

_REDACTOR = Redactor()
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def register_secret(value: str | None) -> None:
    """Mask ``value`` and its fragments wherever they appear in a log line from now on (values of
    4+ chars, fragments of 6+), and in whatever ``redact`` is given."""
    _REDACTOR.add(value)


def register_secrets(values: Iterable[str | None]) -> None:
    for v in values:
        register_secret(v)


def redact(text: str) -> str:
    """``text`` with every registered secret and fragment masked (CLI output, stored errors)."""
    return _REDACTOR.redact(text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    return value


def _strings(values: Iterable[Any], out: list[str]) -> bool:
    """Collect every text ``_redact_value`` would mask in ``values`` into ``out``; False when one
    of them is something only ``_redact_value`` itself can render (an exception)."""
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            if not _strings(value.values(), out):
                return False
        elif isinstance(value, list | tuple):
            if not _strings(value, out):
                return False
        elif isinstance(value, BaseException):
            return False
    return True


def redact_secrets(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask registered secrets in every value (after exception rendering).

    Most lines hold no secret: their texts are scanned once, joined, and the line passes unchanged
    (a tenth of the cost of masking value by value, on every line pantau writes). A hit anywhere —
    or a match across the join, which only costs the slow path — masks value by value."""
    if not _REDACTOR:
        return event_dict
    texts: list[str] = []
    if _strings(event_dict.values(), texts) and not _REDACTOR.found_in("\x00".join(texts)):
        return event_dict
    return {k: _redact_value(v) for k, v in event_dict.items()}


# a quick look before the full phone-number scan: eight or more digits, maybe with separators
_PHONE_HINT = re.compile(r"(?:\d[\s.\-()]?){8,}")
_NOT_PHONES = frozenset({"timestamp", "level", "event", "logger", "event_id"})


def _mask_phone_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key == "identity" and value.startswith("tg:"):  # a Telegram user id, not a number
            return value
        return mask_phones(value) if _PHONE_HINT.search(value) else value
    if isinstance(value, dict):
        return {k: _mask_phone_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_phone_value(key, v) for v in value)
    return value


def mask_phone_numbers(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: at info and above, phone numbers in any value are masked
    (``0857-1234-5678`` → ``62857*****678``) — a hotspot user named by its number, a number an admin
    typed in a bot command, a gateway's error naming its target. Numbers live in the 0600 state DB;
    logs travel further. Debug lines keep them for troubleshooting."""
    if event_dict.get("level") == "debug":
        return event_dict
    texts: list[str] = []
    if _strings([v for k, v in event_dict.items() if k not in _NOT_PHONES], texts) and \
            not _PHONE_HINT.search("\x00".join(texts)):
        return event_dict  # most lines: one scan, nothing to mask
    for key, value in event_dict.items():
        if key not in _NOT_PHONES:
            event_dict[key] = _mask_phone_value(key, value)
    return event_dict


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None, *,
                      cache: bool = False) -> None:
    """Set up structlog. ``cache=True`` (long-running commands) binds each module's logger once,
    which makes a filtered-out ``log.debug`` on the per-check hot path nearly free."""
    stream = stream or sys.stderr
    json_out = fmt == "json" or (fmt == "auto" and not stream.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json_out:
        processors += [
            # structured tracebacks, built explicitly so they never carry local variables
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            redact_secrets,
            mask_phone_numbers,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ]
    else:
        processors += [
            structlog.processors.format_exc_info,  # exception text is masked like any other value
            redact_secrets,
            mask_phone_numbers,
            structlog.dev.ConsoleRenderer(
                colors=stream.isatty(),
                exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
                if _has_rich() else structlog.dev.plain_traceback,
            ),
        ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=cache,
    )


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def get_logger(name: str = "pantau") -> Any:
    return structlog.get_logger(name)
