"""The durable outbox against a fake HTTP peer on 127.0.0.1 (real sockets, real SQLite).

Time runs on a scaled clock (``TimeScale``): the outbox gets ``clock``/``sleep`` that run FACTOR
times faster than real time, so "1/5s" rate limits, backoff and ``retry_after`` are honoured in
virtual seconds while each test takes well under a few real seconds. The peer stamps every request
with the same virtual clock, so assertions about waits are made in the outbox's own time.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from monitor.delivery.notify import DigestConfig, NotifierConfig, RateLimitConfig, post_checked
from monitor.delivery.outbox import Outbox, OutboxClosed
from monitor.delivery.outbox_store import OutboxStore
from monitor.delivery.phone import mask_recipient
from monitor.errors import ConfigError
from monitor.events import Event, Source

FACTOR = 20.0
#: Virtual seconds of slack for timing measured at the peer (25 ms real of scheduling and socket noise).
JITTER = 0.5


class TimeScale:
    """Virtual time running FACTOR times faster than the real clock."""

    def __init__(self, factor: float = FACTOR):
        self.factor = factor

    def clock(self) -> float:
        return time.time() * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)


class Peer:
    """A fake gateway: POST /send with JSON ``{"event_ids": [...], "recipient": ..., "digest": bool}``.

    ``policy(payload, n)`` (n = 0-based request number) returns None to accept (200) or
    ``(status, headers)`` to refuse. ``hold`` (an asyncio.Event) makes requests wait until set.
    """

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.requests: list[dict[str, Any]] = []
        self.policy: Callable[[dict, int], tuple[int, dict] | None] = lambda payload, n: None
        self.hold: asyncio.Event | None = None
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        n = len(self.requests)
        entry = {"t": self.clock(), "payload": payload, "status": None}
        self.requests.append(entry)
        if self.hold is not None:
            await self.hold.wait()
        verdict = self.policy(payload, n)
        status, headers = verdict if verdict else (200, {})
        entry["status"] = status
        return web.json_response({"ok": status == 200}, status=status, headers=headers)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/send"))

    def accepted(self) -> list[dict]:
        return [r for r in self.requests if r["status"] == 200]

    def delivered_ids(self, recipient: str | None = None) -> list[str]:
        """Event ids the peer accepted for ``recipient``, in arrival order (digests flattened)."""
        return [i for r in self.accepted() if r["payload"]["recipient"] == recipient
                for i in r["payload"]["event_ids"]]


class HttpNotifier:
    """A webhook-like notifier: one real HTTP POST per event via the shared ``post_checked``."""

    def __init__(self, http: aiohttp.ClientSession, url: str, recipients=(None,), rates=None):
        self.http, self.url, self._recipients, self._rates = http, url, list(recipients), rates

    def recipients(self, event: Event) -> list[str | None]:
        return list(self._recipients)

    async def send(self, event: Event, recipient: str | None = None) -> None:
        await post_checked(self.http, self.url, timeout=5.0, what="fake peer",
                           json={"event_ids": [event.id], "recipient": recipient, "digest": False})

    async def aclose(self) -> None:
        return None


class DigestHttpNotifier(HttpNotifier):
    """Like HttpNotifier, plus ``send_digest`` (one POST for many events) and its own rate limit."""

    async def send_digest(self, events: list[Event], recipient: str | None) -> None:
        await post_checked(self.http, self.url, timeout=5.0, what="fake peer",
                           json={"event_ids": [e.id for e in events], "recipient": recipient,
                                 "digest": True})

    def rate_limit(self, recipient: str | None) -> list[tuple[int, float]]:
        return self._rates or []


def make_event(n: int, type_: str = "host.down") -> Event:
    return Event(type=type_, source=Source(kind="host", name=f"h{n}", address="192.0.2.1"),
                 data={"n": n})


async def _has_dead(box: Outbox) -> bool:
    return (await box.counts())["dead"] == 1


async def _sent(box: Outbox, n: int) -> bool:
    return (await box.counts())["sent"] == n


def cfg(name: str, **kw: Any) -> NotifierConfig:
    return NotifierConfig(name=name, type="test", **kw)


async def until(pred: Callable[[], Any], timeout: float = 5.0) -> None:
    """Poll ``pred`` (sync, or async returning a bool) every 10 ms of real time."""
    deadline = time.monotonic() + timeout
    while not (await result if inspect.isawaitable(result := pred()) else result):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
def scale() -> TimeScale:
    return TimeScale()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def _peer(scale: TimeScale):
    peer = Peer(scale.clock)
    app = web.Application()
    app.router.add_post("/send", peer.handle)
    peer.server = TestServer(app, host="127.0.0.1")
    await peer.server.start_server()
    return peer


@pytest.fixture
async def peer(scale):
    p = await _peer(scale)
    yield p
    if p.hold is not None:
        p.hold.set()
    await p.server.close()


@pytest.fixture
async def peer2(scale):
    p = await _peer(scale)
    yield p
    if p.hold is not None:
        p.hold.set()
    await p.server.close()


def outbox(tmp_path, scale, notifiers, configs, **kw) -> Outbox:
    kw.setdefault("backoff_initial", 0.5)
    kw.setdefault("backoff_max", 4.0)
    return Outbox(tmp_path / "pantau.db", notifiers, configs, clock=scale.clock, sleep=scale.sleep, **kw)


@pytest.mark.parametrize("digest", [False, True], ids=["single", "digest"])
async def test_gateway_down_then_recovers_delivers_each_once_in_order(tmp_path, scale, http, peer, digest):
    """With the peer answering 500 for a while, every message still arrives exactly once and, per
    recipient, in enqueue order (also when the backlog goes out as digests)."""
    down_until = scale.clock() + 15.0  # virtual seconds of outage
    peer.policy = lambda payload, n: (500, {}) if scale.clock() < down_until else None
    cls = DigestHttpNotifier if digest else HttpNotifier
    notifier = cls(http, peer.url, recipients=["alice", "bob"])
    box = outbox(tmp_path, scale, {"gw": notifier}, {"gw": cfg("gw")})
    await box.start()
    events = [make_event(i, "host.down" if i % 2 == 0 else "host.up") for i in range(12)]
    for e in events:
        await box.enqueue(e, ["gw"])
    want = [e.id for e in events]
    await until(lambda: len(peer.delivered_ids("alice")) >= 12 and len(peer.delivered_ids("bob")) >= 12)
    await asyncio.sleep(0.1)
    await box.aclose()
    assert any(r["status"] == 500 for r in peer.requests), "the outage was exercised"
    assert peer.delivered_ids("alice") == want
    assert peer.delivered_ids("bob") == want
    assert any(r["payload"]["digest"] for r in peer.accepted()) == digest
    with OutboxStore(tmp_path / "pantau.db") as store:
        assert store.counts() == {"pending": 0, "sent": 24, "dead": 0}
        assert max(m.attempts for m in store.list(status="sent")) > 1


async def test_retry_after_from_429_is_honoured(tmp_path, scale, http, peer):
    """A 429 with Retry-After: 6 delays the next attempt by at least 6 s even though the
    backoff alone would retry after at most 0.1 s."""
    peer.policy = lambda payload, n: (429, {"Retry-After": "6"}) if n == 0 else None
    box = outbox(tmp_path, scale, {"gw": HttpNotifier(http, peer.url)}, {"gw": cfg("gw")},
                 backoff_initial=0.1, backoff_max=0.1)
    await box.start()
    with capture_logs() as logs:
        await box.enqueue(make_event(1), ["gw"])
        await until(lambda: len(peer.accepted()) == 1)
    await box.aclose()
    first, second = peer.requests
    assert first["status"] == 429 and second["status"] == 200
    assert second["t"] - first["t"] >= 6.0
    failed = [x for x in logs if x["event"] == "delivery.failed"]
    assert failed and failed[0]["retry_in_s"] >= 6.0 and failed[0]["retry_after"] == 6.0
    assert "429" in failed[0]["error"]


async def test_not_retryable_is_dead_at_once_and_retry_dead_requeues(tmp_path, scale, http, peer):
    """A 403 (NotifyError retryable=False) dead-letters after one attempt without blocking the
    next message; retry_dead requeues it and it is then delivered."""
    rejected = make_event(1)
    peer.policy = lambda payload, n: (403, {}) if payload["event_ids"] == [rejected.id] else None
    box = outbox(tmp_path, scale, {"gw": HttpNotifier(http, peer.url)}, {"gw": cfg("gw")})
    await box.start()
    after = make_event(2)
    with capture_logs() as logs:
        await box.enqueue(rejected, ["gw"])
        await box.enqueue(after, ["gw"])
        await until(lambda: peer.delivered_ids() == [after.id])
    dead = await box.list(status="dead")
    assert [m.event_id for m in dead] == [rejected.id]
    assert dead[0].attempts == 1 and "403" in dead[0].last_error
    assert len([r for r in peer.requests if r["payload"]["event_ids"] == [rejected.id]]) == 1
    entry = next(x for x in logs if x["event"] == "delivery.dead")
    assert entry["reason"] == "not retryable" and entry["event_id"] == rejected.id

    peer.policy = lambda payload, n: None
    assert await box.retry_dead() == 1
    await until(lambda: peer.delivered_ids() == [after.id, rejected.id])
    await asyncio.sleep(0.05)
    await box.aclose()
    with OutboxStore(tmp_path / "pantau.db") as store:
        assert store.counts() == {"pending": 0, "sent": 2, "dead": 0}


async def test_max_age_exceeded_dead_letters_and_store_retry_dead(tmp_path, scale, http, peer):
    """A peer failing for longer than max_age turns the message into a dead letter that keeps the
    last error; OutboxStore.retry_dead (the CLI path, another connection) requeues it and the
    running outbox picks it up on its sweep and delivers it."""
    peer.policy = lambda payload, n: (500, {})
    box = outbox(tmp_path, scale, {"gw": HttpNotifier(http, peer.url)}, {"gw": cfg("gw", max_age=8.0)},
                 backoff_initial=0.5, backoff_max=2.0, poll_interval=2.0)
    await box.start()
    event = make_event(1)
    await box.enqueue(event, ["gw"])
    await until(lambda: _has_dead(box))
    [dead] = await box.list(status="dead")
    assert dead.attempts >= 3 and "max_age exceeded" in dead.last_error and "500" in dead.last_error
    assert dead.finished_at - dead.created_at < 8.0 + 0.5
    assert peer.accepted() == []

    peer.policy = lambda payload, n: None
    with OutboxStore(tmp_path / "pantau.db") as cli_store:
        assert cli_store.retry_dead(now=scale.clock()) == 1
        assert cli_store.retry_dead(now=scale.clock()) == 0
    await until(lambda: peer.delivered_ids() == [event.id])
    await asyncio.sleep(0.05)
    await box.aclose()


async def test_slow_or_failing_notifier_does_not_delay_others(tmp_path, scale, http, peer, peer2):
    """One notifier whose peer hangs, and a recipient whose messages always fail, do not delay a
    healthy notifier or a healthy recipient of the failing notifier."""
    peer.hold = asyncio.Event()  # "slow" hangs every request
    peer2.policy = lambda payload, n: (500, {}) if payload["recipient"] == "broken" else None
    notifiers = {"slow": HttpNotifier(http, peer.url),
                 "mixed": HttpNotifier(http, peer2.url, recipients=["broken", "fine"])}
    box = outbox(tmp_path, scale, notifiers, {n: cfg(n) for n in notifiers})
    await box.start()
    events = [make_event(i) for i in range(10)]
    started = time.monotonic()
    for e in events:
        await box.enqueue(e, ["slow", "mixed"])
    await until(lambda: len(peer2.delivered_ids("fine")) == 10, timeout=3.0)
    elapsed = time.monotonic() - started
    assert peer2.delivered_ids("fine") == [e.id for e in events]
    assert elapsed < 1.5
    assert len(peer.requests) == 1  # head-of-line: the slow lane is still on its first message
    assert peer2.delivered_ids("broken") == []
    closed = time.monotonic()
    await box.aclose(grace=0.2)
    assert time.monotonic() - closed < 1.0, "a hung send is cancelled after the grace"
    with OutboxStore(tmp_path / "pantau.db") as store:
        assert store.counts("slow")["pending"] == 10
        assert store.counts("mixed") == {"pending": 10, "sent": 10, "dead": 0}


async def test_restart_resumes_pending_without_duplicates(tmp_path, scale, http, peer):
    """Messages queued while the peer was down survive aclose; a new Outbox on the same file
    delivers all of them, in order, none twice (including those the first one delivered)."""
    peer.policy = lambda payload, n: None if n < 3 else (503, {})
    notifiers = {"gw": HttpNotifier(http, peer.url)}
    first = outbox(tmp_path, scale, notifiers, {"gw": cfg("gw")})
    await first.start()
    events = [make_event(i) for i in range(10)]
    for e in events:
        await first.enqueue(e, ["gw"])
    await until(lambda: len(peer.requests) >= 5)
    await first.aclose()
    with pytest.raises(OutboxClosed):
        await first.enqueue(make_event(99), ["gw"])
    assert peer.delivered_ids() == [e.id for e in events[:3]]

    peer.policy = lambda payload, n: None
    second = outbox(tmp_path, scale, notifiers, {"gw": cfg("gw")})
    await second.start()
    await until(lambda: len(peer.delivered_ids()) >= 10)
    assert await second.enqueue(events[0], ["gw"]) == 0, "a replay after delivery is ignored"
    await asyncio.sleep(0.1)
    await second.aclose()
    assert peer.delivered_ids() == [e.id for e in events]


async def test_burst_of_500_to_rate_limited_recipient(tmp_path, scale, http, peer):
    """500 events at once to a recipient limited to 2 messages per 5 s: every event arrives in
    exactly one message, in order, the rate is respected, and the backlog goes out as digests of
    more than digest.after and at most digest_max events."""
    notifier = DigestHttpNotifier(http, peer.url, recipients=["6281234567890"], rates=[(2, 5.0)])
    box = outbox(tmp_path, scale, {"wa": notifier},
                 {"wa": cfg("wa", digest=DigestConfig(after=5, window=30.0))}, digest_max=60)
    await box.start()
    events = [make_event(i, "hotspot.login") for i in range(500)]
    with capture_logs() as logs:
        for e in events:
            await box.enqueue(e, ["wa"])
        enqueued_at = scale.clock()
        await until(lambda: len(peer.delivered_ids("6281234567890")) >= 500, timeout=8.0)
        await until(lambda: _sent(box, 500))  # committed, and so logged
    await box.aclose()
    assert peer.delivered_ids("6281234567890") == [e.id for e in events]
    messages = peer.accepted()
    assert len(messages) == len(peer.requests), "no failures, so no extra requests"
    digests = [m for m in messages if m["payload"]["digest"]]
    assert all(5 < len(m["payload"]["event_ids"]) <= 60 for m in digests)
    assert len(digests) >= 500 // 60 and len(messages) <= 40
    # While the 500 enqueues (one fsync each) were still running, each token took what had queued
    # so far; once the burst was queued, the backlog left in full digests (a window edge may cut one).
    later = [m for m in messages if m["t"] > enqueued_at + JITTER]
    backlog = sum(len(m["payload"]["event_ids"]) for m in later)
    assert len(later) <= -(-backlog // 60) + 2
    times = [m["t"] for m in messages]
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert j - i + 1 <= 2 + (times[j] - times[i] + JITTER) * (2 / 5.0), "rate exceeded"
    digest_logs = [x for x in logs if x["event"] == "delivery.digest"]
    assert len(digest_logs) == len(digests)
    assert all(x["recipient"] == "62812*****890" for x in digest_logs)
    with OutboxStore(tmp_path / "pantau.db") as store:
        assert store.counts() == {"pending": 0, "sent": 500, "dead": 0}


async def test_per_notifier_limit_spans_recipients_and_config_overrides_plugin(tmp_path, scale, http, peer):
    """rate_limit.per_notifier caps the notifier as a whole across recipients, and a configured
    per_recipient ["off"] overrides the notifier's own (very slow) default; without
    send_digest every event stays its own message."""
    notifier = HttpNotifier(http, peer.url, recipients=["a", "b", "c"])
    notifier.rate_limit = lambda recipient: [(1, 3600.0)]  # would stall the test if used
    conf = cfg("gw", rate_limit=RateLimitConfig(per_recipient=["off"], per_notifier=["3/2s"]))
    box = outbox(tmp_path, scale, {"gw": notifier}, {"gw": conf})
    await box.start()
    events = [make_event(i) for i in range(8)]
    for e in events:
        await box.enqueue(e, ["gw"])
    await until(lambda: len(peer.accepted()) == 24, timeout=6.0)
    await box.aclose()
    assert all(len(r["payload"]["event_ids"]) == 1 for r in peer.requests)
    for rcpt in "abc":
        assert peer.delivered_ids(rcpt) == [e.id for e in events]
    times = sorted(r["t"] for r in peer.accepted())
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert j - i + 1 <= 3 + (times[j] - times[i] + JITTER) * 1.5, "rate exceeded"
    assert times[-1] - times[0] >= (24 - 3) / 1.5 - JITTER


async def test_enqueue_is_idempotent_and_committed_before_return(tmp_path, scale, http, peer):
    """Enqueue commits before returning (visible from another connection before any attempt), and
    replaying the same event adds nothing and sends nothing twice."""
    peer.hold = asyncio.Event()
    box = outbox(tmp_path, scale, {"gw": HttpNotifier(http, peer.url, recipients=["x", "y"])},
                 {"gw": cfg("gw")})
    await box.start()
    event = make_event(1)
    assert await box.enqueue(event, ["gw", "gw"]) == 2
    with OutboxStore(tmp_path / "pantau.db") as other:
        rows = other.list(status="pending")
        assert [(m.event_id, m.recipient, m.attempts) for m in rows] == [(event.id, "x", 0), (event.id, "y", 0)]
    assert await box.enqueue(event, ["gw"]) == 0
    peer.hold.set()
    await until(lambda: len(peer.accepted()) == 2)
    assert await box.enqueue(event, ["gw"]) == 0
    await asyncio.sleep(0.1)
    await box.aclose()
    assert len(peer.requests) == 2


async def test_unexpected_plugin_exception_is_retried_and_logged_with_type(tmp_path, scale):
    """A plugin raising a non-NotifyError exception is retried (counted as transient), and the log
    names the exception type."""

    class Flaky:
        def __init__(self):
            self.calls = 0
            self.sent: list[str] = []

        async def send(self, event, recipient=None):
            self.calls += 1
            if self.calls < 3:
                raise KeyError("missing field")
            self.sent.append(event.id)

        async def aclose(self):
            return None

    flaky = Flaky()
    box = outbox(tmp_path, scale, {"p": flaky}, {"p": cfg("p")}, backoff_initial=0.2, backoff_max=0.5)
    await box.start()
    event = make_event(1)
    with capture_logs() as logs:
        await box.enqueue(event, ["p"])
        await until(lambda: flaky.sent == [event.id])
        await until(lambda: _sent(box, 1))
    await box.aclose()
    failed = [x for x in logs if x["event"] == "delivery.failed"]
    assert [x["attempt"] for x in failed] == [1, 2]
    assert failed[0]["error"].startswith("KeyError")
    sent = [x for x in logs if x["event"] == "delivery.sent"]
    assert sent[0]["attempt"] == 3 and sent[0]["latency_ms"] >= 0


def test_mask_recipient():
    """Phone numbers are partly masked in logs; chat ids, channels and None are shown as is."""
    assert mask_recipient("6285712345678") == "62857*****678"
    assert mask_recipient("+6285712345678@c.us") == "+62857*****678@c.us"
    assert mask_recipient("-1001234567890") == "-1001234567890"
    assert mask_recipient("@pantau_alerts") == "@pantau_alerts"
    assert mask_recipient(None) is None


def test_invalid_rate_limit_is_a_config_error_naming_the_path(tmp_path):
    """A bad rate string that got past config validation (model_construct skips it) is still a
    ConfigError naming its path, also when the delivery knobs come from the notifier's own
    ``config`` rather than the ``configs`` mapping."""
    notifier = HttpNotifier(None, "http://127.0.0.1:9/unused")
    rates = RateLimitConfig.model_construct(per_recipient=["fast"], per_notifier=["1/s"])
    notifier.config = cfg("tg").model_copy(update={"rate_limit": rates})
    with pytest.raises(ConfigError) as info:
        Outbox(tmp_path / "o.db", {"tg": notifier}, {})
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("notifiers.tg.rate_limit.per_recipient: invalid rate 'fast'")


async def test_digest_only_groups_messages_queued_within_the_window(tmp_path, scale, http, peer):
    """Two bursts queued 10 s apart behind an outage become two digests (window 5 s), not one,
    and each holds exactly its own burst in order."""
    up = asyncio.Event()
    peer.policy = lambda payload, n: None if up.is_set() else (500, {})
    box = outbox(tmp_path, scale, {"tg": DigestHttpNotifier(http, peer.url, recipients=["-100"])},
                 {"tg": cfg("tg", digest=DigestConfig(after=5, window=5.0))})
    await box.start()
    first = [make_event(i) for i in range(8)]
    second = [make_event(i, "host.up") for i in range(8)]
    for e in first:
        await box.enqueue(e, ["tg"])
    await scale.sleep(10.0)
    for e in second:
        await box.enqueue(e, ["tg"])
    up.set()
    await until(lambda: len(peer.delivered_ids("-100")) >= 16)
    await until(lambda: _sent(box, 16))
    await box.aclose()
    bodies = [r["payload"] for r in peer.accepted()]
    assert [b["event_ids"] for b in bodies] == [[e.id for e in first], [e.id for e in second]]
    assert all(b["digest"] for b in bodies)


async def test_aclose_lets_an_in_flight_send_finish_within_grace(tmp_path, scale, http, peer):
    """A send the peer answers during the grace period is recorded as sent, so it is not sent
    again after a restart."""
    peer.hold = asyncio.Event()
    box = outbox(tmp_path, scale, {"gw": HttpNotifier(http, peer.url)}, {"gw": cfg("gw")})
    await box.start()
    await box.enqueue(make_event(1), ["gw"])
    await until(lambda: len(peer.requests) == 1)
    closing = asyncio.create_task(box.aclose(grace=3.0))
    await asyncio.sleep(0.1)
    assert not closing.done()
    peer.hold.set()
    await asyncio.wait_for(closing, timeout=2.0)
    assert len(peer.accepted()) == 1
    with OutboxStore(tmp_path / "pantau.db") as store:
        assert store.counts() == {"pending": 0, "sent": 1, "dead": 0}


@pytest.mark.parametrize("rng, expected", [(lambda: 0.0, [0.5, 1.0, 2.0, 2.0, 2.0]),
                                           (lambda: 1.0, [1.0, 2.0, 4.0, 4.0, 4.0])],
                         ids=["jitter-low", "jitter-high"])
async def test_backoff_doubles_with_jitter_and_is_capped(tmp_path, scale, http, peer, rng, expected):
    """Retry delays double from backoff_initial, are capped at backoff_max, and the jitter spreads
    them over [base/2, base]; the time between attempts at the peer follows them."""
    peer.policy = lambda payload, n: (502, {}) if n < 5 else None
    box = outbox(tmp_path, scale, {"gw": HttpNotifier(http, peer.url)}, {"gw": cfg("gw")},
                 rng=rng, backoff_initial=1.0, backoff_max=4.0)
    await box.start()
    with capture_logs() as logs:
        await box.enqueue(make_event(1), ["gw"])
        await until(lambda: len(peer.accepted()) == 1, timeout=5.0)
    await box.aclose()
    assert [x["retry_in_s"] for x in logs if x["event"] == "delivery.failed"] == expected
    gaps = [b["t"] - a["t"] for a, b in zip(peer.requests, peer.requests[1:], strict=False)]
    for gap, delay in zip(gaps, expected, strict=True):
        assert delay <= gap < delay + 2.0  # 100 ms real of slack for a loaded machine


async def test_unopenable_database_is_a_config_error_naming_state_path(tmp_path, scale):
    """A state path that cannot be opened (here: a directory) fails start() with a ConfigError
    naming state.path instead of a raw sqlite3 traceback."""
    (tmp_path / "pantau.db").mkdir()
    box = outbox(tmp_path, scale, {"p": HttpNotifier(None, "http://127.0.0.1:9/unused")}, {})
    with pytest.raises(ConfigError) as info:
        await box.start()
    assert info.value.problems[0].startswith("state.path: cannot open the outbox database")
