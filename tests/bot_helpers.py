"""Shared set-up for the bot tests: a simulator with a read-only and a manage user, a BotCore."""

from __future__ import annotations

from monitor.bot.access import Identity
from monitor.bot.config import BotConfig
from monitor.bot.core import BotCore
from monitor.bot.store import BotStore
from monitor.routeros.config import RouterConfig
from monitor.routeros.sim.simulator import RouterSimulator

READ_PW = "read-pw-123"
MANAGE_PW = "manage-pw-456"
ADMIN, OPERATOR, VIEWER, STRANGER = 1001, 1002, 1003, 9999


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_sim() -> RouterSimulator:
    sim = RouterSimulator(username="root", password="root-pw-789")
    sim.add_user("pantau", READ_PW, write=False)
    sim.add_user("pantau-manage", MANAGE_PW, write=True)
    return sim


def router(port: int, name: str = "core", *, manage: bool = True, **extra) -> RouterConfig:
    values = {"name": name, "address": "127.0.0.1", "port": port, "username": "pantau", "password": READ_PW,
              "timeout": 1.0, **extra}
    if manage:
        values["manage"] = {"username": "pantau-manage", "password": MANAGE_PW}
    return RouterConfig.model_validate(values)


def bot_config(**extra) -> BotConfig:
    values = {"telegram_users": {ADMIN: "admin", OPERATOR: "operator", VIEWER: "viewer"},
              "whatsapp_numbers": {"0812-3456-7890": "admin"}, **extra}
    return BotConfig.model_validate(values)


def make_core(tmp_path, routers, clock=None, emit=None, **extra) -> BotCore:
    return BotCore(bot_config(**extra), routers, BotStore(tmp_path / "state.db"), state_path=str(tmp_path / "state.db"),
                   emit=emit, clock=clock or Clock())


def who(user: int, chat: int | None = None) -> Identity:
    """A Telegram sender in their private chat, or in group ``chat``."""
    from monitor.bot.access import telegram_identity

    return telegram_identity(bot_config(), user, user if chat is None else chat)
