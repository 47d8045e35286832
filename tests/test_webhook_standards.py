"""Webhook signatures and formats checked by the ecosystem's own tools: Standard Webhooks by the
`standardwebhooks` reference library, the Alertmanager payload against Alertmanager's webhook
schema, the default signature's signed timestamp by recomputation."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime

import aiohttp
import jsonschema
import pytest
import standardwebhooks
from fake_peers import generic_peer

from monitor.config.model import parse_config
from monitor.delivery.alerts import fingerprint
from monitor.delivery.notify import NotifierContext
from monitor.errors import ConfigError
from monitor.events import Event, Source
from notifiers.webhook import WebhookConfig, WebhookNotifier

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
AT = datetime(2026, 11, 23, 2, 44, 5, 123000, tzinfo=UTC)
NOW = AT.timestamp() + 2


def host_event(kind: str = "host.down", **data) -> Event:
    return Event(kind, Source("host", "server-kantor", "192.168.10.2", {"site": "kantor", "rack-no": "3"}),
                 {"reason": "timeout", **data}, at=AT)


async def post(event: Event, clock=lambda: NOW, **config):
    async with generic_peer() as peer, aiohttp.ClientSession() as http:
        cfg = WebhookConfig(name="hook", type="webhook", url=peer.url + "/in", **config)
        await WebhookNotifier(cfg, NotifierContext(http=http), clock=clock).send(event)
    return peer.received


async def test_standard_webhooks_verified_by_reference_library():
    """signature: standard → the standardwebhooks package verifies id, timestamp and signature."""
    event = host_event()
    [req] = await post(event, clock=lambda: datetime.now(UTC).timestamp(), secret=WHSEC, signature="standard")
    headers = {k.lower(): v for k, v in req.headers.items()}
    assert headers["webhook-id"] == event.id and headers["webhook-signature"].startswith("v1,")
    payload = standardwebhooks.Webhook(WHSEC).verify(req.body, headers)
    assert payload["id"] == event.id and payload["type"] == "host.down"
    # A tampered body or another secret fails verification in the reference library.
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(WHSEC).verify(req.body.replace(b"timeout", b"timeoux"), headers)
    other = "whsec_" + base64.b64encode(b"another-secret-of-24-byte").decode()
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(req.body, headers)


async def test_standard_webhooks_old_timestamp_rejected_as_replay():
    """The signed timestamp is the injected clock: one an hour old is refused by the library."""
    [req] = await post(host_event(), clock=lambda: datetime.now(UTC).timestamp() - 3600,
                       secret=WHSEC, signature="standard")
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError, match="too old"):
        standardwebhooks.Webhook(WHSEC).verify(req.body, {k.lower(): v for k, v in req.headers.items()})


async def test_default_signature_kept_and_timestamp_signed():
    """The default keeps X-Pantau-Signature (HMAC of the body) and adds X-Pantau-Timestamp with
    X-Pantau-Timestamp-Signature = HMAC of "<timestamp>.<body>"."""
    secret = "s3cr3t-value"
    [req] = await post(host_event(), secret=secret)
    digest = lambda data: "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()  # noqa: E731
    assert req.headers["X-Pantau-Signature"] == digest(req.body)
    assert req.headers["X-Pantau-Timestamp"] == str(int(NOW))
    assert req.headers["X-Pantau-Timestamp-Signature"] == digest(f"{int(NOW)}.".encode() + req.body)
    assert "webhook-signature" not in {k.lower() for k in req.headers}


# Alertmanager's webhook payload (notify/webhook Message + template.Data, version 4), as a schema.
_KV = {"type": "object", "additionalProperties": {"type": "string"}}
_TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"}
ALERTMANAGER_WEBHOOK_SCHEMA = {
    "type": "object",
    "required": ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                 "commonLabels", "commonAnnotations", "externalURL", "alerts"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": "4"}, "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer", "minimum": 0},
        "status": {"enum": ["firing", "resolved"]}, "receiver": {"type": "string"},
        "groupLabels": _KV, "commonLabels": _KV, "commonAnnotations": _KV, "externalURL": {"type": "string"},
        "alerts": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"],
            "properties": {
                "status": {"enum": ["firing", "resolved"]},
                "labels": {**_KV, "required": ["alertname"],
                           "propertyNames": {"pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
                "annotations": _KV, "startsAt": _TIME, "endsAt": _TIME, "generatorURL": {"type": "string"},
                "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}}},
    },
}


async def test_alertmanager_format_firing_and_resolved():
    """format: alertmanager posts version-4 payloads that validate against the schema: host.down is
    firing (endsAt zero), host.up resolves the same alert (same labels and fingerprint) with
    startsAt = when the outage began and endsAt = the up time."""
    down = host_event()
    up = dataclasses.replace(host_event("host.up", down_for_s=600.0), at=AT.replace(minute=54))
    [fired] = await post(down, format="alertmanager")
    [resolved] = await post(up, clock=lambda: up.at.timestamp() + 1, format="alertmanager")
    for req in (fired, resolved):
        jsonschema.validate(req.json, ALERTMANAGER_WEBHOOK_SCHEMA)
    a, b = fired.json["alerts"][0], resolved.json["alerts"][0]
    assert fired.json["status"] == a["status"] == "firing" and a["endsAt"] == "0001-01-01T00:00:00Z"
    assert a["labels"] == {"alertname": "HostDown", "host": "server-kantor", "site": "kantor", "rack_no": "3"}
    assert a["startsAt"] == "2026-11-23T02:44:05.123Z" and "timeout" in a["annotations"]["summary"]
    assert resolved.json["status"] == b["status"] == "resolved"
    assert b["labels"] == a["labels"] and b["fingerprint"] == a["fingerprint"]
    assert b["startsAt"] == "2026-11-23T02:44:05.123Z" and b["endsAt"] == "2026-11-23T02:54:05.123Z"
    assert fired.json["groupLabels"] == {"alertname": "HostDown"}


async def test_alertmanager_format_skips_session_events():
    """Session events are not alerts: nothing is posted for them in alertmanager format."""
    login = Event("hotspot.login", Source("router", "core"), {"user": "budi"}, at=AT)
    assert await post(login, format="alertmanager") == []


def test_fingerprint_is_fnv1a_of_labels():
    """FNV-1a 64 over sorted labels (tests/test_alertmanager.py compares it with a real
    Alertmanager's fingerprint for the same labels)."""
    assert fingerprint({}) == "cbf29ce484222325"  # FNV-1a 64 offset basis: the empty label set
    assert fingerprint({"alertname": "HostDown", "host": "a"}) != fingerprint({"alertname": "HostDown", "host": "b"})


@pytest.mark.parametrize("field,value,error", [
    ("signature", "hmac", "notifiers[0].signature: Input should be 'pantau' or 'standard'"),
    ("format", "prometheus", "notifiers[0].format: Input should be 'pantau' or 'alertmanager'"),
    ("secret", "plain-secret", "notifiers[0].secret: a Standard Webhooks secret starts with whsec_"),
    ("secret", "whsec_!!!", "notifiers[0].secret: the part after whsec_ is not valid base64"),
    ("secret", None, "notifiers[0].secret: signature: standard needs a secret"),
])
def test_config_errors_name_the_field(field, value, error):
    hook = {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/x", "signature": "standard",
            "secret": WHSEC, field: value}
    if value is None:
        del hook[field]
    data = {"hosts": [{"name": "a", "address": "127.0.0.1"}], "notifiers": [hook],
            "routes": [{"events": ["host.*"], "notify": ["hook"]}], "plugins_dir": None}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(error) for p in info.value.problems), info.value.problems
