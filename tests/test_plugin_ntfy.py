"""The shipped example plugin (plugins/ntfy.py) works against an ntfy-like HTTP peer."""

from __future__ import annotations

import aiohttp
import pytest
from fake_peers import Reply, closed_port, generic_peer

from monitor.delivery.notify import NotifierContext
from monitor.delivery.registry import load_registry
from monitor.errors import NotifyError
from monitor.events import Event, Source


@pytest.fixture
def ntfy_type(root):
    return load_registry(root / "plugins").get("ntfy")


async def test_ntfy_plugin_posts_title_priority_and_token(ntfy_type):
    """A host.down becomes a high-priority push to /<topic> with a Bearer token."""
    async with generic_peer() as peer:
        http = aiohttp.ClientSession()
        cfg = ntfy_type.config_model.model_validate(
            {"name": "phone", "type": "ntfy", "url": peer.url, "topic": "pantau-test", "token": "tk_abc123"})
        n = ntfy_type.cls(cfg, NotifierContext(http=http))
        await n.send(Event("host.down", Source("host", "olt-1", "127.0.0.9"), {"reason": "timeout", "loss": 1.0}))
        await http.close()
    [req] = peer.received
    assert req.path == "/pantau-test"
    assert req.headers["Title"] == "HOST.DOWN olt-1" and req.headers["Priority"] == "high"
    assert req.headers["Authorization"] == "Bearer tk_abc123"
    assert "reason: timeout" in req.body.decode()


async def test_ntfy_plugin_rejects_bad_topic_and_maps_errors(ntfy_type):
    """Its typed config rejects an invalid topic; a 403 from the server is not retryable."""
    with pytest.raises(ValueError):
        ntfy_type.config_model.model_validate({"name": "p", "type": "ntfy", "topic": "has space"})
    async with generic_peer(Reply(403, text="forbidden")) as peer:
        http = aiohttp.ClientSession()
        cfg = ntfy_type.config_model.model_validate({"name": "p", "type": "ntfy", "url": peer.url, "topic": "t"})
        with pytest.raises(NotifyError) as info:
            await ntfy_type.cls(cfg, NotifierContext(http=http)).send(
                Event("host.up", Source("host", "a", "127.0.0.1"), {"down_for_s": 61.0}))
        await http.close()
    assert info.value.retryable is False and info.value.status == 403


@pytest.mark.parametrize(("reply", "retryable", "retry_after"), [
    (Reply(400, text="bad"), False, None),
    (Reply(502, text="bad gateway"), True, None),
    (Reply(429, text="slow", headers={"Retry-After": "3"}), True, 3.0),
    (Reply(200, json={}, delay=1.0), True, None),  # slower than the 200 ms timeout
])
async def test_ntfy_plugin_failure_modes(ntfy_type, reply, retryable, retry_after):
    """4xx final, 5xx retryable, 429 with Retry-After, timeout retryable."""
    async with generic_peer(reply) as peer:
        http = aiohttp.ClientSession()
        cfg = ntfy_type.config_model.model_validate(
            {"name": "p", "type": "ntfy", "url": peer.url, "topic": "t", "timeout": "200ms"})
        with pytest.raises(NotifyError) as info:
            await ntfy_type.cls(cfg, NotifierContext(http=http)).send(
                Event("host.down", Source("host", "a", "127.0.0.1"), {"reason": "timeout"}))
        await http.close()
    assert info.value.retryable is retryable and info.value.retry_after == retry_after


async def test_ntfy_plugin_connection_refused(ntfy_type):
    """Nothing listening at the server URL: a retryable NotifyError."""
    http = aiohttp.ClientSession()
    cfg = ntfy_type.config_model.model_validate({"name": "p", "type": "ntfy", "url": f"http://127.0.0.1:{closed_port()}", "topic": "t"})
    with pytest.raises(NotifyError) as info:
        await ntfy_type.cls(cfg, NotifierContext(http=http)).send(
            Event("host.up", Source("host", "a", "127.0.0.1"), {"down_for_s": 5.0}))
    await http.close()
    assert info.value.retryable
