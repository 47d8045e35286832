"""/healthz and /readyz over real HTTP: green when all is well; red when a supervised task
crash-loops, when another connection holds the state database locked, when the loop stalls."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from web_helpers import client, running, wait_for, web_config

from monitor.supervisor import Supervisor
from monitor.web.health import LoopLag


async def _get(http, url):
    async with http.get(url) as r:
        return r.status, await r.json()


async def test_green_then_red_on_a_crash_loop(tmp_path):
    sup = Supervisor(backoff=0.01, max_backoff=0.01, crash_loop=3, window=60)
    async with running(web_config(tmp_path, hosts=1), supervisor=sup) as (engine, base), client() as http:
        status, body = await _get(http, base + "/healthz")
        assert status == 200 and body["ok"] and body["checks"]["state_db"]["ok"]
        assert {"emitter", "loop-lag", "host:host-00"} <= set(body["tasks"])
        status, body = await _get(http, base + "/readyz")
        assert status == 200 and body["checks"]["started"]["ok"]

        async def broken() -> None:
            raise RuntimeError("cannot reach the router API")

        engine.supervisor.spawn("router:core", broken)
        await wait_for(lambda: engine.supervisor.health()["router:core"].degraded)
        for path in ("/healthz", "/readyz"):
            status, body = await _get(http, base + path)
            assert status == 503 and not body["ok"]
            assert body["checks"]["tasks"]["unhealthy"] == ["router:core"]
            assert body["tasks"]["router:core"]["last_error"] == "RuntimeError: cannot reach the router API"
        engine.ready = False  # what stop() does first
        status, body = await _get(http, base + "/readyz")
        assert status == 503 and body["checks"]["started"] == {"ok": False}


async def test_red_while_another_connection_holds_the_database(tmp_path):
    async with running(web_config(tmp_path)) as (engine, base), client() as http:
        assert (await _get(http, base + "/healthz"))[0] == 200
        other = sqlite3.connect(str(tmp_path / "state.db"), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            status, body = await _get(http, base + "/healthz")
            assert status == 503 and not body["checks"]["state_db"]["ok"]
            assert "locked" in body["checks"]["state_db"]["error"]
            assert body["checks"]["tasks"]["ok"]  # only the database is the problem
        finally:
            other.execute("ROLLBACK")
            other.close()
        status, body = await _get(http, base + "/healthz")
        assert status == 200 and body["checks"]["state_db"] == {"ok": True, "error": None}


async def test_red_when_the_event_loop_stalls(tmp_path):
    config = web_config(tmp_path, http={"listen": "127.0.0.1:0", "max_loop_lag": "0.2s"})
    async with running(config) as (engine, base), client() as http:
        handler = next(r for r in engine.web.app.router.routes() if r.resource.canonical == "/healthz").handler
        health = handler.__self__
        time.sleep(1.2)  # noqa: ASYNC251 - on purpose: a blocking call stalls the loop: the lag meter's 0.5 s sleep wakes >= 0.7 s late
        await wait_for(lambda: health.loop_lag.lag >= 0.6)
        status, body = await _get(http, base + "/healthz")
        assert status == 503 and not body["checks"]["loop_lag"]["ok"]
        assert body["checks"]["loop_lag"]["seconds"] >= 0.6


async def test_loop_lag_keeps_the_worst_of_the_last_few():
    lag = LoopLag(every=0.01)
    for value in (0.0, 0.9, 0.0, 0.0, 0.0):
        lag.observe(value)
    assert lag.lag == 0.9
    lag.observe(0.0)
    assert lag.lag == 0.0  # the stall has left the window
    task = asyncio.create_task(lag.run())
    await asyncio.sleep(0.05)
    task.cancel()
