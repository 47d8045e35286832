"""``Engine.reload`` (SIGHUP): apply a new config without restarting what did not change.

The plan (monitor/reload.py) is a pure diff of the old and new config; this applies it. Unchanged
hosts keep their detector state and schedule, unchanged router watchers their connection,
unchanged notifiers their instance and rate-limit buckets. A notifier's own supervised task
(Alertmanager's re-posting) and web routes (the WhatsApp Cloud status webhook) follow its
instance. Subscription pollers are started, stopped or replaced per router
(monitor/subscriptions/running.py); the history re-reads dependencies, configured maintenance
windows and reports. Settings that need a restart (``state``, ``icmp``, ``http``, ``log``, ``bot``,
``registration``) are kept and reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog

from .delivery.routing import EventRouter
from .errors import ConfigError
from .hosts.open_probe import open_probe
from .logs import register_secrets

if TYPE_CHECKING:
    from .config.model import Config
    from .reload import ReloadPlan

log = structlog.get_logger("pantau.engine")


class ReloadMixin:
    async def reload(self: Any, new: Config) -> ReloadPlan:
        """Apply a reloaded config. Raises ConfigError/ProbeError before changing anything when a
        new notifier or subscription poller cannot start, hosts need an ICMP probe that cannot be
        opened, or the running registration page or bot would lose the notifier or router it uses."""
        from .engine import secret_values
        from .reload import plan_reload

        plan = plan_reload(self.config, new)
        keep = {k: getattr(self.config.settings, k) for k in plan.restart_needed}
        new = dataclasses.replace(new, settings=new.settings.model_copy(update=keep))
        register_secrets(secret_values(new))
        direct = [h for h in new.hosts if h.via is None]  # via: hosts are pinged by their router
        if plan.hosts.added and self.probe is None and direct:
            self.probe = await open_probe(new.settings.icmp, direct)
        by_name = {n.name: n for n in new.notifiers}
        problems = self._senders_kept(by_name) + self._approval_router_kept(new)
        if problems:
            raise ConfigError(problems)
        old_config, self.config = self.config, new
        fresh: dict[str, Any] = {}
        try:
            for name in plan.notifiers.added + plan.notifiers.changed:
                fresh[name] = self._new_notifier(by_name[name])
            pollers = self.subscriptions.prepare(new) if self.subscriptions is not None else {}
        except ConfigError:
            self.config = old_config
            for notifier in fresh.values():  # never used: its connections closed
                with contextlib.suppress(Exception):
                    await notifier.aclose()
            raise
        await self._swap_notifiers(plan, fresh, by_name)

        hosts = {h.name: h for h in new.hosts}
        persisted = self.host_store.load() if self.host_store is not None and (
            plan.hosts.added or plan.hosts.changed) else {}
        for name in plan.hosts.removed:
            await self._remove_host(name)
        for name in plan.hosts.changed:
            old = self.monitors[name]
            same_address = old.host.address == hosts[name].address
            await self._remove_host(name)  # then re-added: keeps its state unless the address moved
            self._add_host(hosts[name], persisted if same_address else {},
                           (old.detector.state, old.detector.since) if same_address else None)
        for name in plan.hosts.added:
            self._add_host(hosts[name], persisted)

        routers = {r.name: r for r in new.settings.routers}
        for name in plan.routers.removed + plan.routers.changed:
            await self.supervisor.cancel(f"router:{name}")
            await self.supervisor.cancel(f"router-health:{name}")
            self.watchers.pop(name, None)
        for name in plan.routers.changed + plan.routers.added:
            self._start_router(routers[name])  # a changed one resumes from its saved sessions
        await self._renew_pingers(plan.routers.removed + plan.routers.changed)
        self._follow_routers(routers)
        if self.subscriptions is not None:
            await self.subscriptions.apply(new, pollers)
        if self.history is not None and plan.history_changed:
            await self.history.reconfigure(new, self.supervisor)
        log.info("reloaded", **plan.log_fields(), subscriptions=sorted(self.subscriptions.running)
                 if self.subscriptions is not None else [])
        if plan.restart_needed:
            log.warning("reload_needs_restart", settings=plan.restart_needed,
                        hint="these settings take effect at the next start")
        return plan

    async def _swap_notifiers(self: Any, plan: ReloadPlan, fresh: dict[str, Any], by_name: dict[str, Any]) -> None:
        """Retire removed and changed notifiers (their tasks first: nothing keeps posting with the
        old settings), start the new instances' tasks and web routes."""
        retired = []
        for name in plan.notifiers.removed + plan.notifiers.changed:
            await self.supervisor.cancel(f"notifier:{name}")
            retired.append(self.notifiers.pop(name))
        self.notifiers.update(fresh)
        self.router = EventRouter(self.config.routes)
        if self.outbox is not None:  # waits for sends in flight through the retired instances
            await self.outbox.reconfigure(self.notifiers, by_name)
        for notifier in retired:
            with contextlib.suppress(Exception):
                await notifier.aclose()
        watched_less = plan.hosts.removed or plan.routers.removed
        for name in plan.notifiers.unchanged:  # they read hosts and routers from the settings
            notifier = self.notifiers[name]
            if getattr(notifier, "context", None) is not None:
                notifier.context.settings = self.config.settings
            if watched_less and callable(getattr(notifier, "forget_unwatched", None)):
                notifier.forget_unwatched()  # a removed host's firing alert is re-posted no more
        for name, notifier in fresh.items():
            self._start_notifier_task(name, notifier)
        if self.web_switch is not None:
            unregistered = self.web_switch.replace(self._notifier_routes())
            if unregistered:
                plan.restart_needed.append("notifiers (web routes " + ", ".join(unregistered) + ")")

    def _senders_kept(self: Any, by_name: dict[str, Any]) -> list[str]:
        """The registration page and the bot's WhatsApp (restart-only) send through a named
        whatsapp notifier: a reload may change it, not remove it or make it something else."""
        problems = []
        if self.registration is not None:
            name = self.registration.config.notifier
            if getattr(by_name.get(name), "type", None) != "whatsapp":
                problems.append(f"registration.notifier: {name!r} must stay a whatsapp notifier while the "
                                "registration page runs (it sends the codes)")
        whatsapp = getattr(self.bot, "whatsapp", None)
        if whatsapp is not None:
            name, provider = whatsapp.config.notifier, whatsapp.config.provider
            if getattr(by_name.get(name), "provider", None) != provider:
                problems.append(f"bot.whatsapp.notifier: {name!r} must stay a whatsapp notifier with provider "
                                f"{provider} while the bot runs (replies go out through it)")
        return problems

    async def _renew_pingers(self: Any, routers: list[str]) -> None:
        """Hosts pinged ``via:`` a changed router ping through its new settings (address, user),
        keeping their up/down state; a removed router's pinger closes."""
        stale = {name: self.pingers.pop(name) for name in routers if name in self.pingers}
        for host in self.config.hosts:
            if host.via in stale and host.name in self.monitors:
                old = self.monitors[host.name]
                await self._remove_host(host.name)
                self._add_host(host, {}, (old.detector.state, old.detector.since))
        for pinger in stale.values():
            with contextlib.suppress(Exception):
                await pinger.aclose()

    def _approval_router_kept(self: Any, new: Config) -> list[str]:
        approvals = getattr(self.registration, "approvals", None)
        if approvals is None:
            return []
        name = self.registration.config.router
        router = next((r for r in new.settings.routers if r.name == name), None)
        if router is None or router.manage is None:
            return [f"registration.router: router {name!r} must stay, with its manage: user, while approvals "
                    "run (accounts are created through it)"]
        return []

    def _follow_routers(self: Any, routers: dict[str, Any]) -> None:
        """The bot's commands, approvals and the WhatsApp self-service (restart-only themselves)
        reach the routers through their reloaded settings (a new address, password or router)."""
        core = getattr(self.bot, "core", None)
        if core is not None:
            core.routers = dict(routers)
            core.probe = self.probe
        if self.registration is None:
            return
        tz = ZoneInfo(self.config.settings.timezone)  # expiry dates written and read
        if self.registration.approvals is not None:
            self.registration.approvals.router = routers[self.registration.config.router]
            self.registration.approvals.tz = tz
        self_service = getattr(self.registration, "self_service", None)
        if self_service is not None:
            self_service.routers = [r for r in routers.values() if "hotspot" in r.watch]
            self_service.tz = tz
