"""``subscriptions:`` — expiry and quota warnings for hotspot users."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config.types import Percent, PositiveDuration


class SubscriptionsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check_every: PositiveDuration = 300.0  # how often each router's hotspot users are read
    quota_levels: list[Percent] = Field(default_factory=lambda: [0.80, 0.95])  # of limit-bytes / limit-uptime
    time_levels: list[PositiveDuration] = Field(default_factory=lambda: [86400.0, 3600.0])  # before the date
    routers: list[str] | None = None  # default: every router that watches hotspot
    # disable: pantau disables an expired user (and ends its session) through the router's manage:
    # user, every round until it is disabled; none: only the subscriber.expired event
    on_expiry: Literal["disable", "none"] = "none"

    @field_validator("quota_levels")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        for level in value:
            if not 0 < level < 1:
                raise ValueError(f"a quota level must be between 0% and 100% (not {level * 100:g}%)")
        return sorted(set(value))

    @field_validator("time_levels")
    @classmethod
    def _unique(cls, value: list[float]) -> list[float]:
        return sorted(set(value), reverse=True)
