"""kill -9 with messages pending: a second process resumes, nothing is lost and nothing is sent twice.

Two real Python processes use the outbox on the same SQLite file; the fake peer runs here on
127.0.0.1. The first process is SIGKILLed while the peer holds one request unanswered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.delivery.outbox_store import OutboxStore

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent('''
    import asyncio, sys
    import aiohttp
    import structlog
    from monitor.events import Event, Source
    from monitor.delivery.notify import NotifierConfig, post_checked
    from monitor.delivery.outbox import Outbox

    class Hook:
        def __init__(self, http, url):
            self.http, self.url = http, url
        async def send(self, event, recipient=None):
            await post_checked(self.http, self.url, timeout=30, what="peer", json={"id": event.id})
        async def aclose(self):
            pass

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout is the protocol

    async def main(db, url, count):
        async with aiohttp.ClientSession() as http:
            box = Outbox(db, {"gw": Hook(http, url)}, {"gw": NotifierConfig(name="gw", type="test")},
                         backoff_initial=0.05, backoff_max=0.2)
            await box.start()
            for i in range(count):
                await box.enqueue(Event(type="host.down", source=Source(kind="host", name=f"h{i}"),
                                        data={}), ["gw"])
            print("enqueued", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
''')


async def _spawn(script: Path, db: Path, url: str, count: int) -> asyncio.subprocess.Process:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(sys.executable, str(script), str(db), url, str(count),
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL, env=env, cwd=ROOT)
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
    assert line.strip() == b"enqueued"
    return proc


async def _until(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_kill_9_with_pending_messages_then_resume(tmp_path):
    """20 messages queued; the peer accepts 5 and holds the 6th; SIGKILL. The DB shows 5 sent and
    15 pending; a new process delivers exactly the 15 (the held one included), in order."""
    requests: list[tuple[str, str]] = []  # (event id, outcome)
    hold = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        event_id = (await request.json())["id"]
        if len(requests) == 5 and not hold.is_set():
            requests.append((event_id, "held"))
            await hold.wait()
            return web.json_response({"ok": False}, status=503)
        requests.append((event_id, "accepted"))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/send", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    db = tmp_path / "state" / "pantau.db"
    url = str(server.make_url("/send"))
    procs = []
    try:
        first = await _spawn(script, db, url, 20)
        procs.append(first)
        await _until(lambda: len(requests) == 6)
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        hold.set()

        with OutboxStore(db) as store:
            assert store.counts() == {"pending": 15, "sent": 5, "dead": 0}
            order = [m.event_id for m in store.list()]

        second = await _spawn(script, db, url, 0)
        procs.append(second)
        await _until(lambda: len([r for r in requests if r[1] == "accepted"]) >= 20)

        def all_sent() -> bool:
            with OutboxStore(db) as s:
                return s.counts()["sent"] == 20
        await _until(all_sent)
        await asyncio.sleep(0.1)  # a duplicate, if any, would arrive now
        accepted = [i for i, outcome in requests if outcome == "accepted"]
        assert accepted == order
        assert requests[5] == (order[5], "held")
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await server.close()
