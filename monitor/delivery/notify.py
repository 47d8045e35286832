"""The notifier contract: a small Protocol, a typed config base, and a convenience base class.

A notifier turns an Event into a message at a peer (webhook, Telegram, a WhatsApp gateway ...).
It is built with its validated config and a NotifierContext, and must:

* ``async send(event, recipient=None) -> None`` — deliver one event, or raise
  ``NotifyError(retryable=...)``. Never retry inside: the outbox owns retries, ordering and rate.
* ``async aclose() -> None`` — release what it holds (not the shared HTTP session).

Optional capabilities, discovered by attribute:

* ``recipients(event) -> list[str | None]`` — one outbox message per recipient (default ``[None]``).
* ``send_digest(events, recipient) -> None`` — one summary message for many waiting events.
* ``rate_limit(recipient) -> list[tuple[int, float]]`` — rate limits (messages, per seconds).
* ``async send_stored(payload, *, event_id, event_type, recipient) -> None`` — the same as ``send``
  but given the event as the outbox stored it (``Event.to_json()``), for a notifier that sends the
  event's JSON unchanged: the outbox then neither decodes nor re-encodes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config.types import Duration, Name, PositiveDuration
from ..errors import NotifyError
from ..events import Event
from .peer_http import request, snippet

if TYPE_CHECKING:  # aiohttp is imported when a request is made: `pantau check` never needs it
    import aiohttp

__all__ = ["BaseNotifier", "Notifier", "NotifierConfig", "NotifierContext", "NotifyError"]


class RateLimitConfig(BaseModel):
    """Rate limits written as ``"N/period"`` (``"1/5s"``, ``"20/1m"``): at most N per period. Empty
    list = the notifier's own default (its ``rate_limit(recipient)``); ``["off"]`` disables limiting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_recipient: list[str] | None = None
    per_notifier: list[str] | None = None

    @field_validator("per_recipient", "per_notifier")
    @classmethod
    def _rates(cls, value: list[str] | None) -> list[str] | None:
        from .ratelimit import parse_rates

        parse_rates(value)  # raises ValueError naming the bad item
        return value


class DigestConfig(BaseModel):
    """When more than ``after`` messages for one recipient wait within ``window``, send one summary."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    after: int = Field(5, ge=0, le=10_000)
    window: Duration = 30.0


class NotifierConfig(BaseModel):
    """Base of every notifier's typed config. Unknown keys are errors (``extra='forbid'``).

    The delivery fields (``max_age``, ``rate_limit``, ``digest``) are read by the outbox, not by
    the notifier; they live here so every notifier, built-in or plugin, accepts them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    type: str
    timeout: PositiveDuration = 10.0  # per HTTP request to the peer
    max_age: PositiveDuration = 86400.0  # retry until a message is this old, then dead-letter it
    rate_limit: RateLimitConfig = RateLimitConfig()
    digest: DigestConfig = DigestConfig()


@dataclass
class NotifierContext:
    """What the engine hands every notifier."""

    http: aiohttp.ClientSession
    log: Any = field(default_factory=lambda: structlog.get_logger("pantau.notify"))
    settings: Any = None  # the whole validated Settings, for notifiers that need e.g. the timezone
    config_dir: Path | None = None  # the config file's folder: relative template files resolve here


@runtime_checkable
class Notifier(Protocol):
    async def send(self, event: Event, recipient: str | None = None) -> None: ...

    async def aclose(self) -> None: ...


class BaseNotifier:
    """Optional base: stores config/context, provides ``recipients`` and a no-op ``aclose``.

    Subclasses set ``Config`` to their own NotifierConfig subclass and implement ``send``.
    """

    Config: ClassVar[type[NotifierConfig]] = NotifierConfig

    def __init__(self, config: NotifierConfig, context: NotifierContext):
        self.config = config
        self.context = context
        self.name = config.name

    @property
    def http(self) -> aiohttp.ClientSession:
        return self.context.http

    @property
    def log(self) -> Any:
        """The context's logger, bound to this notifier's name."""
        return self.context.log.bind(notifier=self.name)

    def recipients(self, event: Event) -> list[str | None]:
        return [None]

    async def send(self, event: Event, recipient: str | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def post_checked(http: aiohttp.ClientSession, url: str, *, timeout: float,
                       what: str, **kwargs: Any) -> tuple[int, str]:
    """POST and translate transport errors and HTTP status into NotifyError.

    Returns (status, body text) for 2xx. 429 and 5xx are retryable (429 honours Retry-After),
    other 4xx are not. ``what`` names the peer in messages; the URL is never included because it
    may carry a token.
    """
    reply = await request(http, url, timeout=timeout, what=what, **kwargs)
    if 200 <= reply.status < 300:
        return reply.status, reply.text
    retryable = reply.status in (408, 429) or reply.status >= 500
    raise NotifyError(f"{what} answered HTTP {reply.status}: {snippet(reply.text, 200)}",
                      retryable=retryable, retry_after=reply.retry_after, status=reply.status)
