"""WhatsApp notifier against fake form/WAHA/Fonnte/Cloud servers on 127.0.0.1; phone numbers."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
import structlog
from pydantic import ValidationError
from structlog.testing import capture_logs

from monitor.delivery.notify import NotifierContext
from monitor.delivery.phone import find_phone, normalize_msisdn
from monitor.delivery.templates.renderer import sample_events
from monitor.errors import NotifyError
from notifiers.whatsapp import NOTIFIER, WhatsAppConfig, WhatsAppNotifier
from tests.fake_peers import (
    Reply,
    closed_port,
    cloud_error,
    cloud_peer,
    fonnte_peer,
    form_peer,
    waha_peer,
)

TOKEN = "fonnte-Tok3n-s3cr3t-XyZ"
API_KEY = "waha-k3y-0123456789abcdef"
SAMPLES = {e.type: e for e in sample_events()}
NUMBER = "6285712345678"

PROVIDERS = {
    "form": (form_peer, lambda url: {"url": f"{url}/send-message"}),
    "waha": (waha_peer, lambda url: {"url": url, "api_key": API_KEY}),
    "fonnte": (fonnte_peer, lambda url: {"url": url, "token": TOKEN}),
    "cloud": (cloud_peer, lambda url: {"url": url, "token": TOKEN, "phone_number_id": "109876543210"}),
}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def make(http, provider: str, url: str, **overrides) -> WhatsAppNotifier:
    fields = {"name": "wa", "type": "whatsapp", "provider": provider, "to": ["0857-1234-5678"],
              "timeout": "2s", **PROVIDERS[provider][1](url), **overrides}
    return WhatsAppNotifier(WhatsAppConfig(**fields), NotifierContext(http=http, log=structlog.get_logger("t")))


# -- phone numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["0857-1234-5678", "+62 857 1234 5678", "6285712345678", "0062 857 1234 5678",
                                  "(0857) 1234.5678", "85712345678", "6285712345678@c.us"])
def test_normalize_msisdn_variants(text):
    """Every way operators write an Indonesian number normalises to 62857… digits."""
    assert normalize_msisdn(text) == NUMBER


@pytest.mark.parametrize("text", ["", "12345", "192.168.88.1", "abc", "1234567890123456789", "+0857"])
def test_normalize_msisdn_rejects_non_numbers(text):
    """Short numbers, IP addresses, words and over-long digit runs are not phone numbers."""
    assert normalize_msisdn(text) is None


def test_find_phone_in_routeros_comments():
    """A number inside a comment is found and normalised; IPs, MACs and dates are not numbers."""
    assert find_phone("Budi, WA 0857 1234 5678, blok C") == NUMBER
    assert find_phone("2026-01-05 hp:+62-812-3456-7890") == "6281234567890"
    assert find_phone("ip 192.168.88.10 mac AA:BB:CC:DD:EE:FF dipasang 2026-01-05") is None
    assert find_phone(None) is None
    assert normalize_msisdn("0212345678", country_code="62") == "62212345678"
    assert normalize_msisdn("0612345678", country_code="60") == "60612345678"


# -- success shapes: what each gateway receives -----------------------------------------------------

async def test_form_gateway_gets_number_and_message_form_encoded(http):
    """form: POST {url} form-encoded number=62857… and the plain-text message (WhatsApp *bold*)."""
    async with form_peer() as peer:
        notifier = make(http, "form", peer.url)
        await notifier.send(SAMPLES["hotspot.login"], NUMBER)
        [req] = peer.received
    assert req.method == "POST" and req.path == "/send-message"
    assert req.form["number"] == NUMBER
    assert req.form["message"].startswith("*Selamat Datang*\nTanggal: 23/11/2026\nJam: 09:44:05 WIB")
    assert "Status: Sudah Aktif (ON)" in req.form["message"]
    assert notifier.last_response["ok"] is True and notifier.last_response["to"] == NUMBER
    assert NOTIFIER is WhatsAppNotifier


async def test_form_gateway_json_option(http):
    """form with json: true sends the same fields as a JSON object, with configurable names."""
    async with form_peer() as peer:
        await make(http, "form", peer.url, json=True, number_field="phone").send(SAMPLES["host.down"], NUMBER)
        [req] = peer.received
    assert req.json["phone"] == NUMBER and "HOST DOWN" in req.json["message"]


async def test_waha_gets_session_chat_id_and_api_key(http):
    """waha: POST /api/sendText JSON {session, chatId: 62…@c.us, text} with X-Api-Key; groups as is."""
    async with waha_peer() as peer:
        notifier = make(http, "waha", peer.url, session="kantor")
        await notifier.send(SAMPLES["router.down"], NUMBER)
        await notifier.send(SAMPLES["router.down"], "120363025246125486@g.us")
        first, second = peer.received
    assert first.path == "/api/sendText" and first.headers["X-Api-Key"] == API_KEY
    assert first.json == {"session": "kantor", "chatId": f"{NUMBER}@c.us", "text": first.json["text"]}
    assert "ROUTER DOWN" in first.json["text"]
    assert second.json["chatId"] == "120363025246125486@g.us"
    assert notifier.last_response["id"].startswith("true_120363025246125486@g.us")


async def test_fonnte_gets_token_header_and_target(http):
    """fonnte: POST /send with Authorization: TOKEN and form target/message."""
    async with fonnte_peer() as peer:
        notifier = make(http, "fonnte", peer.url)
        await notifier.send(SAMPLES["host.up"], NUMBER)
        [req] = peer.received
    assert req.path == "/send" and req.headers["Authorization"] == TOKEN
    assert req.form["target"] == NUMBER and "Lama down: 2 jam 5 menit" in req.form["message"]
    assert notifier.last_response["detail"] == "success! message in queue"


async def test_cloud_gets_bearer_and_text_body(http):
    """cloud: POST /{phone_number_id}/messages with a Bearer token and a text message to 62…."""
    async with cloud_peer() as peer:
        notifier = make(http, "cloud", peer.url)
        await notifier.send(SAMPLES["ppp.disconnect"], NUMBER)
        [req] = peer.received
    assert req.path == "/109876543210/messages" and req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.json["to"] == NUMBER and req.json["type"] == "text"
    assert req.json["messaging_product"] == "whatsapp" and "PPP Terputus" in req.json["text"]["body"]
    assert notifier.last_response == {"ok": True, "id": "wamid.HBgN000001", "via": "text", "to": NUMBER}


async def test_cloud_uses_template_outside_24h_window(http):
    """cloud: error 131047 (re-engagement) with a template configured resends as that template,
    the message flattened into its single body parameter."""
    async with cloud_peer() as peer:
        peer.queue(cloud_error(131047, "Re-engagement message", details="more than 24 hours"))
        notifier = make(http, "cloud", peer.url, template="pantau_alert", template_language="id")
        with capture_logs() as logs:
            await notifier.send(SAMPLES["host.down"], NUMBER)
        text_req, template_req = peer.received
    fallback = [e for e in logs if e["event"] == "whatsapp.cloud_template_fallback"]
    assert len(fallback) == 1 and fallback[0]["recipient"].count("*") >= 3
    assert NUMBER not in str([e for e in logs if e["log_level"] != "debug"])
    assert text_req.json["type"] == "text"
    template = template_req.json["template"]
    assert template_req.json["type"] == "template" and template["name"] == "pantau_alert"
    assert template["language"] == {"code": "id"}
    param = template["components"][0]["parameters"][0]["text"]
    assert "\n" not in param and "Tanggal: 23/11/2026 · Jam: 09:44:05 WIB" in param
    assert notifier.last_response["via"] == "template"


async def test_cloud_131047_without_template_is_permanent(http):
    """Without a template, 131047 is not retryable and says what to configure."""
    async with cloud_peer() as peer:
        peer.queue(cloud_error(131047, "Re-engagement message"))
        with pytest.raises(NotifyError) as err:
            await make(http, "cloud", peer.url).send(SAMPLES["host.down"], NUMBER)
    assert not err.value.retryable and "24-hour window" in str(err.value) and "131047" in str(err.value)


@pytest.mark.parametrize("reply,retryable", [
    (cloud_error(130429, "Rate limit hit"), True),
    (cloud_error(190, "Error validating access token: Session has expired", status=401), False),
    (cloud_error(100, "Invalid parameter"), False),
])
async def test_cloud_error_codes(http, reply, retryable):
    """Graph API throttling codes are retryable, token and parameter errors are not; text quoted."""
    async with cloud_peer() as peer:
        peer.queue(reply)
        with pytest.raises(NotifyError) as err:
            await make(http, "cloud", peer.url).send(SAMPLES["host.down"], NUMBER)
    assert err.value.retryable is retryable and reply.json["error"]["message"] in str(err.value)


# -- refusals in HTTP 200 ----------------------------------------------------------------------------

@pytest.mark.parametrize("reason,retryable", [
    ("invalid token", False), ("target invalid", False),
    ("insufficient quota", True), ("rate limit exceeded", True), ("queue full, try again later", True),
])
async def test_fonnte_status_false_is_failure(http, reason, retryable):
    """Fonnte's HTTP 200 with status: false fails with its reason (logged); token/target errors are
    permanent, quota/queue/rate errors retryable."""
    async with fonnte_peer() as peer:
        peer.queue(Reply(json={"status": False, "reason": reason}))
        with capture_logs() as logs, pytest.raises(NotifyError) as err:
            await make(http, "fonnte", peer.url).send(SAMPLES["host.down"], NUMBER)
    assert str(err.value) == f"Fonnte: {reason}" and err.value.retryable is retryable
    assert any(e["event"] == "whatsapp.fonnte_refused" and e["reason"] == reason for e in logs)


@pytest.mark.parametrize("reply,retryable,text", [
    (Reply(json={"status": False, "message": "The number is not registered"}), False, "not registered"),
    (Reply(json={"status": False, "message": "Client is not ready"}), True, "not ready"),
    (Reply(text="OK"), False, "reply does not say status: true"),
    (Reply(status=422, json={"status": False, "message": "The number is not registered"}), False, "HTTP 422"),
])
async def test_form_success_only_when_status_true(http, reply, retryable, text):
    """The form gateway counts as delivered only on status: true; anything else is a NotifyError."""
    async with form_peer() as peer:
        peer.queue(reply)
        notifier = make(http, "form", peer.url)
        with pytest.raises(NotifyError) as err:
            await notifier.send(SAMPLES["host.down"], NUMBER)
    assert text in str(err.value) and err.value.retryable is retryable
    assert notifier.last_response["ok"] is False


@pytest.mark.parametrize("reply,retryable,text", [
    (Reply(status=401, json={"message": "Unauthorized", "statusCode": 401}), False, "check api_key"),
    (Reply(status=422, json={"message": "Session status is not as expected: SCAN_QR_CODE"}), True, "SCAN_QR"),
])
async def test_waha_errors(http, reply, retryable, text):
    """WAHA: a bad key is permanent; a session that is not running yet is retryable."""
    async with waha_peer() as peer:
        peer.queue(reply)
        with pytest.raises(NotifyError) as err:
            await make(http, "waha", peer.url).send(SAMPLES["host.down"], NUMBER)
    assert text in str(err.value) and err.value.retryable is retryable


# -- transport and HTTP failures, every provider --------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
async def test_5xx_is_retryable(http, provider):
    """A 5xx from any gateway is retryable and carries the status."""
    async with PROVIDERS[provider][0]() as peer:
        peer.queue(Reply(status=503, text="Service Unavailable"))
        with pytest.raises(NotifyError) as err:
            await make(http, provider, peer.url).send(SAMPLES["host.down"], NUMBER)
    assert err.value.retryable and err.value.status == 503 and "503" in str(err.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_is_retryable_with_retry_after(http, provider):
    """A 429 with Retry-After from any gateway is retryable and passes the wait on."""
    async with PROVIDERS[provider][0]() as peer:
        peer.queue(Reply(status=429, json={"message": "Too Many Requests"}, headers={"Retry-After": "9"}))
        with pytest.raises(NotifyError) as err:
            await make(http, provider, peer.url).send(SAMPLES["host.down"], NUMBER)
    assert err.value.retryable and err.value.retry_after == 9 and err.value.status == 429


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_4xx_is_permanent(http, provider):
    """A plain 400 from any gateway is not retryable."""
    async with PROVIDERS[provider][0]() as peer:
        peer.queue(Reply(status=400, json={"message": "bad request", "status": False}))
        with pytest.raises(NotifyError) as err:
            await make(http, provider, peer.url).send(SAMPLES["host.down"], NUMBER)
    assert not err.value.retryable and err.value.status == 400


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_timeout_is_retryable(http, provider):
    """A gateway slower than the configured timeout gives a retryable NotifyError."""
    async with PROVIDERS[provider][0]() as peer:
        peer.queue(Reply(delay=1.5, json={"status": True}))
        with pytest.raises(NotifyError) as err:
            await make(http, provider, peer.url, timeout="200ms").send(SAMPLES["host.down"], NUMBER)
    assert err.value.retryable and "did not answer within 0.2s" in str(err.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connection_refused_is_retryable(http, provider):
    """Nothing listening at the gateway's port: retryable 'cannot connect'."""
    with pytest.raises(NotifyError) as err:
        await make(http, provider, f"http://127.0.0.1:{closed_port()}").send(SAMPLES["host.down"], NUMBER)
    assert err.value.retryable and "cannot connect" in str(err.value)


@pytest.mark.parametrize("provider,secret", [("waha", API_KEY), ("fonnte", TOKEN), ("cloud", TOKEN)])
async def test_secrets_never_in_errors_or_logs(http, provider, secret):
    """Even when a gateway echoes its token/API key back, errors and logs do not show it."""
    async with PROVIDERS[provider][0]() as peer:
        peer.queue(Reply(status=401, json={"status": False, "reason": f"invalid token {secret}",
                                           "message": f"bad key {secret}",
                                           "error": {"message": f"bad token {secret}", "code": 190}}),
                   Reply(status=200, json={"status": False, "reason": f"invalid token {secret}"})
                   if provider == "fonnte" else Reply(status=500, text=f"upstream said {secret}"))
        notifier = make(http, provider, peer.url)
        with capture_logs() as logs:
            for _ in range(2):
                with pytest.raises(NotifyError) as err:
                    await notifier.send(SAMPLES["host.down"], NUMBER)
                assert secret not in str(err.value) and "***" in str(err.value)
    assert logs and secret not in repr(logs)


# -- recipients, digests, config --------------------------------------------------------------------

def test_recipients_normalised_with_subscriber():
    """to: numbers in any form, group ids and 'subscriber' become one normalised, de-duplicated list;
    an event without a subscriber phone skips 'subscriber' with a debug log."""
    config = WhatsAppConfig(name="wa", type="whatsapp", provider="fonnte", token=TOKEN,
                            to=["0857-1234-5678", "+62 812 3456 7890", "120363025246125486@g.us",
                                "subscriber", "62857 1234 5678"])
    notifier = WhatsAppNotifier(config, NotifierContext(http=None))  # type: ignore[arg-type]
    login = dataclasses.replace(SAMPLES["hotspot.login"],
                                data={**SAMPLES["hotspot.login"].data, "subscriber": {"phone": "0899 1111 2222"}})
    assert notifier.recipients(login) == [NUMBER, "6281234567890", "120363025246125486@g.us", "6289911112222"]
    with capture_logs() as logs:
        assert notifier.recipients(SAMPLES["ppp.connect"]) == [NUMBER, "6281234567890", "120363025246125486@g.us"]
    assert any(e["event"] == "whatsapp.no_subscriber_phone" and e["user"] == "pelanggan-017" for e in logs)


async def test_send_without_recipient_goes_to_everyone(http):
    """send(event) with no recipient delivers to each of recipients(event), WAHA-addressed."""
    async with waha_peer() as peer:
        notifier = make(http, "waha", peer.url, to=["0812-3456-7890", "subscriber"])
        await notifier.send(SAMPLES["hotspot.login"])
        chats = [r.json["chatId"] for r in peer.received]
    assert chats == ["6281234567890@c.us", f"{NUMBER}@c.us"]


async def test_digest_is_one_message_to_the_recipient(http):
    """send_digest sends one summary message to the given recipient."""
    async with fonnte_peer() as peer:
        await make(http, "fonnte", peer.url).send_digest(sample_events(), NUMBER)
        [req] = peer.received
    assert req.form["target"] == NUMBER and req.form["message"].startswith(f"*Ringkasan*: {len(sample_events())} kejadian")
    assert "router core DOWN — 0 sesi terputus" in req.form["message"]


@pytest.mark.parametrize("fields,error", [
    ({"provider": "waha", "to": ["0857-1234-5678"]}, "url is required"),
    ({"provider": "fonnte", "to": ["0857-1234-5678"]}, "token is required"),
    ({"provider": "cloud", "to": ["0857-1234-5678"], "token": "x"}, "phone_number_id is required"),
    ({"provider": "cloud", "to": ["1203630@g.us"], "token": "x", "phone_number_id": "1"}, "cannot send to groups"),
    ({"provider": "fonnte", "to": ["budi"], "token": "x"}, "is not a phone number"),
    ({"provider": "fonnte", "to": [], "token": "x"}, "at least 1"),
])
def test_config_errors(fields, error):
    """Provider requirements and every 'to' entry are checked when the config is loaded."""
    with pytest.raises(ValidationError, match=error):
        WhatsAppConfig(name="wa", type="whatsapp", **fields)


def test_rate_limits_and_default_urls():
    """Unofficial gateways default to 1 message / 5 s per number; Cloud is looser; default URLs."""
    ctx = NotifierContext(http=None)  # type: ignore[arg-type]
    fonnte = WhatsAppNotifier(WhatsAppConfig(name="a", type="whatsapp", provider="fonnte", token="t",
                                             to=[NUMBER]), ctx)
    cloud = WhatsAppNotifier(WhatsAppConfig(name="b", type="whatsapp", provider="cloud", token="t",
                                            phone_number_id="1", to=[NUMBER]), ctx)
    assert fonnte.rate_limit(NUMBER) == [(1, 5.0)] and fonnte.config.url_text == "https://api.fonnte.com"
    assert cloud.rate_limit(NUMBER) == [(10, 6.0)] and cloud.config.url_text == "https://graph.facebook.com/v21.0"


# -- "200 + error body": every provider judges the body, not only the HTTP code -------------------

@pytest.mark.parametrize("provider,reply,retryable,text", [
    ("form", Reply(json={"status": False, "message": "Client is not ready"}), True, "not ready"),
    ("form", Reply(json={"status": "error", "message": "The number is not registered"}), False, "not registered"),
    ("waha", Reply(status=201, json={"error": "Session 'default' does not exist"}), False, "does not exist"),
    ("waha", Reply(json={"exception": {"message": "Evaluation failed: t: t"}, "statusCode": 200}),
     True, "Evaluation failed"),
    ("waha", Reply(json={"status": False, "message": "rate limit, try again later"}), True, "rate limit"),
    ("waha", Reply(json={}), False, "no message id"),
    ("fonnte", Reply(json={"status": False, "reason": "target invalid"}), False, "target invalid"),
    ("fonnte", Reply(text="<html>maintenance</html>"), True, "maintenance"),
    ("cloud", Reply(json={"error": {"message": "(#131056) pair rate limit hit", "code": 131056}}), True, "131056"),
    ("cloud", Reply(json={"error": {"message": "Recipient phone number not in allowed list", "code": 131030}}),
     False, "131030"),
    ("cloud", Reply(json={"messaging_product": "whatsapp"}), True, "unexpected reply"),
])
async def test_2xx_with_error_body_is_not_sent(http, provider, reply, retryable, text):
    """A 2xx whose body says the message was refused (or does not say it was sent) is a failure for
    every provider, never counted as sent; the body's reason decides whether a retry can help."""
    async with PROVIDERS[provider][0]() as peer:
        peer.queue(reply)
        notifier = make(http, provider, peer.url)
        with pytest.raises(NotifyError) as err:
            await notifier.send(SAMPLES["host.down"], NUMBER)
    assert text in str(err.value) and err.value.retryable is retryable
    assert notifier.last_response["ok"] is False


async def test_waha_lost_messages_scenario(http):
    """The issue's run: 8 sends where WAHA answers 6 with 2xx error bodies: exactly 2 count as sent."""
    async with waha_peer() as peer:
        for _ in range(3):
            peer.queue(Reply(status=201, json={"error": "Session status is not as expected: STARTING"}),
                       Reply(status=200, json={"exception": {"message": "Evaluation failed"}}))
        notifier = make(http, "waha", peer.url)
        outcomes = []
        for _ in range(8):
            try:
                await notifier.send(SAMPLES["host.down"], NUMBER)
                outcomes.append("sent")
            except NotifyError as exc:
                outcomes.append("retry" if exc.retryable else "dead")
    assert outcomes == ["retry"] * 6 + ["sent"] * 2


# -- form gateway: groups and headers ----------------------------------------------------------------

GROUP = "120363025246125486@g.us"


async def test_form_group_goes_to_group_endpoint_with_id(http):
    """A …@g.us target goes to /send-group-message as `id` (sending it as `number` to /send-message
    is what the gateway rejects with 422 'not registered'); numbers still go to /send-message."""
    async with form_peer() as peer:
        notifier = make(http, "form", peer.url, to=[GROUP, "0857-1234-5678"])
        await notifier.send(SAMPLES["host.down"])
        group, number = peer.received
    assert group.path == "/send-group-message" and group.form["id"] == GROUP and "number" not in group.form
    assert "HOST DOWN" in group.form["message"]
    assert number.path == "/send-message" and number.form["number"] == NUMBER


async def test_form_group_path_and_fields_configurable_and_prefix_kept(http):
    """group_path resolves against url (a relative path keeps the gateway's prefix), group_field and
    message_field rename the fields; json: true sends them as JSON."""
    async with form_peer() as peer:
        notifier = make(http, "form", f"{peer.url}/wa", json=True,
                        group_path="kirim-grup", group_field="group", message_field="text")
        await notifier.send(SAMPLES["host.down"], GROUP)
        absolute = make(http, "form", f"{peer.url}/wa", group_path="/g/send")
        await absolute.send(SAMPLES["host.down"], GROUP)
        first, second = peer.received
    assert first.path == "/wa/kirim-grup" and first.json["group"] == GROUP and "HOST DOWN" in first.json["text"]
    assert second.path == "/g/send" and second.form["id"] == GROUP


async def test_form_group_refusal_judged_from_body(http):
    """The group endpoint's 200 + status: false is a failure too."""
    async with form_peer() as peer:
        peer.queue(Reply(json={"status": False, "message": "Group not found"}))
        with pytest.raises(NotifyError) as err:
            await make(http, "form", peer.url).send(SAMPLES["host.down"], GROUP)
    assert "Group not found" in str(err.value) and not err.value.retryable


@pytest.mark.parametrize("provider", ["form", "waha", "fonnte"])
async def test_configured_headers_sent_and_scrubbed(http, provider):
    """headers (secrets) go with every request, groups included, so keys need not sit in the URL;
    an echoed header value never reaches an error or a log."""
    secret = "Bearer gw-s3cr3t-abcdef"
    async with PROVIDERS[provider][0]() as peer:
        notifier = make(http, provider, peer.url, headers={"Authorization": secret, "X-Extra": "1"})
        await notifier.send(SAMPLES["host.down"], NUMBER)
        peer.queue(Reply(status=400, json={"status": False, "message": f"bad auth {secret}",
                                           "reason": f"bad auth {secret}"}))
        with capture_logs() as logs, pytest.raises(NotifyError) as err:
            await notifier.send(SAMPLES["host.down"], NUMBER)
        first = peer.received[0]
    assert first.headers["X-Extra"] == "1"
    # Fonnte's own Authorization (the token) wins over a configured one.
    assert first.headers["Authorization"] == (TOKEN if provider == "fonnte" else secret)
    assert secret not in str(err.value) and secret not in repr(logs)
    if provider == "form":
        async with form_peer() as peer:
            await make(http, "form", peer.url, headers={"Authorization": secret}).send(SAMPLES["host.down"], GROUP)
            assert peer.received[0].headers["Authorization"] == secret


@pytest.mark.parametrize("field,value,error", [
    ("headers", ["Authorization: x"], "notifiers[0].headers: Input should be a valid dictionary"),
    ("headers", {"Authorization": 5}, "notifiers[0].headers.Authorization: Input should be a valid string"),
    ("group_path", 7, "notifiers[0].group_path: Input should be a valid string"),
    ("group_field", None, "notifiers[0].group_field: Input should be a valid string"),
])
def test_form_config_fields_bad_input(field, value, error):
    """New form fields reject bad input naming the field's path (the CLI exits 2 on ConfigError)."""
    from monitor.config.model import parse_config
    from monitor.errors import ConfigError

    wa = {"name": "wa", "type": "whatsapp", "provider": "form", "url": "http://127.0.0.1:9/send-message",
          "to": [GROUP], field: value}
    data = {"hosts": [{"name": "a", "address": "127.0.0.1"}], "notifiers": [wa],
            "routes": [{"events": ["host.*"], "notify": ["wa"]}], "plugins_dir": None}
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert any(p.startswith(error) for p in info.value.problems), info.value.problems
