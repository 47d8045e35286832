"""``Engine.reload`` (SIGHUP): apply a new config without restarting what did not change.

The plan (monitor/reload.py) is a pure diff of the old and new config; this applies it. Unchanged
hosts keep their detector state and schedule, unchanged router watchers their connection,
unchanged notifiers their instance and rate-limit buckets. Settings that need a restart (``state``,
``icmp``, ``http``, ``log``) are kept and reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

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
        new notifier cannot start or hosts need an ICMP probe that cannot be opened."""
        from .engine import secret_values
        from .reload import plan_reload

        plan = plan_reload(self.config, new)
        keep = {k: getattr(self.config.settings, k) for k in plan.restart_needed}
        new = dataclasses.replace(new, settings=new.settings.model_copy(update=keep))
        register_secrets(secret_values(new))
        direct = [h for h in new.hosts if h.via is None]  # via: hosts are pinged by their router
        if plan.hosts.added and self.probe is None and direct:
            self.probe = await open_probe(new.settings.icmp, direct)
        old_config, self.config = self.config, new
        try:
            by_name = {n.name: n for n in new.notifiers}
            fresh = {name: self._new_notifier(by_name[name]) for name in plan.notifiers.added + plan.notifiers.changed}
        except ConfigError:
            self.config = old_config
            raise
        retired = [self.notifiers.pop(name) for name in plan.notifiers.removed + plan.notifiers.changed]
        self.notifiers.update(fresh)
        self.router = EventRouter(new.routes)
        if self.outbox is not None:  # waits for sends in flight through the retired instances
            await self.outbox.reconfigure(self.notifiers, by_name)
        for notifier in retired:
            with contextlib.suppress(Exception):
                await notifier.aclose()

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
        log.info("reloaded", **plan.log_fields())
        if plan.restart_needed:
            log.warning("reload_needs_restart", settings=plan.restart_needed,
                        hint="these settings take effect at the next start")
        return plan
