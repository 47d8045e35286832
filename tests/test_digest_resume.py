"""A Telegram digest split in two, whose second part fails: the retry is the same digest and
sends only the missing part — even though more messages queued up meanwhile (they go out after
it, on their own). Real outbox, real Telegram notifier, fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import structlog
from fake_peers import Reply, telegram_error, telegram_peer

from monitor.delivery.notify import NotifierContext
from monitor.delivery.outbox import Outbox
from monitor.delivery.outbox_store import OutboxStore
from monitor.events import Event, Source
from notifiers.telegram import TelegramConfig, TelegramNotifier

TEMPLATE = "{% for i in range(300) %}baris {{ i }} dari {{ count }} ......................\n{% endfor %}"


def login(n: int) -> Event:
    return Event("hotspot.login", Source("router", "core", "127.0.0.1"), {"user": f"u{n}", "address": "10.5.50.2"})


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_split_digest_that_failed_half_way_resends_only_the_missing_part(tmp_path):
    db = tmp_path / "pantau.db"
    with OutboxStore(db) as store:  # a backlog from before the start: it goes out as one digest
        for n in range(4):
            store.add(login(n), [("ops", None)], now=time.time())
    async with telegram_peer() as tg, aiohttp.ClientSession() as http:
        config = TelegramConfig(name="ops", type="telegram", token="1:tok", chat_id=-100123, api_url=tg.url,
                                templates={"digest": TEMPLATE}, rate_limit={"per_recipient": ["off"]},
                                digest={"after": 2, "window": "60s"})
        notifier = TelegramNotifier(config, NotifierContext(http=http, log=structlog.get_logger("t")))
        tg.queue(Reply(json={"ok": True, "result": {"message_id": 1, "chat": {"id": -100123}}}),
                 telegram_error(502, "Bad Gateway"))
        box = Outbox(db, {"ops": notifier}, {"ops": config}, backoff_initial=0.6, backoff_max=0.6)
        await box.start()
        try:
            await until(lambda: len(tg.received) == 2)  # part 1 accepted, part 2 failed
            for n in range(4, 7):
                await box.enqueue(login(n), ["ops"])

            def all_sent() -> bool:
                with OutboxStore(db) as s:
                    return s.counts()["sent"] == 7
            await until(all_sent)
        finally:
            await box.aclose()
    texts = [r.json["text"] for r in tg.received]
    first = [t for t in texts if "dari 4" in t]  # the digest of the 4 queued before the start
    assert len(first) >= 3 and first[2] == first[1]  # the retry resumed at the failed part 2...
    assert len(set(first)) == len(first) - 1  # ...and sent no other part twice
    assert texts[: len(first)] == first  # the later messages went out after it
    assert any("dari 3" in t for t in texts) and not any("dari 7" in t for t in texts)  # on their own
