"""``registration:`` — the contact and registration page on its own listener."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..config.types import PositiveDuration
from ..web.config import split_listen


class PackageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=r"^[\w.-]+$")  # shown on the form, e.g. 2M-harian
    # hotspot: a hotspot user (/ip/hotspot/user); pppoe: a PPP secret (/ppp/secret, service=pppoe)
    # the customer types into their router or ONT
    service: Literal["hotspot", "pppoe"] = "hotspot"
    profile: str = Field(min_length=1, max_length=64)  # the hotspot user profile or PPP profile on the router
    label: str | None = Field(None, max_length=80)  # what the form says, e.g. "2 Mbps, 1 hari, Rp5.000"
    # when any of these is set, approving a request creates or updates the profile on the router
    rate_limit: str | None = Field(None, pattern=r"^\d+[kKmMgG]?(/\d+[kKmMgG]?)?$")  # rx/tx, e.g. 2M/2M
    # devices at once; a PPP profile only knows one (only-one=yes) or any number, so pppoe takes 1
    shared_users: int | None = Field(None, ge=1, le=1000)
    session_timeout: PositiveDuration | None = None
    validity: PositiveDuration | None = None  # written as the expiry date in the user's comment (Mikhmon)

    @field_validator("shared_users")
    @classmethod
    def _one_for_pppoe(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value != 1 and info.data.get("service") == "pppoe":
            raise ValueError(f"a pppoe package takes 1 (only-one=yes on the PPP profile) or nothing, not {value}: "
                             "a PPP profile cannot allow a number of devices")
        return value


class RegistrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # its own listener, so the walled garden opens only this page (not /metrics or the status page)
    listen: str
    notifier: str = Field(min_length=1)  # a whatsapp notifier: it sends the one-time codes
    packages: list[PackageConfig] = Field(min_length=1)
    language: str = "id"  # the form's default language (?lang=en switches)
    code_ttl: PositiveDuration = 600.0  # a one-time code is valid this long
    code_attempts: int = Field(5, ge=1, le=20)  # wrong codes before the request is dropped
    per_ip: int = Field(5, ge=1, le=1000)  # requests per client address per window
    per_number: int = Field(3, ge=1, le=1000)  # requests (codes sent) per WhatsApp number per window
    window: PositiveDuration = 3600.0
    max_pending: int = Field(50, ge=1, le=10_000)  # unverified + waiting requests at once
    # approvals: verified requests go to the bot's Telegram admins with Setujui / Tolak, and an
    # approved one becomes a hotspot user or PPP secret on this router (through its manage: user). Unset: the
    # request is only the registration.verified event.
    router: str | None = None
    # the page's address as hotspot clients open it, sent to numbers with no account
    link: str | None = Field(None, pattern=r"^https?://\S+$")
    # WhatsApp self-service through the bot's WhatsApp inbound (bot.whatsapp): numbers not on the
    # bot's lists may ask cek / status / kuota / bantuan; numbers with no account get `link`
    self_service: bool = False
    # /daftar in the bot's Telegram (with approvals on): people on no list register through the bot
    telegram_signup: bool = True
    per_telegram_user: int = Field(3, ge=1, le=1000)  # /daftar conversations per Telegram user per window
    # a chat with the admins on the page itself (/chat), relayed to the bot's Telegram admins; their
    # replies show on the visitor's page (and go to WhatsApp when that browser verified a number)
    chat: bool = False
    chat_per_ip: int = Field(30, ge=1, le=10_000)  # chat messages per client address per window
    chat_per_session: int = Field(10, ge=1, le=1000)  # chat messages per visitor (browser) per window
    chat_max_open: int = Field(200, ge=1, le=10_000)  # conversations active within relay_keep, at once
    # relayed messages (WhatsApp and page), page chats and rejection-reason prompts are kept this long
    relay_keep: PositiveDuration = 7 * 86400.0

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        split_listen(v)
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        if v not in ("id", "en"):
            raise ValueError("must be id or en")
        return v

    @model_validator(mode="after")
    def _unique(self) -> RegistrationConfig:
        names = [p.name for p in self.packages]
        if len(names) != len(set(names)):
            raise ValueError(f"packages: names must be unique ({', '.join(sorted(names))})")
        return self
