"""One HTTP request to a notifier's peer, with transport errors translated into NotifyError.

``request`` returns the reply for every HTTP status: Telegram and the WhatsApp gateways explain
their 4xx in the body, and that text is what the operator needs. ``post_checked`` (in
monitor.notify) builds on it for peers where the status alone decides. URLs are never put in
messages (Telegram's carries the bot token).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotifyError
from ..logs import redact

if TYPE_CHECKING:
    import aiohttp


@dataclass
class Reply:
    status: int
    text: str
    data: Any  # the parsed JSON body, or None when the body is not JSON
    retry_after: float | None  # from a Retry-After header
    latency_ms: int


async def request(http: aiohttp.ClientSession, url: str, *, timeout: float, what: str,
                  method: str = "POST", **kwargs: Any) -> Reply:
    """Send one request; raise a retryable NotifyError on timeout or connection failure."""
    import aiohttp  # here, not at import: loading a config (`pantau check`) needs no HTTP client

    started = time.monotonic()
    try:
        async with http.request(method, url, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs) as resp:
            text = await resp.text(errors="replace")
            retry_after = _seconds(resp.headers.get("Retry-After"))
            status = resp.status
    except TimeoutError:
        raise NotifyError(f"{what} did not answer within {timeout:g}s", retryable=True) from None
    except aiohttp.ClientConnectorError as exc:
        reason = exc.os_error.strerror if exc.os_error and exc.os_error.strerror else type(exc).__name__
        raise NotifyError(f"cannot connect to {what}: {reason}", retryable=True) from None
    except aiohttp.ClientError as exc:
        raise NotifyError(f"{what} request failed: {type(exc).__name__}", retryable=True) from None
    except ValueError as exc:  # aiohttp refuses the request itself (e.g. URL userinfo + Authorization)
        raise NotifyError(f"{what}: request not sent: {redact(str(exc))}", retryable=False) from None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    return Reply(status, text, data, retry_after, int((time.monotonic() - started) * 1000))


def snippet(text: Any, limit: int = 300) -> str:
    """A peer's text on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
