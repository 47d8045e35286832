"""Who is talking and what they may do: identities → roles, and a rate limit per identity."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..delivery.phone import normalize_msisdn
from .config import ROLE_RANK, BotConfig


@dataclass(frozen=True)
class Identity:
    """``key`` is stable and loggable: ``tg:12345``, ``wa:62857…``, ``ctl``."""

    key: str
    role: str | None  # None: not on any list
    chat: str  # where replies go

    def may(self, role: str) -> bool:
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[role]


def _best(*roles: str | None) -> str | None:
    present = [r for r in roles if r is not None]
    return max(present, key=ROLE_RANK.__getitem__) if present else None


def telegram_identity(config: BotConfig, user_id: int, chat_id: int) -> Identity:
    """A Telegram sender: their own role, or the group's role when they write in a listed group."""
    group_role = config.telegram_groups.get(chat_id) if chat_id < 0 else None
    return Identity(f"tg:{user_id}", _best(config.telegram_users.get(user_id), group_role), str(chat_id))


def whatsapp_identity(config: BotConfig, sender: str) -> Identity:
    number = normalize_msisdn(sender) or sender
    return Identity(f"wa:{number}", config.whatsapp_numbers.get(number), number)


def shell_identity() -> Identity:
    """``pantau ctl`` runs with the shell user's rights over the config file: admin."""
    return Identity("ctl", "admin", "ctl")


class RateLimiter:
    """At most ``count`` commands per ``per`` seconds per identity (sliding window, time passed in)."""

    def __init__(self, count: int, per: float):
        self.count, self.per = count, per
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        if len(self._seen) > 10_000:  # many one-off senders: forget the idle ones
            self._seen = {k: w for k, w in self._seen.items() if w and w[-1] > now - self.per}
        window = self._seen.setdefault(key, deque())
        while window and window[0] <= now - self.per:
            window.popleft()
        if len(window) >= self.count:
            return False
        window.append(now)
        return True
