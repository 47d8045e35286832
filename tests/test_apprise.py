"""The Apprise bridge against a local aiohttp endpoint through Apprise's own json:// and form://
schemes: delivery, failures mapped to retryable or not, one outbox recipient per URL, config errors."""

from __future__ import annotations

import aiohttp
import pytest
import structlog
from fake_peers import Reply, closed_port, generic_peer

pytest.importorskip("apprise", reason="the apprise extra is not installed: pip install \"pantau[apprise]\"")

from monitor.config.model import parse_config  # noqa: E402
from monitor.delivery.notify import NotifierContext  # noqa: E402
from monitor.delivery.templates.renderer import sample_events  # noqa: E402
from monitor.errors import ConfigError, NotifyError  # noqa: E402
from notifiers.apprise import AppriseConfig, AppriseNotifier  # noqa: E402

SAMPLES = {e.type: e for e in sample_events()}


def make(http, *urls: str, **extra) -> AppriseNotifier:
    cfg = AppriseConfig(name="ap", type="apprise", urls=list(urls), timeout="5s", **extra)
    return AppriseNotifier(cfg, NotifierContext(http=http, log=structlog.get_logger("t")))


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def test_json_and_form_schemes_deliver(http):
    """json:// posts Apprise's JSON (title, message, type); form:// posts form fields; each URL is
    its own recipient, named without the URL."""
    async with generic_peer() as peer:
        port = peer.port
        notifier = make(http, f"json://127.0.0.1:{port}/hook", f"form://127.0.0.1:{port}/form")
        event = SAMPLES["host.down"]
        assert notifier.recipients(event) == ["#0 json", "#1 form"]
        for recipient in notifier.recipients(event):
            await notifier.send(event, recipient)
        json_req, form_req = peer.received
    assert json_req.path == "/hook"
    assert json_req.json["title"] == "🔴 HOST DOWN" and "server-kantor" in json_req.json["message"]
    assert json_req.json["type"] == "info"
    assert form_req.path == "/form" and "server-kantor" in form_req.form["message"]
    assert notifier.last_response == {"ok": True, "service": "#1 form"}


@pytest.mark.parametrize("reply,retryable,status", [
    (Reply(status=500, text="boom"), True, 500),
    (Reply(status=503, text="later"), True, 503),
    (Reply(status=429, text="slow down"), True, 429),
    (Reply(status=400, text="bad"), False, 400),
    (Reply(status=401, text="who"), False, 401),
])
async def test_http_failures_map_to_retryable_or_not(http, reply, retryable, status):
    """Apprise's False is turned into a NotifyError by the status in its log: 5xx/429 retry, 4xx not."""
    async with generic_peer(default=reply) as peer:
        notifier = make(http, f"json://127.0.0.1:{peer.port}/hook")
        with pytest.raises(NotifyError) as err:
            await notifier.send(SAMPLES["host.down"], "#0 json")
    assert err.value.retryable is retryable and err.value.status == status
    assert str(status) in str(err.value)


async def test_connection_refused_is_retryable_and_url_secret_not_shown(http):
    secret = "sup3r-s3cr3t-token"
    notifier = make(http, f"json://user:{secret}@127.0.0.1:{closed_port()}/hook")
    with pytest.raises(NotifyError) as err:
        await notifier.send(SAMPLES["host.down"], "#0 json")
    assert err.value.retryable and "Connection error" in str(err.value) and secret not in str(err.value)


@pytest.mark.parametrize("urls,error", [
    ([], "notifiers[0].urls: List should have at least 1 item"),
    (["nonsense://x"], "notifiers[0].urls: [0]: not a valid Apprise URL (nonsense://…"),
    (["json://"], "notifiers[0].urls: [0]: not a valid Apprise URL (json://…"),
    ("json://127.0.0.1/x", "notifiers[0].urls: Input should be a valid list"),
])
def test_config_errors_name_the_field(urls, error):
    data = {"hosts": [{"name": "a", "address": "127.0.0.1"}],
            "notifiers": [{"name": "ap", "type": "apprise", "urls": urls}],
            "routes": [{"events": ["host.*"], "notify": ["ap"]}], "plugins_dir": None}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(error) for p in info.value.problems), info.value.problems
