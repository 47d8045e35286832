"""Configuration of one watched RouterOS router (the items of the top-level ``routers:`` list)."""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..config.types import Duration, Name, PositiveDuration, Secret
from ..delivery.phone import normalize_msisdn

#: Indonesian mobile numbers: 08…, 628…, +628…, with optional spaces/dashes/dots between digits.
DEFAULT_PHONE_REGEX = r"(?<![\d+])(?:\+?62|0)[\s.-]?8(?:[\s.-]?\d){7,12}(?!\d)"


#: Anonymous (certificate-less) key exchanges, the only ones a RouterOS api-ssl service without a
#: certificate offers; OpenSSL disables them below security level 0. TLS 1.3 has none, hence ≤ 1.2.
ANONYMOUS_CIPHERS = "HIGH:aNULL:!eNULL:@SECLEVEL=0"


class TlsConfig(BaseModel):
    """api-ssl settings. ``verify: false`` accepts any certificate (the router's self-signed one);
    ``anonymous: true`` also offers the anonymous-DH ciphers a router without a certificate needs."""

    model_config = ConfigDict(extra="forbid")
    verify: bool = True
    ca: Path | None = None
    anonymous: bool = False

    @model_validator(mode="after")
    def _anonymous_needs_no_verify(self) -> TlsConfig:
        if self.anonymous and self.verify:
            raise ValueError("anonymous: true has no certificate to verify: set verify: false as well")
        return self

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca) if self.ca else None)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.anonymous:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(ANONYMOUS_CIPHERS)
        return ctx


class SubscriberConfig(BaseModel):
    """Where a session's subscriber phone comes from: a field of /ip/hotspot/user or /ppp/secret."""

    model_config = ConfigDict(extra="forbid")
    field: Literal["comment", "email"] = "comment"
    regex: str = DEFAULT_PHONE_REGEX
    refresh: PositiveDuration = 300.0

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return value

    def phone_from(self, text: str | None) -> str | None:
        """The first phone number in ``text``, normalised to ``628…`` (digits only), or None."""
        if not text:
            return None
        m = re.search(self.regex, text)
        if not m:
            return None
        # a phone is normalised like every WhatsApp recipient; a custom regex may match other ids
        return normalize_msisdn(m.group(0)) or re.sub(r"\D", "", m.group(0)) or None


class HealthConfig(BaseModel):
    """Optional thresholds on what the router reports (``router.health``); unset = not watched."""

    model_config = ConfigDict(extra="forbid")
    interval: PositiveDuration = 30.0  # how often /system/resource and /system/health are read
    after: int = Field(default=3, ge=1)  # consecutive readings over/back under a limit before an event
    cpu_load: int | None = Field(default=None, ge=1, le=100)  # percent, alert above
    free_memory: int | None = Field(default=None, ge=1)  # bytes, alert below
    temperature: float | None = None  # °C, alert above
    voltage_min: float | None = None  # V, alert below
    voltage_max: float | None = None  # V, alert above


class ManageConfig(BaseModel):
    """A second, write-capable API user for the bot's account management (``policy=read,write,api``)."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1)
    password: Secret


class IsolirConfig(BaseModel):
    """How the bot isolates ("isolir") a PPPoE customer; renew reverses exactly this.

    ``disable``: the secret is disabled. ``profile``: the secret moves to ``profile`` (e.g. one
    whose address pool leads to a payment page) and/or its address goes into ``address_list``.
    Every mode drops the customer's ``/ppp/active`` session so it takes effect at once.
    ``hotspot_profile``: the hotspot user profile an isolated hotspot user moves to (``/hotspot
    isolir``, ``subscriptions.on_expiry: isolir``); its active session is ended.
    """

    model_config = ConfigDict(extra="forbid")
    mode: Literal["disable", "profile"] = "disable"
    profile: str | None = None
    address_list: str | None = None
    hotspot_profile: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _profile_mode_needs_target(self) -> IsolirConfig:
        if self.mode == "profile" and not (self.profile or self.address_list):
            raise ValueError("mode 'profile' needs profile and/or address_list")
        return self


class RouterConfig(BaseModel):
    """One router: how to reach its API and what to watch."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    address: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: Secret
    tls: Literal[False] | TlsConfig = False
    # how the router's words are encoded: auto = UTF-8, falling back to cp1252 per word (Winbox text)
    encoding: Literal["auto", "utf-8", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257",
                      "latin-1"] = "auto"
    watch: list[Literal["hotspot", "ppp"]] = Field(default_factory=lambda: ["hotspot", "ppp"], min_length=1)
    mode: Literal["listen", "poll"] = "listen"
    poll_interval: PositiveDuration = 5.0
    resync_interval: PositiveDuration = 300.0
    down_after: int = Field(default=3, ge=1, le=100_000)
    timeout: PositiveDuration = 10.0
    labels: dict[str, str] = Field(default_factory=dict)
    subscriber: SubscriberConfig = Field(default_factory=SubscriberConfig)
    # hosts[].via: at most this many /ping commands run on the router at once (its CPU is small)
    ping_concurrency: int = Field(default=4, ge=1, le=64)
    # after a reboot, sessions online before that come back within this window make no logout/login
    reboot_settle: Duration = Field(default=180.0, ge=0)
    interfaces: list[str] = Field(default_factory=list)  # link down/up of these (running, via listen)
    interface_hold: Duration = Field(default=5.0, ge=0)  # a link change must last this long to count
    health: HealthConfig | None = None
    netwatch: Literal["off", "follow"] = "off"  # follow: the router's /tool/netwatch status → host.*
    manage: ManageConfig | None = None  # without it the bot's management commands answer "not enabled"
    isolir: IsolirConfig = Field(default_factory=IsolirConfig)

    @field_validator("tls", mode="before")
    @classmethod
    def _tls_true(cls, value: object) -> object:
        return {} if value is True else value

    @field_validator("watch")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _default_port(self) -> RouterConfig:
        if self.port is None:
            self.port = 8729 if self.tls else 8728
        return self

    def ssl_context(self) -> ssl.SSLContext | None:
        return self.tls.ssl_context() if self.tls else None
