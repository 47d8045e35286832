"""Enforcement at expiry (``subscriptions.on_expiry: disable``) against the RouterOS simulator: the
expired user is disabled and its session ended through the manage: user; a failed disable is retried
on the next round (also after a restart, when the event was already sent); re-enabling on the router
without renewing is undone; ``none`` (the default) changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config.model import parse_config
from monitor.delivery.templates.renderer import TemplateRenderer
from monitor.errors import ConfigError
from monitor.routeros.config import RouterConfig
from monitor.subscriptions.config import SubscriptionsConfig
from monitor.subscriptions.poller import SubscriptionPoller
from monitor.subscriptions.store import SubscriptionStore
from tests.bot_helpers import MANAGE_PW, READ_PW, make_sim
from tests.routeros_helpers import Recorder

WIB = ZoneInfo("Asia/Jakarta")
BEFORE = datetime(2026, 11, 25, 8, 0, tzinfo=WIB)
AFTER = datetime(2026, 11, 25, 8, 31, tzinfo=WIB)


def router(port: int, manage_user: str = "pantau-manage", manage_pw: str = MANAGE_PW, manage: bool = True):
    values = {"name": "core", "address": "127.0.0.1", "port": port, "username": "pantau", "password": READ_PW,
              "timeout": 2}
    if manage:
        values["manage"] = {"username": manage_user, "password": manage_pw}
    return RouterConfig.model_validate(values)


def user(sim, name: str) -> dict[str, str]:
    menu = sim.menus["/ip/hotspot/user"]
    return menu.render(menu.find(name=name))


async def test_expired_user_is_disabled_and_kicked(tmp_path):
    clock = [BEFORE]
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", comment="nov/25/2026 08:30:00 WA 08571234567")
        sim.add_hotspot_user("sari", comment="2026-12-30 10:00:00")
        sim.hotspot_login("budi", "10.5.50.9", "AA:BB:CC:00:00:09")
        store, events = SubscriptionStore(tmp_path / "state.db"), Recorder()
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(on_expiry="disable"),
                                    timezone="Asia/Jakarta", emit=events, store=store, clock=lambda: clock[0])
        await poller.check_once()
        assert user(sim, "budi")["disabled"] == "false" and len(sim.menus["/ip/hotspot/active"].rows()) == 1
        clock[0] = AFTER
        await poller.check_once()
        expired = [e for e in events.events if e.type == "subscriber.expired"]
        assert [(e.data["user"], e.data.get("action")) for e in expired] == [("budi", "disabled")]
        assert user(sim, "budi")["disabled"] == "true"
        assert sim.menus["/ip/hotspot/active"].rows() == []
        assert "Akun dinonaktifkan oleh pantau." in TemplateRenderer(language="id", markup="text").render(expired[0])
        assert user(sim, "sari")["disabled"] == "false"

        # someone re-enables budi on the router (or a reboot restores an old config) without renewing
        menu = sim.menus["/ip/hotspot/user"]
        menu.set(menu.find(name="budi"), {"disabled": "false"})
        clock[0] += timedelta(minutes=5)
        await poller.check_once()
        assert user(sim, "budi")["disabled"] == "true"
        assert len([e for e in events.events if e.type == "subscriber.expired"]) == 1  # told once

        # renewing (a new date) starts a new period: enabled again, nothing is disabled
        menu.set(menu.find(name="budi"), {"disabled": "false", "comment": "nov/30/2026 08:30:00 WA 08571234567"})
        await poller.check_once()
        assert user(sim, "budi")["disabled"] == "false"
        store.close()


async def test_a_failed_disable_is_retried_even_after_a_restart(tmp_path):
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", comment="nov/25/2026 08:30:00")
        store, events = SubscriptionStore(tmp_path / "state.db"), Recorder()
        # the manage user is the read-only one: the router refuses the write
        poller = SubscriptionPoller(router(sim.port, "pantau", READ_PW), SubscriptionsConfig(on_expiry="disable"),
                                    timezone="Asia/Jakarta", emit=events, store=store, clock=lambda: BEFORE)
        await poller.check_once()
        poller.clock = lambda: AFTER
        await poller.check_once()
        assert [e.type for e in events.events] == ["subscriber.expiring", "subscriber.expired"]
        assert "action" not in events.events[-1].data
        assert user(sim, "budi")["disabled"] == "false"
        store.close()

        store = SubscriptionStore(tmp_path / "state.db")  # pantau restarts with the right manage user
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(on_expiry="disable"),
                                    timezone="Asia/Jakarta", emit=events, store=store, clock=lambda: AFTER)
        await poller.check_once()
        assert user(sim, "budi")["disabled"] == "true"
        assert len(events.events) == 2  # the event is not repeated
        store.close()


async def test_none_is_the_default_and_changes_nothing(tmp_path):
    assert SubscriptionsConfig().on_expiry == "none"
    async with make_sim() as sim:
        sim.add_hotspot_user("budi", comment="nov/25/2026 08:30:00")
        store = SubscriptionStore(tmp_path / "state.db")
        poller = SubscriptionPoller(router(sim.port), SubscriptionsConfig(), timezone="Asia/Jakarta",
                                    emit=Recorder(), store=store, clock=lambda: AFTER)
        await poller.check_once()
        assert user(sim, "budi")["disabled"] == "false"
        store.close()


def test_disable_needs_a_manage_user():
    with pytest.raises(ConfigError) as err:
        SubscriptionPoller(router(1, manage=False), SubscriptionsConfig(on_expiry="disable"),
                           timezone="Asia/Jakarta", emit=Recorder(), store=None)
    assert err.value.problems[0].startswith("subscriptions.on_expiry:")


def test_bad_on_expiry_names_the_path():
    with pytest.raises(ConfigError) as err:
        parse_config({"plugins_dir": None, "subscriptions": {"on_expiry": "delete"}})
    assert any(p.startswith("subscriptions.on_expiry") for p in err.value.problems), err.value.problems
