"""Shared helpers for the RouterOS tests: a raw API connection and an event recorder."""

from __future__ import annotations

import asyncio

from monitor.events import Event
from monitor.routeros.wire import encode_sentence, read_sentence

PASSWORD = "s3cret-pw"


class RawApi:
    """A bare socket speaking the wire format, to check exactly what the simulator sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, *, login: bool = True, password: str = PASSWORD) -> RawApi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        api = cls(reader, writer)
        if login:
            api.send("/login", "=name=pantau", f"=password={password}")
            assert await api.read() == ["!done"]
        return api

    def send(self, *words: str) -> None:
        self.writer.write(encode_sentence(list(words)))

    async def read(self, timeout: float = 2.0) -> list[str]:
        return await asyncio.wait_for(read_sentence(self.reader), timeout)

    async def read_until_done(self, tag: str | None = None) -> list[list[str]]:
        out = []
        while True:
            sentence = await self.read()
            out.append(sentence)
            if sentence[0] == "!done" and (tag is None or f".tag={tag}" in sentence):
                return out

    def close(self) -> None:
        self.writer.close()


class Recorder:
    """The ``emit`` callable for a watcher: collects events and lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, *types: str) -> list[Event]:
        return [e for e in self.events if e.type in types]

    def session_events(self) -> list[Event]:
        return [e for e in self.events if not e.type.startswith("router.")]

    async def wait_for(self, event_type: str, count: int = 1, timeout: float = 3.0) -> list[Event]:
        async def _wait() -> list[Event]:
            while len(self.of(event_type)) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.of(event_type)

        return await asyncio.wait_for(_wait(), timeout)


def router_config(port: int, **overrides):
    """A RouterConfig for the simulator with fast test timings (poll 0.1 s, timeout 0.3 s)."""
    from monitor.routeros.config import RouterConfig

    values = {"name": "core", "address": "127.0.0.1", "port": port, "username": "pantau", "password": PASSWORD,
              "mode": "poll", "poll_interval": 0.1, "timeout": 0.3, "down_after": 3, "resync_interval": 5,
              "labels": {"site": "kos"}}
    values.update(overrides)
    return RouterConfig.model_validate(values)


class Running:
    """``async with Running(watcher):`` runs ``watcher.run()`` as a task and cancels it on exit."""

    def __init__(self, watcher):
        self.watcher = watcher
        self.task: asyncio.Task | None = None

    async def __aenter__(self):
        self.task = asyncio.create_task(self.watcher.run())
        return self.watcher

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        if self.task.done() and self.task.exception() is not None:
            raise self.task.exception()
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


async def wait_until(predicate, timeout: float = 3.0, step: float = 0.01) -> None:
    """Poll ``predicate()`` until true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)
