"""Expiry and quota warnings, the pure core: each level once per period, counter resets neither
hide nor repeat a level, renewals start over; Mikhmon's comment dates (v6 and v7). Driven clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.subscriptions.levels import EXPIRED, EXPIRING, QUOTA, Levels, Usage, evaluate
from monitor.subscriptions.mikhmon import find_expiry, format_expiry
from monitor.subscriptions.store import SubscriptionStore

WIB = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=WIB)
GB = 1024 ** 3
LEVELS = Levels()


def usage(**kw) -> Usage:
    base = {"router": "core", "user": "budi", "user_id": "*1", "limit_total": 2 * GB}
    return Usage(**{**base, **kw})


def run(samples: list[Usage], now: datetime = T0, record=None, levels: Levels = LEVELS):
    """Evaluate a sequence of observations; returns (record, [(type, level-ish), ...])."""
    said = []
    for i, sample in enumerate(samples):
        record, warnings = evaluate(sample, record, levels, now + timedelta(minutes=5 * i))
        said += [(w.type, w.data.get("level", w.data.get("level_s", w.data.get("reason")))) for w in warnings]
    return record, said


def pct(p: float) -> int:
    """Bytes that are ``p`` percent of the 2 GB limit."""
    return int(2 * GB * p / 100)


def test_each_quota_level_once_with_a_counter_reset_in_between():
    samples = [usage(bytes_in=pct(5), bytes_out=pct(25)),   # 30 %
               usage(bytes_in=pct(5), bytes_out=pct(77)),   # 82 %
               usage(bytes_in=pct(5), bytes_out=pct(78)),   # still past 80 %: nothing new
               usage(bytes_in=0, bytes_out=pct(3)),         # the router rebooted: counters reset
               usage(bytes_in=pct(5), bytes_out=pct(76)),   # back past 80 %: not repeated
               usage(bytes_in=pct(5), bytes_out=pct(92)),   # 97 %
               usage(bytes_in=0, bytes_out=0)]              # another reset: nothing
    record, said = run(samples)
    assert said == [(QUOTA, 80), (QUOTA, 95)]
    assert record.max_out == pct(92)  # the maximum seen is kept across resets


def test_crossing_both_levels_at_once_sends_only_the_higher():
    _, said = run([usage(bytes_in=0, bytes_out=GB // 10), usage(bytes_out=GB * 39 // 20)])
    assert said == [(QUOTA, 95)]


def test_a_reset_does_not_hide_a_level_reached_after_it():
    """80 % sent; reboot; the counter climbs from zero past 95 %: 95 % is still sent."""
    _, said = run([usage(bytes_out=GB * 17 // 10), usage(bytes_out=0), usage(bytes_out=GB * 196 // 100)])
    assert said == [(QUOTA, 80), (QUOTA, 95)]


def test_uptime_quota_and_used_up():
    samples = [usage(limit_total=None, limit_uptime_s=3600, uptime_s=2900),
               usage(limit_total=None, limit_uptime_s=3600, uptime_s=3500),
               usage(limit_total=None, limit_uptime_s=3600, uptime_s=3600),
               usage(limit_total=None, limit_uptime_s=3600, uptime_s=3700)]
    _, said = run(samples)
    assert said == [(QUOTA, 80), (QUOTA, 95), (EXPIRED, "uptime")]


def test_separate_in_and_out_limits_speak_for_the_fuller_one():
    _, said = run([usage(limit_total=None, limit_in=GB, limit_out=10 * GB, bytes_in=GB * 9 // 10,
                         bytes_out=GB)])
    assert said == [(QUOTA, 80)]


def test_validity_levels_and_expiry_with_a_driven_clock():
    ends = T0 + timedelta(days=3)
    sample = usage(limit_total=None, expires_at=ends)
    record, said = run([sample], now=T0)
    assert said == []
    for at, expected in [(ends - timedelta(hours=23), [(EXPIRING, 86400)]),
                         (ends - timedelta(hours=20), []),
                         (ends - timedelta(minutes=50), [(EXPIRING, 3600)]),
                         (ends - timedelta(minutes=10), []),
                         (ends + timedelta(seconds=1), [(EXPIRED, "validity")]),
                         (ends + timedelta(hours=5), [])]:
        record, warnings = evaluate(sample, record, LEVELS, at)
        assert [(w.type, w.data.get("level_s", w.data.get("reason"))) for w in warnings] == expected, at


def test_renewal_starts_a_new_period():
    ends = T0 + timedelta(hours=12)
    record, said = run([usage(limit_total=None, expires_at=ends)])
    assert said == [(EXPIRING, 86400)]
    record, said = run([usage(limit_total=None, expires_at=ends + timedelta(days=30))], record=record,
                       now=ends + timedelta(days=29, hours=1))
    assert said == [(EXPIRING, 86400)]


def test_first_sight_of_an_expired_user_is_silent_and_disabled_users_are_quiet():
    record, said = run([usage(bytes_out=3 * GB), usage(bytes_out=3 * GB)])
    assert said == [] and "expired" in record.sent
    _, said = run([usage(bytes_out=GB // 10), usage(bytes_out=3 * GB, disabled=True)])
    assert said == []


def test_records_survive_a_restart(tmp_path):
    """The store is what makes a restart (or a router reboot) send nothing twice."""
    store = SubscriptionStore(tmp_path / "state.db")
    record, said = run([usage(bytes_out=GB // 10), usage(bytes_out=GB * 17 // 10)])
    assert said == [(QUOTA, 80)]
    store.save("core", {"budi": record})
    store.close()
    again = SubscriptionStore(tmp_path / "state.db")
    loaded = again.load("core")["budi"]
    assert loaded == record
    _, said = run([usage(bytes_out=GB * 17 // 10), usage(bytes_out=GB * 196 // 100)], record=loaded)
    assert said == [(QUOTA, 95)]
    assert again.forget("budi") == 1 and again.load("core") == {}
    again.close()


@pytest.mark.parametrize(("comment", "expected"), [
    ("nov/23/2026 10:00:00", datetime(2026, 11, 23, 10, 0, tzinfo=WIB)),        # Mikhmon on v6
    ("2026-11-23 10:00:00", datetime(2026, 11, 23, 10, 0, tzinfo=WIB)),         # Mikhmon on v7
    ("Jan/02/2027 13:05:09 vc-Budi 08571234567", datetime(2027, 1, 2, 13, 5, 9, tzinfo=WIB)),
    ("paket 2M: dec/31/2026", datetime(2026, 12, 31, tzinfo=WIB)),
    ("2026-11-23T10:00:00", datetime(2026, 11, 23, 10, 0, tzinfo=WIB)),
    ("vc-123-11.23.26-", None),             # a voucher not used yet: Mikhmon's marker, no date
    ("feb/31/2026 10:00:00", None),         # not a date
    ("08571234567", None),
    (None, None),
])
def test_mikhmon_comment_dates(comment, expected):
    assert find_expiry(comment, WIB) == expected


def test_expiry_written_back_in_the_routers_format():
    moment = datetime(2026, 11, 3, 7, 5, 0, tzinfo=WIB)
    assert format_expiry(moment, v7=False) == "nov/03/2026 07:05:00"
    assert format_expiry(moment, v7=True) == "2026-11-03 07:05:00"
    for v7 in (False, True):
        assert find_expiry(format_expiry(moment, v7=v7), WIB) == moment
