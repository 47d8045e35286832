"""WhatsApp Cloud API delivery that really arrives: template mode and parameter limits, and the
status webhook turning a late `failed` status into a retry as template or a dead letter.

The fake Cloud API answers every send with 200 and a message id, like Meta; the failure is posted
later, signed with the app secret, to pantau's own HTTP server (when the test says so)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
import structlog

from monitor.cli.outbox import outbox_command
from monitor.delivery.notify import NotifierContext
from monitor.delivery.outbox import Outbox
from monitor.delivery.templates.renderer import sample_events
from monitor.web.config import HttpConfig
from monitor.web.server import WebServer
from notifiers.whatsapp import WhatsAppConfig, WhatsAppNotifier
from notifiers.whatsapp.cloud_params import MAX_PARAM, clean_param
from tests.fake_peers import cloud_peer

APP_SECRET = "meta-app-s3cret-0123"
VERIFY = "verify-me-42"
NUMBER = "6285712345678"
SAMPLES = {e.type: e for e in sample_events()}


def status_body(wamid: str, status: str, *, code: int | None = None) -> dict:
    entry = {"id": wamid, "status": status, "timestamp": "1795402000", "recipient_id": NUMBER}
    if code is not None:
        entry["errors"] = [{"code": code, "title": "Re-engagement message",
                            "message": "Re-engagement message",
                            "error_data": {"details": "Message failed to send because more than 24 hours have "
                                                      "passed since the customer last replied to this number."}}]
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [entry]}}]}]}


async def post_status(http, url: str, body: dict, secret: str = APP_SECRET) -> int:
    raw = json.dumps(body).encode()
    sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    async with http.post(url, data=raw, headers={"Content-Type": "application/json",
                                                 "X-Hub-Signature-256": sig}) as resp:
        return resp.status


async def wait_for(predicate, timeout: float = 10.0) -> None:
    """Poll a condition (bounded): the outbox works on its own thread and tasks."""
    async with asyncio.timeout(timeout):
        for _ in itertools.count():
            if await predicate():
                return
            await asyncio.sleep(0.02)


@pytest.fixture
async def rig(tmp_path):
    """A cloud notifier + outbox + pantau's HTTP server with the status webhook, against a fake Cloud API."""
    made = []

    async def build(**overrides):
        peer = await cloud_peer().start()
        http = aiohttp.ClientSession()
        fields = {"name": "wa", "type": "whatsapp", "provider": "cloud", "url": peer.url, "token": "tok",
                  "phone_number_id": "1098", "to": [NUMBER], "app_secret": APP_SECRET, "verify_token": VERIFY,
                  "rate_limit": {"per_recipient": ["off"]}, **overrides}
        settings = SimpleNamespace(state=SimpleNamespace(path=str(tmp_path / "state.db")))
        notifier = WhatsAppNotifier(WhatsAppConfig(**fields), NotifierContext(
            http=http, log=structlog.get_logger("t"), settings=settings))
        outbox = Outbox(tmp_path / "state.db", {"wa": notifier}, {})
        web = WebServer(HttpConfig(listen="127.0.0.1:0"))
        web.add_routes(notifier.web_routes(outbox))
        await outbox.start()
        await web.start()
        rig = SimpleNamespace(peer=peer, http=http, notifier=notifier, outbox=outbox, web=web, settings=settings,
                              hook=f"http://127.0.0.1:{web.port}/whatsapp/wa/status")
        made.append(rig)
        return rig

    yield build
    for r in made:
        await r.web.aclose()
        await r.outbox.aclose()
        await r.notifier.aclose()
        await r.http.close()
        await r.peer.close()


async def test_failed_status_retries_as_template_and_arrives(rig, capsys):
    """Text is accepted (200 + wamid), then 131047 arrives on the webhook: the outbox message is
    pending again, goes out as the template with parameters from event fields, and Meta's later
    `delivered` for the template leaves it sent."""
    r = await rig(template="pantau_alert", template_params=["{{ source.name }}", "{{ data.reason }}"])
    await r.outbox.enqueue(SAMPLES["host.down"], ["wa"])
    await wait_for(lambda: _counts(r, sent=1))
    [text] = r.peer.received
    assert text.json["type"] == "text"
    wamid = "wamid.HBgN000001"
    assert await post_status(r.http, r.hook, status_body(wamid, "failed", code=131047)) == 200
    await wait_for(lambda: _peer_count(r, 2))
    await wait_for(lambda: _counts(r, sent=1))
    template = r.peer.received[1].json
    assert template["type"] == "template" and template["template"]["name"] == "pantau_alert"
    assert template["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "server-kantor"}, {"type": "text", "text": "timeout"}]
    assert await post_status(r.http, r.hook, status_body("wamid.HBgN000002", "delivered")) == 200
    [row] = await r.outbox.list()
    assert row.status == "sent" and "retrying as template" in row.last_error and "131047" in row.last_error
    assert r.notifier.cloud_sent.lookup("wamid.HBgN000002")["status"] == "delivered"


async def test_failed_status_without_template_is_dead_letter_with_reason(rig, capsys):
    """No template: the late 131047 makes the sent message a dead letter whose reason is Meta's
    error, as `pantau outbox` shows it."""
    r = await rig()
    await r.outbox.enqueue(SAMPLES["host.down"], ["wa"])
    await wait_for(lambda: _counts(r, sent=1))
    assert await post_status(r.http, r.hook, status_body("wamid.HBgN000001", "failed", code=131047)) == 200
    await wait_for(lambda: _counts(r, dead=1))
    assert len(r.peer.received) == 1
    outbox_command(Path(r.settings.state.path), "list")
    printed = capsys.readouterr().out
    assert "dead" in printed and "131047 Re-engagement message" in printed and "24 hours" in printed


async def test_mode_template_always_sends_the_template(rig):
    """mode: template sends the template first time, named parameters mapped from event fields."""
    r = await rig(mode="template", template="pantau_named",
                  template_params={"host": "{{ source.name }}", "detail": "{{ data.reason }}\n\tline2      x"})
    await r.outbox.enqueue(SAMPLES["host.down"], ["wa"])
    await wait_for(lambda: _counts(r, sent=1))
    [req] = r.peer.received
    params = req.json["template"]["components"][0]["parameters"]
    assert req.json["type"] == "template"
    assert params == [{"type": "text", "parameter_name": "host", "text": "server-kantor"},
                      {"type": "text", "parameter_name": "detail", "text": "timeout · line2    x"}]


async def test_webhook_refuses_bad_signature_and_answers_handshake(rig):
    """POST without the right X-Hub-Signature-256 is 401 and changes nothing; GET answers
    hub.challenge only with the right verify token."""
    r = await rig(template="pantau_alert")
    await r.outbox.enqueue(SAMPLES["host.down"], ["wa"])
    await wait_for(lambda: _counts(r, sent=1))
    body = status_body("wamid.HBgN000001", "failed", code=131047)
    assert await post_status(r.http, r.hook, body, secret="wrong") == 401
    assert (await r.outbox.counts())["sent"] == 1 and len(r.peer.received) == 1
    ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    async with r.http.get(r.hook, params=ok) as resp:
        assert resp.status == 200 and await resp.text() == "1158201444"
    async with r.http.get(r.hook, params={**ok, "hub.verify_token": "nope"}) as resp:
        assert resp.status == 403


@pytest.mark.parametrize("text,expected", [
    ("a\nb\tc", "a · b · c"), ("x" + " " * 9 + "y", "x    y"), ("", "-"),
])
def test_clean_param_rules(text, expected):
    assert clean_param(text) == expected


def test_clean_param_length_limit():
    out = clean_param("kata " * 400)
    assert len(out) == MAX_PARAM and out.endswith("…") and "\n" not in out


@pytest.mark.parametrize("fields,error", [
    ({"mode": "template"}, "mode: template needs template"),
    ({"mode": "sometimes"}, "Input should be 'auto', 'text' or 'template'"),
    ({"status_path": "hook"}, "status_path must start with /"),
    ({"template_params": "x"}, "template_params"),
])
def test_cloud_config_errors(fields, error):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match=error):
        WhatsAppConfig(name="wa", type="whatsapp", provider="cloud", token="t", phone_number_id="1",
                       to=[NUMBER], **fields)


async def _counts(r, **want) -> bool:
    counts = await r.outbox.counts()
    return all(counts[k] == v for k, v in want.items())


async def _peer_count(r, n: int) -> bool:
    return len(r.peer.received) >= n


async def test_engine_serves_the_status_webhook(tmp_path):
    """Wired by the engine: with `http:` configured, the Cloud notifier's status webhook is on
    pantau's own HTTP server (handshake answered, unsigned POST refused)."""
    from monitor.config.model import parse_config
    from monitor.engine import Engine

    config = parse_config({
        "notifiers": [{"name": "wa", "type": "whatsapp", "provider": "cloud", "url": "http://127.0.0.1:9",
                       "token": "tok", "phone_number_id": "1", "to": [NUMBER], "template": "pantau_alert",
                       "mode": "template", "app_secret": APP_SECRET, "verify_token": VERIFY}],
        "routes": [{"events": ["host.*"], "notify": ["wa"]}], "http": {"listen": "127.0.0.1:0"},
        "state": {"path": str(tmp_path / "s.db")}, "plugins_dir": None}, env={})
    engine = Engine(config)
    await engine.start()
    try:
        url = f"http://127.0.0.1:{engine.web.port}/whatsapp/wa/status"
        async with aiohttp.ClientSession() as http:
            params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "77"}
            async with http.get(url, params=params) as resp:
                assert resp.status == 200 and await resp.text() == "77"
            async with http.post(url, json=status_body("wamid.x", "failed", code=131047)) as resp:
                assert resp.status == 401
    finally:
        await engine.stop()


@pytest.mark.parametrize("field,value,error", [
    ("mode", "sometimes", "notifiers[0].mode: Input should be 'auto', 'text' or 'template'"),
    ("template_params", "{{ source.name }}", "notifiers[0].template_params.list[str]: Input should be a valid list"),
    ("template_params", ["{{ source.name"], "notifiers[0].template_params: [0]: syntax error"),
    ("app_secret", 12, "notifiers[0].app_secret: Input should be a valid string"),
    ("verify_token", ["x"], "notifiers[0].verify_token: Input should be a valid string"),
    ("status_path", "status", "notifiers[0]: status_path must start with /"),
])
def test_cloud_fields_bad_input_name_the_path(field, value, error):
    """Through the config loader (what `pantau run/check` exit 2 with): the field's path is named."""
    from monitor.config.model import parse_config
    from monitor.errors import ConfigError

    wa = {"name": "wa", "type": "whatsapp", "provider": "cloud", "token": "t", "phone_number_id": "1",
          "to": [NUMBER], "template": "pantau_alert", field: value}
    data = {"hosts": [{"name": "a", "address": "127.0.0.1"}], "notifiers": [wa],
            "routes": [{"events": ["host.*"], "notify": ["wa"]}], "plugins_dir": None}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(error) for p in info.value.problems), info.value.problems


async def test_template_param_that_fails_to_render_is_a_dead_letter(rig):
    """A parameter expression that fails at render time (unknown filter) is permanent, not retried."""
    r = await rig(mode="template", template="pantau_alert", template_params=["{{ source.name | nosuchfilter }}"])
    await r.outbox.enqueue(SAMPLES["host.down"], ["wa"])
    await wait_for(lambda: _counts(r, dead=1))
    [row] = await r.outbox.list()
    assert "template_params" in row.last_error and r.peer.received == []
