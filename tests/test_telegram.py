"""Telegram notifier against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
import structlog
from pydantic import ValidationError
from structlog.testing import capture_logs

from monitor.delivery.notify import NotifierContext
from monitor.delivery.templates.renderer import sample_events
from monitor.errors import NotifyError
from notifiers.telegram import NOTIFIER, TelegramConfig, TelegramNotifier, split_message
from tests.fake_peers import Reply, closed_port, telegram_error, telegram_peer

TOKEN = "7877893281:AAEjUxre28qT6P9h0VXmWjuePDzBs-5Aq"
SAMPLES = {e.type: e for e in sample_events()}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def tg():
    async with telegram_peer() as peer:
        yield peer


def make(http, api_url, **overrides) -> TelegramNotifier:
    fields = {"name": "ops", "type": "telegram", "token": TOKEN, "chat_id": -1001234567890,
              "api_url": api_url, "timeout": "2s", **overrides}
    return TelegramNotifier(TelegramConfig(**fields), NotifierContext(http=http, log=structlog.get_logger("t")))


async def test_sends_html_message_to_chat(http, tg):
    """A host.down is POSTed as JSON to /bot<token>/sendMessage with HTML parse mode and seed wording."""
    notifier = make(http, tg.url, message_thread_id=42)
    await notifier.send(SAMPLES["host.down"])
    [req] = tg.received
    assert req.path == f"/bot{TOKEN}/sendMessage"
    assert req.json["chat_id"] == -1001234567890
    assert req.json["parse_mode"] == "HTML"
    assert req.json["message_thread_id"] == 42
    assert "disable_notification" not in req.json
    text = req.json["text"]
    assert "<b>HOST DOWN</b>" in text and "Tanggal: 23/11/2026" in text and "Jam: 09:44:05 WIB" in text
    assert "Host: server-kantor" in text and "Status: OFF" in text
    assert notifier.last_response == {"ok": True, "message_id": 100, "chat_id": -1001234567890, "parts": 1}
    assert NOTIFIER is TelegramNotifier


async def test_user_supplied_values_are_html_escaped(http, tg):
    """A hotspot user named <b>Budi & Sari</b> arrives escaped, so Telegram shows it literally."""
    event = dataclasses.replace(SAMPLES["hotspot.login"],
                                data={**SAMPLES["hotspot.login"].data, "user": "<b>Budi & Sari</b>"})
    await make(http, tg.url).send(event)
    text = tg.received[0].json["text"]
    assert "User: &lt;b&gt;Budi &amp; Sari&lt;/b&gt;" in text
    assert "<b>Budi" not in text
    assert text.startswith("<b>Selamat Datang</b>")  # the template's own markup is kept


async def test_long_message_is_split_on_line_boundaries(http, tg):
    """A rendered message over 4096 characters goes out as several messages, each ≤ 4096, split
    between lines, which joined back give the whole text."""
    template = "{% for i in range(300) %}baris {{ i }}: {{ data.user }} {{ data.mac }} & lagi\n{% endfor %}"
    notifier = make(http, tg.url, templates={"hotspot.login": template})
    expected = notifier.renderer.render(SAMPLES["hotspot.login"])
    assert len(expected) > 4096
    await notifier.send(SAMPLES["hotspot.login"])
    texts = [r.json["text"] for r in tg.received]
    assert len(texts) >= 3
    assert all(len(t) <= 4096 for t in texts)
    assert "".join(texts) == expected  # each cut falls after a newline, kept at the part's end
    assert all(t.startswith("baris ") for t in texts)
    assert notifier.last_response["parts"] == len(texts)


def test_split_cuts_an_overlong_line_outside_entities():
    """A single line longer than the limit is cut without breaking an HTML entity."""
    line = "x" * 4093 + "&amp;" + "y" * 5000
    parts = split_message("head\n" + line, limit=4096)
    assert all(len(p) <= 4096 for p in parts)
    assert "".join(parts[1:]) == line and parts[0] == "head\n"
    assert parts[2].startswith("&amp;")


async def test_failed_part_is_resumed_not_resent(http, tg):
    """When part 2 of a split message fails, the retry sends part 2 onwards, not part 1 again."""
    template = "{% for i in range(300) %}baris {{ i }} ........................\n{% endfor %}"
    notifier = make(http, tg.url, templates={"host.up": template})
    tg.queue(Reply(json={"ok": True, "result": {"message_id": 1}}), telegram_error(502, "Bad Gateway"))
    with pytest.raises(NotifyError) as err:
        await notifier.send(SAMPLES["host.up"])
    assert err.value.retryable
    first_attempt = [r.json["text"] for r in tg.received]
    await notifier.send(SAMPLES["host.up"])
    retried = [r.json["text"] for r in tg.received[2:]]
    assert retried[0] == first_attempt[1]
    assert first_attempt[0] not in retried
    assert "".join([first_attempt[0], *retried]) == notifier.renderer.render(SAMPLES["host.up"])


async def test_429_is_retryable_with_retry_after(http, tg):
    """Telegram's 429 becomes a retryable NotifyError carrying parameters.retry_after."""
    tg.queue(telegram_error(429, "Too Many Requests: retry after 7", retry_after=7))
    with pytest.raises(NotifyError) as err:
        await make(http, tg.url).send(SAMPLES["host.up"])
    assert err.value.retryable and err.value.retry_after == 7 and err.value.status == 429
    assert "Too Many Requests" in str(err.value)


@pytest.mark.parametrize("code,description", [
    (400, "Bad Request: chat not found"),
    (403, "Forbidden: bot was kicked from the supergroup chat"),
    (401, "Unauthorized"),
])
async def test_client_errors_are_permanent_and_carry_telegram_text(http, tg, code, description):
    """400 chat not found, 403 and 401 are not retryable; the message quotes Telegram's description
    and the rejection is logged."""
    tg.queue(telegram_error(code, description))
    notifier = make(http, tg.url)
    with capture_logs() as logs, pytest.raises(NotifyError) as err:
        await notifier.send(SAMPLES["router.down"])
    assert not err.value.retryable and err.value.status == code
    assert description in str(err.value)
    assert any(e["event"] == "telegram.rejected" and description in e["error"] for e in logs)
    assert notifier.last_response["description"] == description


async def test_server_error_is_retryable(http, tg):
    """A 5xx from Telegram is retryable."""
    tg.queue(Reply(status=500, text="Internal Server Error"))
    with pytest.raises(NotifyError) as err:
        await make(http, tg.url).send(SAMPLES["router.up"])
    assert err.value.retryable and err.value.status == 500


async def test_timeout_is_retryable(http, tg):
    """A peer slower than the configured timeout gives a retryable NotifyError."""
    tg.queue(Reply(delay=1.5, json={"ok": True, "result": {}}))
    with pytest.raises(NotifyError) as err:
        await make(http, tg.url, timeout="200ms").send(SAMPLES["host.down"])
    assert err.value.retryable and "did not answer within 0.2s" in str(err.value)


async def test_connection_refused_is_retryable(http):
    """Nothing listening on the API port: retryable, and the message says it could not connect."""
    with pytest.raises(NotifyError) as err:
        await make(http, f"http://127.0.0.1:{closed_port()}").send(SAMPLES["host.down"])
    assert err.value.retryable and "cannot connect to Telegram" in str(err.value)


async def test_migrated_group_is_logged_with_new_id(http, tg):
    """A migrate_to_chat_id reply is not retryable, names the new chat id, and is logged with it."""
    tg.queue(telegram_error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                            migrate_to_chat_id=-1009876543210))
    with capture_logs() as logs, pytest.raises(NotifyError) as err:
        await make(http, tg.url, chat_id=-4455).send(SAMPLES["host.down"])
    assert not err.value.retryable and "set chat_id to -1009876543210" in str(err.value)
    assert any(e["event"] == "telegram.chat_migrated" and e["new_chat_id"] == -1009876543210 for e in logs)


@pytest.mark.parametrize("reply", [
    telegram_error(400, "Bad Request: chat not found"),
    telegram_error(429, "Too Many Requests: retry after 3", retry_after=3),
    Reply(status=404, text=f"404 page not found: /bot{TOKEN}/sendMessage"),
    Reply(status=502, text=f"<html>upstream error for /bot{TOKEN}/sendMessage</html>"),
    Reply(status=200, text="not json"),
])
async def test_token_never_in_errors_or_logs(http, tg, reply):
    """Whatever the peer answers (even a proxy echoing the URL), neither the NotifyError nor any
    captured log line contains the bot token."""
    tg.queue(reply)
    with capture_logs() as logs, pytest.raises(NotifyError) as err:
        await make(http, tg.url).send(SAMPLES["host.down"])
    assert TOKEN not in str(err.value)
    assert TOKEN.split(":")[1] not in repr(logs)
    assert TOKEN not in repr(make(http, tg.url).config)


async def test_token_not_in_transport_errors(http):
    """Connection refused and timeouts name Telegram, never the URL with the token."""
    with capture_logs() as logs, pytest.raises(NotifyError) as err:
        await make(http, f"http://127.0.0.1:{closed_port()}").send(SAMPLES["host.down"])
    assert TOKEN not in str(err.value) and TOKEN not in repr(logs)


async def test_silent_for_sets_disable_notification(http, tg):
    """Event types matching silent_for globs are sent with disable_notification; others are not."""
    notifier = make(http, tg.url, silent_for=["hotspot.*"])
    await notifier.send(SAMPLES["hotspot.login"])
    await notifier.send(SAMPLES["host.down"])
    assert tg.received[0].json["disable_notification"] is True
    assert "disable_notification" not in tg.received[1].json


async def test_digest_is_one_message(http, tg):
    """send_digest sends one summary: router outage with the sessions it dropped, logins counted."""
    down = SAMPLES["router.down"]
    drops = [dataclasses.replace(SAMPLES["hotspot.logout"],
                                 data={**SAMPLES["hotspot.logout"].data, "user": f"u{i}",
                                       "reason": "while_unreachable"}) for i in range(37)]
    logins = [dataclasses.replace(SAMPLES["hotspot.login"],
                                  data={**SAMPLES["hotspot.login"].data, "user": f"p{i}"}) for i in range(12)]
    await make(http, tg.url).send_digest([down, *drops, *logins], None)
    [req] = tg.received
    text = req.json["text"]
    assert "router core DOWN — 37 sesi terputus" in text
    assert "12 pengguna login: p0, p1" in text and "dan 2 lainnya" in text


def test_rate_limit_private_and_group(http=None):
    """1/s per chat; a group (negative id) or @channel also gets 20 per minute."""
    ctx = NotifierContext(http=None)  # type: ignore[arg-type]
    base = {"name": "x", "type": "telegram", "token": TOKEN}
    assert TelegramNotifier(TelegramConfig(**base, chat_id=12345), ctx).rate_limit(None) == [(1, 1.0)]
    assert TelegramNotifier(TelegramConfig(**base, chat_id=-100123), ctx).rate_limit(None) == \
        [(1, 1.0), (20, 60.0)]
    assert TelegramNotifier(TelegramConfig(**base, chat_id="@pantau_ops"), ctx).rate_limit(None) == \
        [(1, 1.0), (20, 60.0)]


def test_config_validates_chat_id():
    """chat_id accepts ints, numeric strings and @channel names; anything else is a config error."""
    base = {"name": "x", "type": "telegram", "token": TOKEN}
    assert TelegramConfig(**base, chat_id="-100123").chat_id == -100123
    with pytest.raises(ValidationError):
        TelegramConfig(**base, chat_id="ops group")
    with pytest.raises(ValidationError):
        TelegramConfig(**base, chat_id=1, api_url="api.telegram.org")
