"""Listen mode of the session watcher (a mixin of :class:`~monitor.routeros.watcher.RouterWatcher`).

One task per watched menu on a dedicated connection: ``listen`` first, then a full ``print`` on
the same connection (resync), then live updates, applied in slices (see known.Slicer) so a burst
on one router never holds the event loop for the others; a heartbeat ``print`` every
``poll_interval`` detects a hung link; a full resync every ``resync_interval``. Any error closes
it; the control loop polls that menu until the listen is back.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..errors import RouterError, RouterTrap
from .client import RouterClient
from .sessions import MenuSpec


class ListenMixin:
    """Uses the watcher's ``config``, ``_connect``, ``_reachable``, ``_listening``, ``_log``,
    ``_slicer``, ``_apply_update`` and ``_apply_snapshot``."""

    async def _listen_loop(self, spec: MenuSpec) -> None:
        traps = 0
        while True:
            await self._reachable.wait()
            client: RouterClient | None = None
            pause = self.config.poll_interval
            try:
                client = await self._connect()
                await self._listen_session(client, spec)
            except RouterTrap as exc:
                traps += 1  # polling covers this menu meanwhile; retry soon, then less often
                pause = min(self.config.resync_interval, self.config.poll_interval * 2 ** (traps - 1))
                self._log.error("router_listen_trap", menu=spec.path, error=str(exc), retry_in_s=pause)
            except RouterError as exc:
                self._log.warning("router_listen_failed", menu=spec.path, error=str(exc), kind=exc.kind)
            finally:
                if self._listening[spec.path]:
                    traps = 0  # it did listen: the next trap starts the backoff afresh
                self._listening[spec.path] = False
                if client is not None:
                    await client.close()
            await asyncio.sleep(pause)

    async def _listen_session(self, client: RouterClient, spec: MenuSpec) -> None:
        updates: asyncio.Queue = asyncio.Queue()

        async def pump() -> None:
            try:
                async for row in client.listen(spec.path, proplist=spec.proplist):
                    updates.put_nowait(row)
            except RouterError as exc:
                updates.put_nowait(exc)

        pump_task = asyncio.create_task(pump())
        try:
            await asyncio.sleep(0)  # the listen command goes out before the resync print
            await self._listen_resync(client, spec)
            self._listening[spec.path] = True
            self._log.info("router_listening", menu=spec.path)
            loop = asyncio.get_running_loop()
            next_beat = loop.time() + self.config.poll_interval
            next_resync = loop.time() + self.config.resync_interval
            slicer = self._slicer()
            while True:
                wait = max(0.0, min(next_beat, next_resync) - loop.time())
                try:
                    async with asyncio.timeout(wait):  # not wait_for: it can swallow a cancel on 3.11
                        item = await updates.get()
                except TimeoutError:
                    item = None
                if isinstance(item, RouterError):
                    raise item
                if not self._reachable.is_set():
                    raise RouterError("router is down; listen restarts after recovery", kind="down")
                if item is not None:
                    await self._apply_update(spec, item, client)
                    await slicer.tick()  # a burst is applied in slices: other routers run between them
                if loop.time() >= next_beat:
                    await client.print("/system/identity")
                    next_beat = loop.time() + self.config.poll_interval
                if loop.time() >= next_resync:
                    await self._listen_resync(client, spec)
                    next_resync = loop.time() + self.config.resync_interval
        finally:
            pump_task.cancel()
            with contextlib.suppress(BaseException):
                await pump_task

    async def _listen_resync(self, client: RouterClient, spec: MenuSpec) -> None:
        rows = await client.print(spec.path, proplist=spec.proplist)
        await self._apply_snapshot(spec, rows, "logout", client)

