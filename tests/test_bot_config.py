"""``bot:`` and the routers' ``manage:``/``isolir:`` fields against bad input: every problem by path."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from monitor.config.model import parse_config
from monitor.errors import ConfigError

ROUTER = {"name": "core", "address": "127.0.0.1", "username": "pantau", "password": "pw"}
TG = {"token": "123:abc"}


def problems(data) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, **data})
    return err.value.problems


@pytest.mark.parametrize("bot,expected", [
    ({"telegram": TG}, "bot: telegram needs telegram_users or telegram_groups"),
    ({"telegram_users": {"abc": "admin"}}, "bot.telegram_users.abc"),
    ({"telegram_users": {"1": "root"}}, "bot.telegram_users.1"),
    ({"telegram_groups": {"100": "admin"}}, "bot.telegram_groups: group id 100 must be negative"),
    ({"whatsapp_numbers": {"hello": "admin"}}, "bot.whatsapp_numbers: 'hello' is not a phone number"),
    ({"unknown": "ignore"}, "bot.unknown"),
    ({"confirm_timeout": "soon"}, "bot.confirm_timeout"),
    ({"rate_limit": {"count": 0}}, "bot.rate_limit.count"),
    ({"telegram_users": {"1": "admin"}, "telegram": {**TG, "api_url": "ftp://x"}}, "bot.telegram.api_url"),
    ({"telegram_users": {"1": "admin"}, "telegram": {**TG, "mode": "webhook"}}, "bot.telegram: webhook mode"),
    ({"whatsapp_numbers": {"08123456789": "admin"}, "whatsapp": {"provider": "waha", "notifier": "wa"}},
     "bot.whatsapp.webhook_key: required"),
    ({"language": "jv"}, "bot.language"),
])
def test_bad_bot_config(bot, expected):
    assert any(p.startswith(expected) for p in problems({"bot": bot})), problems({"bot": bot})


@pytest.mark.parametrize("extra,expected", [
    ({"manage": {"username": "w"}}, "routers[0].manage.password: required"),
    ({"isolir": {"mode": "profile"}}, "routers[0].isolir: mode 'profile' needs profile and/or address_list"),
    ({"isolir": {"mode": "kill"}}, "routers[0].isolir.mode"),
])
def test_bad_router_manage_and_isolir(extra, expected):
    assert any(p.startswith(expected) for p in problems({"routers": [{**ROUTER, **extra}]}))


def test_bad_bot_config_exits_2_by_path_without_traceback(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"plugins_dir": None, "bot": {"telegram": TG}}))
    r = subprocess.run([sys.executable, "-m", "monitor", "check", "-c", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "bot: telegram needs telegram_users" in r.stderr and "Traceback" not in r.stderr
