"""Account provisioning: what an approved request becomes on the router, whoever approved it (the
Telegram buttons, a WhatsApp code, the bot's ``/daftar``).

``provision(router, package, name=..., phone=..., now=..., timezone=...)`` connects with the
router's ``manage:`` user, creates or updates the package's profile when the package sets limits
(``/ip/hotspot/user/profile``, or ``/ppp/profile`` for a ``service: pppoe`` package), adds the
account (a hotspot user, or a PPP secret with ``service=pppoe``) with a generated password and the phone and expiry in the comment (Mikhmon's
format, so existing panels still read it), and returns an :class:`Account`. ``credentials(account,
language)`` is the message for the requester. Raises ``RouterError`` when the router fails."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..bot.commands.hotspot_manage import new_code
from ..config.durations import format_duration
from ..errors import ConfigError, RouterError
from ..routeros.client import RouterClient
from ..routeros.config import RouterConfig
from ..subscriptions.mikhmon import format_expiry
from ..subscriptions.store import SubscriptionStore
from .config import PackageConfig

#: where each service's accounts and profiles live
MENUS = {"hotspot": ("/ip/hotspot/user", "/ip/hotspot/user/profile"), "pppoe": ("/ppp/secret", "/ppp/profile")}
_WORDS = {
    "approved": ("Akun hotspot Anda sudah aktif.\nUser: {user}\nSandi: {password}\nPaket: {package}{until}",
                 "Your hotspot account is ready.\nUser: {user}\nPassword: {password}\nPackage: {package}{until}"),
    "approved_pppoe": ("Akun PPPoE Anda sudah aktif. Masukkan di router/ONT Anda (mode PPPoE):\nUser: {user}\n"
                       "Sandi: {password}\nPaket: {package}{until}",
                       "Your PPPoE account is ready. Enter it in your router/ONT (PPPoE mode):\nUser: {user}\n"
                       "Password: {password}\nPackage: {package}{until}"),
    "until": ("\nBerlaku sampai: {when}", "\nValid until: {when}"),
}


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    package: str  # the package's name
    profile: str  # the profile on the router
    expiry: datetime | None  # in the configured timezone; None when the package sets no validity
    service: str = "hotspot"  # hotspot (a hotspot user) | pppoe (a PPP secret, service=pppoe)


def profile_attrs(package: PackageConfig) -> dict[str, str]:
    """The profile's settings the package defines: a hotspot user profile takes ``shared-users``, a
    PPP profile ``only-one`` (one session per secret); both take ``rate-limit`` and ``session-timeout``."""
    attrs: dict[str, str] = {}
    if package.rate_limit:
        attrs["rate-limit"] = package.rate_limit
    if package.shared_users is not None:
        if package.service == "pppoe":
            attrs["only-one"] = "yes"  # the config allows only 1 for pppoe
        else:
            attrs["shared-users"] = str(package.shared_users)
    if package.session_timeout is not None:
        # whole seconds in the form RouterOS takes (3600 → 1h, 90000 → 1d1h)
        attrs["session-timeout"] = format_duration(int(package.session_timeout))
    return attrs


def username_base(name: str) -> str:
    return (re.sub(r"[^a-z0-9]", "", name.lower().split()[0] if name.split() else "") or "user")[:12]


def expiry_of(package: PackageConfig, now: float, timezone: str) -> datetime | None:
    if not package.validity:
        return None
    return (datetime.fromtimestamp(now, ZoneInfo(timezone)) + timedelta(seconds=package.validity)) \
        .replace(microsecond=0)


def credentials(account: Account, language: str) -> str:
    """The message that gives the requester their account."""
    pick = 0 if language == "id" else 1
    until = _WORDS["until"][pick].format(when=account.expiry.strftime("%d/%m/%Y %H:%M")) if account.expiry else ""
    return _WORDS["approved_pppoe" if account.service == "pppoe" else "approved"][pick].format(user=account.user, password=account.password, package=account.package,
                                           until=until)


async def provision(router: RouterConfig, package: PackageConfig, *, name: str, phone: str, now: float,
                    timezone: str, state_path: str | Path | None = None) -> Account:
    """Create the account for a person called ``name`` with WhatsApp number ``phone`` on ``router``
    (through its ``manage:`` user); ``now`` (epoch seconds) starts the package's validity. With
    ``state_path`` the validity is also kept in pantau's own record (subscriptions use it when the
    comment loses its date)."""
    manage = router.manage
    if manage is None:
        raise ConfigError([f"routers.{router.name}.manage: needed to create accounts"])
    expiry = expiry_of(package, now, timezone)
    client = await RouterClient.for_router(router, username=manage.username,
                                           password=manage.password.get_secret_value())
    try:
        user, password, item = await _create(client, package, name=name, phone=phone, expiry=expiry)
    finally:
        await client.close()
    if state_path is not None and expiry is not None:
        key = f"ppp:{user}" if package.service == "pppoe" else user
        await asyncio.to_thread(_remember, state_path, router.name, key, item, expiry.timestamp())
    return Account(user=user, password=password, package=package.name, profile=package.profile, expiry=expiry,
                   service=package.service)


def _remember(state_path: str | Path, router: str, key: str, item: str, expires: float) -> None:
    store = SubscriptionStore(state_path)
    try:
        store.remember_validity(router, key, item, expires)
    finally:
        store.close()


async def _create(client: RouterClient, package: PackageConfig, *, name: str, phone: str,
                  expiry: datetime | None) -> tuple[str, str, str]:
    """Ensure the profile, add the hotspot user or PPP secret; returns (user name, password, .id)."""
    accounts, profiles = MENUS[package.service]
    attrs = profile_attrs(package)
    if attrs:
        rows = await client.print(profiles, queries=[f"?name={package.profile}"])
        if rows:
            await client.command(f"{profiles}/set", {".id": rows[0][".id"], **attrs})
        else:
            await client.command(f"{profiles}/add", {"name": package.profile, **attrs})
    v7 = False
    if expiry is not None:  # the date format follows the version, which connecting already read
        version = client.resource_row.get("version")
        if version is None:  # that read was refused: ask once more, as before
            resource = await client.print("/system/resource")
            version = (resource[0] if resource else {}).get("version", "")
        v7 = str(version).startswith("7")
    comment = " ".join(p for p in (format_expiry(expiry, v7=v7) if expiry else None, f"WA {phone}" if phone else None,
                                   "pantau") if p)
    base = username_base(name)
    for _ in range(10):
        user = f"{base}{secrets.randbelow(900) + 100}"
        if not await client.print(accounts, queries=[f"?name={user}"]):
            break
    else:
        raise RouterError("no free user name")
    password = new_code(8)
    account = {"name": user, "password": password, "profile": package.profile, "comment": comment}
    if package.service == "pppoe":
        account["service"] = "pppoe"
    done = await client.command(f"{accounts}/add", account)
    item = next((row["ret"] for row in done if "ret" in row), "")
    return user, password, item
