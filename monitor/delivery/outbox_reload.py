"""The outbox's reload step (SIGHUP): swap in a new set of notifiers while lanes keep running.

Kept apart from outbox.py (which holds the delivery loop) so each stays readable. A notifier whose
config is unchanged keeps its instance, its lanes and its token buckets (no burst after a reload);
a changed one's lanes finish the send in flight and continue with the new instance and limits; a
removed one's lanes stop after the send in flight and its pending rows stay queued
(``outbox.orphaned``) until it is configured again or ``pantau outbox`` shows them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from .notify import Notifier, NotifierConfig
from .outbox import Outbox

__all__ = ["ReloadableOutbox"]


class ReloadableOutbox(Outbox):
    async def reconfigure(self, notifiers: Mapping[str, Notifier], configs: Mapping[str, NotifierConfig], *,
                          grace: float = 2.0) -> None:
        """Swap the notifiers; returns once lanes of replaced or removed notifiers have finished
        the send in flight (at most ``grace`` s), so their old instances can be closed."""
        # a throwaway outbox validates the new rate limits and builds their buckets (no database)
        fresh = Outbox(self._path, notifiers, configs, clock=self._clock)
        kept = {name for name, notifier in notifiers.items() if self._notifiers.get(name) is notifier}
        for name in kept:
            fresh._configs[name] = self._configs[name]  # same object: its lanes keep running
        fresh._limits.adopt(self._limits, kept)
        self._notifiers, self._configs, self._limits = fresh._notifiers, fresh._configs, fresh._limits
        self._orphans_logged -= set(notifiers)
        retired = [lane for lane in self._lanes.values() if lane.notifier not in kept and lane.task is not None]
        for lane in retired:  # idle ones may sleep in a backoff: restart them now; busy ones finish
            if not lane.sending:
                lane.task.cancel()  # type: ignore[union-attr]
        if retired:
            await asyncio.wait([lane.task for lane in retired], timeout=grace)  # type: ignore[misc]
        if self._started and not self._closing:
            await self._resume()
