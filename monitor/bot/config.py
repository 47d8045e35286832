"""``bot:`` in monitor.yaml: who may talk to the bot, with which role, and over which channel.

Identities are explicit: Telegram user ids, Telegram group ids (members get the group's role) and
WhatsApp numbers (normalised like every recipient). An empty list means nobody, never everyone.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..config.types import PositiveDuration, Secret
from ..delivery.phone import normalize_msisdn

Role = Literal["viewer", "operator", "admin"]
ROLE_RANK = {"viewer": 1, "operator": 2, "admin": 3}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TelegramBotConfig(_Model):
    token: Secret
    api_url: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = Field(25, ge=0, le=50)  # getUpdates long-poll seconds
    webhook_secret: Secret | None = None  # X-Telegram-Bot-Api-Secret-Token, webhook mode

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_url must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramBotConfig:
        if self.mode == "webhook" and self.webhook_secret is None:
            raise ValueError("webhook mode needs webhook_secret (Telegram sends it in every request)")
        return self


class WhatsAppBotConfig(_Model):
    """Inbound WhatsApp: which notifier (its provider) sends the replies, and the webhook's key."""

    provider: Literal["waha", "fonnte", "cloud"]
    notifier: str = Field(min_length=1)  # name of a `whatsapp` notifier: replies go out through it
    webhook_key: Secret  # WAHA HMAC key / Cloud API app secret / Fonnte: ?key= in the webhook URL
    verify_token: Secret | None = None  # Cloud API: answers Meta's hub.challenge when hub.verify_token matches
    path: str = "/bot/whatsapp"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9/_-]*", value):
            raise ValueError("path must start with / and hold only letters, digits, / _ -")
        return value


class RateLimitConfig(_Model):
    count: int = Field(20, ge=1)
    per: PositiveDuration = 60.0


class BotConfig(_Model):
    language: Literal["id", "en"] = "id"
    unknown: Literal["refuse", "silent"] = "refuse"  # what someone not on the list gets
    confirm_timeout: PositiveDuration = 60.0
    rate_limit: RateLimitConfig = RateLimitConfig()
    telegram_users: dict[int, Role] = {}
    telegram_groups: dict[int, Role] = {}
    whatsapp_numbers: dict[str, Role] = {}
    telegram: TelegramBotConfig | None = None
    whatsapp: WhatsAppBotConfig | None = None

    @field_validator("telegram_groups")
    @classmethod
    def _group_ids(cls, value: dict[int, Role]) -> dict[int, Role]:
        for gid in value:
            if gid >= 0:
                raise ValueError(f"group id {gid} must be negative (Telegram group and supergroup ids are)")
        return value

    @field_validator("whatsapp_numbers")
    @classmethod
    def _numbers(cls, value: dict[str, Role]) -> dict[str, Role]:
        out: dict[str, Role] = {}
        for number, role in value.items():
            normal = normalize_msisdn(str(number))
            if normal is None or not re.fullmatch(r"\d+", normal):
                raise ValueError(f"{number!r} is not a phone number")
            out[normal] = role
        return out

    @model_validator(mode="after")
    def _someone(self) -> BotConfig:
        if self.telegram is not None and not (self.telegram_users or self.telegram_groups):
            raise ValueError("telegram needs telegram_users or telegram_groups (an empty list is nobody)")
        if self.whatsapp is not None and not self.whatsapp_numbers:
            raise ValueError("whatsapp needs whatsapp_numbers (an empty list is nobody)")
        return self
