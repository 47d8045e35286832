"""The webhook notifier against a real HTTP peer: payload per schema v1, HMAC signature, and
every failure mode translated into NotifyError with the right retryability (no secret leaked)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import aiohttp
import pytest
from fake_peers import Reply, closed_port, generic_peer
from structlog.testing import capture_logs

from monitor.delivery.notify import NotifierContext
from monitor.errors import NotifyError
from monitor.events import Event, Source
from notifiers.webhook import WebhookConfig, WebhookNotifier

SECRET = "whsec-Zq81-very-secret"


def make_event() -> Event:
    return Event("host.down", Source("host", "core-router", "192.168.88.1", {"site": "office"}),
                 {"loss": 1.0, "rtt_avg_ms": None, "reason": "timeout", "checks_failed": 3},
                 at=datetime(2026, 11, 23, 2, 44, 5, 123000, tzinfo=UTC))


async def notifier(url: str, **extra) -> tuple[WebhookNotifier, aiohttp.ClientSession]:
    http = aiohttp.ClientSession()
    cfg = WebhookConfig(name="hook", type="webhook", url=url, secret=SECRET, **extra)
    return WebhookNotifier(cfg, NotifierContext(http=http)), http


async def test_payload_matches_schema_and_is_signed():
    """The body is the v1 event JSON; X-Pantau-Signature is the HMAC-SHA256 of the exact body."""
    async with generic_peer() as peer:
        n, http = await notifier(peer.url + "/events")
        event = make_event()
        await n.send(event)
        await http.close()
    [req] = peer.received
    assert req.method == "POST" and req.path == "/events"
    body = req.json
    assert body == {"version": 1, "id": event.id, "type": "host.down", "at": "2026-11-23T02:44:05.123Z",
                    "source": {"kind": "host", "name": "core-router", "address": "192.168.88.1",
                               "labels": {"site": "office"}},
                    "data": {"loss": 1.0, "rtt_avg_ms": None, "reason": "timeout", "checks_failed": 3}}
    expected = "sha256=" + hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Pantau-Signature"] == expected
    assert req.headers["X-Pantau-Id"] == event.id and req.headers["X-Pantau-Event"] == "host.down"


@pytest.mark.parametrize(("reply", "retryable", "retry_after", "fragment"), [
    (Reply(400, text="bad payload"), False, None, "HTTP 400: bad payload"),
    (Reply(404, text="no such hook"), False, None, "HTTP 404"),
    (Reply(500, text="boom"), True, None, "HTTP 500"),
    (Reply(503, text="maintenance"), True, None, "HTTP 503"),
    (Reply(429, text="slow down", headers={"Retry-After": "7"}), True, 7.0, "HTTP 429"),
])
async def test_http_failures_map_to_retryability(reply, retryable, retry_after, fragment):
    """4xx is final, 5xx retryable, 429 retryable honouring Retry-After."""
    async with generic_peer(reply) as peer:
        n, http = await notifier(peer.url)
        with pytest.raises(NotifyError) as info:
            await n.send(make_event())
        await http.close()
    assert info.value.retryable is retryable and info.value.retry_after == retry_after
    assert fragment in str(info.value)


async def test_timeout_is_retryable():
    """A peer slower than the notifier's timeout gives a retryable NotifyError."""
    async with generic_peer(Reply(200, json={}, delay=1.0)) as peer:
        n, http = await notifier(peer.url, timeout="200ms")
        with pytest.raises(NotifyError) as info:
            await n.send(make_event())
        await http.close()
    assert info.value.retryable and "did not answer within 0.2s" in str(info.value)


async def test_connection_refused_is_retryable():
    """Nothing listening: retryable, and the message says it could not connect."""
    n, http = await notifier(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(NotifyError) as info:
        await n.send(make_event())
    await http.close()
    assert info.value.retryable and "cannot connect to webhook hook" in str(info.value)


async def test_secret_in_url_never_reaches_errors_or_logs():
    """A token embedded in the URL path/query and a header secret appear in no error or log line."""
    token = "tok-93jd-SECRET-in-url"
    async with generic_peer(Reply(500, text="down")) as peer:
        http = aiohttp.ClientSession()
        cfg = WebhookConfig(name="hook", type="webhook", url=f"{peer.url}/hook/{token}?key={token}",
                            headers={"Authorization": f"Bearer {token}"})
        n = WebhookNotifier(cfg, NotifierContext(http=http))
        with capture_logs() as logs, pytest.raises(NotifyError) as info:
            await n.send(make_event())
        await http.close()
    assert token not in str(info.value) and token not in repr(info.value)
    assert token not in json.dumps(logs, default=str)
    assert token not in repr(cfg)
