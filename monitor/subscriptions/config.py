"""``subscriptions:`` — expiry and quota warnings for hotspot users and PPP secrets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..config.types import Percent, PositiveDuration


class SubscriptionsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check_every: PositiveDuration = 300.0  # how often each router's hotspot users and PPP secrets are read
    quota_levels: list[Percent] = Field(default_factory=lambda: [0.80, 0.95])  # of limit-bytes / limit-uptime
    time_levels: list[PositiveDuration] = Field(default_factory=lambda: [86400.0, 3600.0])  # before the date
    # default: every router (its hotspot users if it watches hotspot, its PPP secrets if it watches ppp)
    routers: list[str] | None = None
    # what pantau does to an expired subscriber through the router's manage: user (docs/subscribers.md):
    # disable: disables the user/secret and ends its session, every round until it is disabled;
    # isolir: the bot's /isolir (PPP: the router's isolir: setting; hotspot: isolir.hotspot_profile),
    #   once per subscription period, so the bot's /buka reverses it and it stays reversed;
    # none: only the subscriber.expired event
    on_expiry: Literal["disable", "isolir", "none"] = "none"

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

    def follows(self, router: Any) -> bool:
        return router.name in self.routers if self.routers is not None else True

    def router_problems(self, router: Any, path: str) -> list[str]:
        """What ``on_expiry`` needs from a router it follows (``path``: where that router is)."""
        problems = []
        if self.on_expiry != "none" and router.manage is None:
            problems.append(f"subscriptions.on_expiry: {self.on_expiry} needs {path}.manage (router {router.name!r} "
                            "has no manage: user to write with)")
        if self.on_expiry == "isolir" and "hotspot" in router.watch and not router.isolir.hotspot_profile:
            problems.append(f"subscriptions.on_expiry: isolir needs {path}.isolir.hotspot_profile (the hotspot user "
                            f"profile expired users of router {router.name!r} move to)")
        return problems


def enforcement_problems(settings: Any) -> list[str]:
    """``on_expiry``'s needs of every router it follows, by path (checked with the config)."""
    config = settings.subscriptions
    if config is None:
        return []
    return [p for i, r in enumerate(settings.routers) if config.follows(r)
            for p in config.router_problems(r, f"routers[{i}]")]
