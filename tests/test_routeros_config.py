"""RouterConfig: defaults, TLS port, validation, subscriber phone extraction."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.routeros.config import RouterConfig, SubscriberConfig

BASE = {"name": "core", "address": "192.0.2.1", "username": "pantau", "password": "pw"}


def test_defaults() -> None:
    """Without options: port 8728, watch both menus, listen mode, documented timings."""
    cfg = RouterConfig.model_validate(BASE)
    assert (cfg.port, cfg.watch, cfg.mode, cfg.poll_interval, cfg.resync_interval, cfg.down_after, cfg.timeout) == (
        8728, ["hotspot", "ppp"], "listen", 5.0, 300.0, 3, 10.0)
    assert cfg.ssl_context() is None
    assert "pw" not in repr(cfg) and "pw" not in str(cfg.model_dump())


def test_tls_defaults_port_8729_and_accepts_true_or_mapping(tmp_path) -> None:
    """tls: true or {verify, ca} turns on api-ssl and moves the default port to 8729; an explicit port wins."""
    assert RouterConfig.model_validate({**BASE, "tls": True}).port == 8729
    cfg = RouterConfig.model_validate({**BASE, "tls": {"verify": False}, "port": 9999})
    assert cfg.port == 9999 and cfg.ssl_context() is not None


@pytest.mark.parametrize("bad", [{"mode": "push"}, {"watch": ["dhcp"]}, {"down_after": 0}, {"poll_interval": "0s"},
                                 {"surprise": 1}, {"timeout": "ten"}, {"subscriber": {"regex": "("}}])
def test_invalid_values_are_rejected(bad: dict) -> None:
    """Unknown keys, modes, menus, zero counts/durations and broken regexes fail validation."""
    with pytest.raises(ValidationError):
        RouterConfig.model_validate({**BASE, **bad})


@pytest.mark.parametrize(("text", "phone"), [
    ("Kamar 3 — Budi 0812-3456-7890", "6281234567890"),
    ("WA +62 857 1111 2222", "6285711112222"),
    ("628571234567", "628571234567"),
    ("budi 0857.1234.5678 blok C", "6285712345678"),
    ("Kamar 3 — Budi", None),
    ("NIK 3201234567890001", None),
    (None, None),
])
def test_default_phone_regex_normalises_indonesian_numbers(text: str | None, phone: str | None) -> None:
    """08…, 628…, +628… (with spaces, dashes, dots) normalise to 628…; other numbers are ignored."""
    assert SubscriberConfig().phone_from(text) == phone


def test_subscriber_field_and_custom_regex() -> None:
    """The subscriber field and regex are configurable."""
    cfg = RouterConfig.model_validate({**BASE, "subscriber": {"field": "email", "regex": r"\d{4}", "refresh": "1m"}})
    assert cfg.subscriber.field == "email" and cfg.subscriber.refresh == 60
    assert cfg.subscriber.phone_from("id 1234") == "1234"
