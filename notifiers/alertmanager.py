"""``type: alertmanager`` — host and router states as alerts in Prometheus Alertmanager (API v2).

``host.down``/``router.down`` post a firing alert (monitor/delivery/alerts.py: labels alertname,
host/router and the source's labels; ``startsAt``), ``*.up`` posts it resolved (``endsAt``).
Every alert is posted to every configured Alertmanager (the way Prometheus does): delivered when
at least one accepts it. While an alert fires it is re-posted every ``repost_interval`` (by
``run()``, supervised by the engine), so Alertmanager's ``resolve_timeout`` never resolves a live
outage; the firing set is kept in the state database, so a restarted pantau keeps re-posting.
Session events are not alerts: they are skipped (debug log ``alertmanager.skipped``).

Two pantau instances watching the same hosts produce identical labels, so an Alertmanager
cluster de-duplicates them into one notification per outage (docs/ha.md).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

from pydantic import Field

from monitor.config.types import HttpUrlSecret, PositiveDuration
from monitor.delivery.alerts import alert_for, fingerprint
from monitor.delivery.notify import BaseNotifier, NotifierConfig, NotifierContext, post_checked
from monitor.errors import NotifyError
from monitor.events import Event
from monitor.statedb import connect

_SCHEMA = """CREATE TABLE IF NOT EXISTS alertmanager_firing (
    notifier TEXT NOT NULL, fingerprint TEXT NOT NULL, alert TEXT NOT NULL,
    PRIMARY KEY (notifier, fingerprint))"""


class AlertmanagerConfig(NotifierConfig):
    urls: list[HttpUrlSecret] = Field(min_length=1)  # every Alertmanager of the cluster
    repost_interval: PositiveDuration = 60.0  # keep well under Alertmanager's resolve_timeout (5m)
    generator_url: str = ""  # a link back to pantau, shown by Alertmanager
    labels: dict[str, str] = {}  # static labels added to every alert (the same on every instance!)


class AlertmanagerNotifier(BaseNotifier):
    Config = AlertmanagerConfig
    config: AlertmanagerConfig

    def __init__(self, config: AlertmanagerConfig, context: NotifierContext):
        super().__init__(config, context)
        state = getattr(context.settings, "state", None)
        path = getattr(state, "path", None)
        # the state file through statedb.connect: created 0600 if this is the first to open it
        self._db = connect(path) if path else sqlite3.connect(":memory:", isolation_level=None,
                                                              check_same_thread=False, timeout=10)
        self._db.execute(_SCHEMA)
        self._lock = asyncio.Lock()  # a re-post never overtakes the resolve of the same alert
        self.last_response: dict[str, Any] | None = None

    # -- the notifier contract -------------------------------------------------------------------

    async def send(self, event: Event, recipient: str | None = None) -> None:
        alert = alert_for(event, generator_url=self.config.generator_url)
        if alert is None:
            self.log.debug("alertmanager.skipped", event_type=event.type, reason="not an alert")
            self.last_response = {"skipped": True}
            return
        alert["labels"].update(self.config.labels)
        key = fingerprint(alert["labels"])
        async with self._lock:
            await self._post([alert])
            if "endsAt" in alert:
                self._db.execute("DELETE FROM alertmanager_firing WHERE notifier=? AND fingerprint=?",
                                 (self.name, key))
            else:
                self._db.execute("INSERT OR REPLACE INTO alertmanager_firing VALUES (?, ?, ?)",
                                 (self.name, key, json.dumps(alert)))
        self.log.info("alertmanager.posted", alert=alert["labels"].get("alertname"), fingerprint=key,
                      state="resolved" if "endsAt" in alert else "firing")

    async def run(self) -> None:
        """Re-post the firing alerts every ``repost_interval`` (supervised by the engine)."""
        self.forget_unwatched()
        while True:
            await asyncio.sleep(self.config.repost_interval)
            await self.repost()

    async def repost(self) -> int:
        async with self._lock:
            alerts = self.firing()
            if alerts:
                try:
                    await self._post(alerts)
                except NotifyError as exc:  # the next round tries again; the outbox is not involved
                    self.log.warning("alertmanager.repost_failed", error=str(exc), alerts=len(alerts))
                    return 0
        return len(alerts)

    def forget_unwatched(self) -> int:
        """Drop firing alerts for hosts/routers no longer configured (or a ``test-notify`` sample),
        so they are not re-posted forever; Alertmanager resolves them after resolve_timeout."""
        hosts = getattr(self.context.settings, "hosts", None)
        routers = getattr(self.context.settings, "routers", None)
        if hosts is None or routers is None:
            return 0
        watched = {("host", h.name) for h in hosts} | {("router", r.name) for r in routers}
        dropped = 0
        for alert in self.firing():
            labels = alert["labels"]
            kind = "host" if "host" in labels else "router"
            if (kind, labels.get(kind)) not in watched:
                self._db.execute("DELETE FROM alertmanager_firing WHERE notifier=? AND fingerprint=?",
                                 (self.name, fingerprint(labels)))
                self.log.info("alertmanager.forgotten", **{kind: labels.get(kind)}, reason="not watched")
                dropped += 1
        return dropped

    def firing(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT alert FROM alertmanager_firing WHERE notifier=? ORDER BY fingerprint",
                                (self.name,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    async def aclose(self) -> None:
        self._db.close()

    # -- internals --------------------------------------------------------------------------------

    async def _post(self, alerts: list[dict[str, Any]]) -> None:
        body = json.dumps(alerts).encode()
        results = await asyncio.gather(*(self._post_one(url.get_secret_value(), body)
                                         for url in self.config.urls))
        errors = [r for r in results if r is not None]
        if len(errors) < len(results):
            for error in errors:
                self.log.warning("alertmanager.peer_failed", error=str(error))
            self.last_response = {"accepted_by": len(results) - len(errors), "of": len(results)}
            return
        raise NotifyError("no Alertmanager accepted the alert: " + "; ".join(str(e) for e in errors),
                          retryable=any(e.retryable for e in errors))

    async def _post_one(self, url: str, body: bytes) -> NotifyError | None:
        try:
            await post_checked(self.http, url.rstrip("/") + "/api/v2/alerts", data=body,
                               headers={"Content-Type": "application/json"}, timeout=self.config.timeout,
                               what="Alertmanager")
        except NotifyError as exc:
            return exc
        return None


NOTIFIER = AlertmanagerNotifier
