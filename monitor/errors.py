"""pantau's own exception hierarchy.

Library errors (librouteros, icmplib, aiohttp) are translated into these at the boundary so the
rest of the engine never imports a third-party exception type. Messages never carry secrets.
"""

from __future__ import annotations


class PantauError(Exception):
    """Base class of every error pantau raises on purpose."""


class ConfigError(PantauError):
    """The configuration is invalid. ``problems`` holds one ``path: message`` line per error."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class NotifyError(PantauError):
    """A notifier could not deliver a message.

    ``retryable`` tells the outbox whether trying again later can help (5xx, timeouts, 429)
    or not (bad token, unknown chat). ``retry_after`` is the peer's own wait hint in seconds.
    ``partial``: part of the message (or digest) was delivered and the notifier remembers which,
    so the outbox retries exactly the same batch and the notifier sends only the rest.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None, partial: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.partial = partial


class ProbeError(PantauError):
    """The probe itself cannot work (e.g. no ICMP socket permitted). Fatal at start-up."""


class RouterError(PantauError):
    """Talking to a RouterOS router failed (refused, timeout, login, !fatal, broken stream)."""

    def __init__(self, message: str, *, kind: str = "error"):
        super().__init__(message)
        self.kind = kind


class RouterTrap(RouterError):
    """The router answered a command with ``!trap`` (e.g. no permission). The link is fine."""

    def __init__(self, message: str, *, category: int | None = None):
        super().__init__(message, kind="trap")
        self.category = category
