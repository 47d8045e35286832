"""Message templates: defaults in both languages, escaping per markup, overrides and their errors."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from monitor.delivery.templates.renderer import (
    MessageConfig,
    TemplateFile,
    TemplateRenderer,
    human_duration,
    sample_events,
)
from monitor.errors import ConfigError
from monitor.events import EVENT_TYPES

SAMPLES = {e.type: e for e in sample_events()}


def test_sample_events_cover_every_event_type():
    """sample_events() has exactly one event per EVENT_TYPES entry, with the documented data keys."""
    assert [e.type for e in sample_events()] == list(EVENT_TYPES)
    assert {"loss", "rtt_avg_ms", "reason", "checks_failed"} <= set(SAMPLES["host.down"].data)
    assert {"uptime_s", "bytes_in", "bytes_out", "reason", "user", "mac"} <= set(SAMPLES["hotspot.logout"].data)


@pytest.mark.parametrize("markup", ["html", "text"])
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_defaults_render_every_type_in_both_languages(event_type, markup):
    """Each default template renders in id and en; id uses the seeds' Tanggal/Jam/Status wording."""
    event = SAMPLES[event_type]
    indonesian = TemplateRenderer(language="id", markup=markup).render(event)
    english = TemplateRenderer(language="en", markup=markup).render(event)
    assert "Tanggal: 23/11/2026" in indonesian and "Jam: 09:44:05 WIB" in indonesian
    assert "Date: 2026-11-23" in english and "Time: 09:44:05 WIB" in english
    if event.category == "subscriber":  # warnings name the user and what runs out
        assert "User: budi" in indonesian and "User: budi" in english
    elif event.source.kind in ("host", "router"):  # state changes say ON/OFF like the seeds' scripts
        status = "ON" if event_type in {"host.up", "router.up", "hotspot.login", "ppp.connect"} else "OFF"
        assert f"({status})" in indonesian or f"Status: {status}" in indonesian
        assert f"({status})" in english or f"Status: {status}" in english
    assert "\n\n" not in indonesian and "\n\n" not in english


def test_indonesian_defaults_read_like_the_seeds():
    """Login says "Selamat Datang … Status: Sudah Aktif"; up/logout say how long it was down/online."""
    r = TemplateRenderer(language="id", markup="text")
    login = r.render(SAMPLES["hotspot.login"])
    assert login.startswith("*Selamat Datang*")
    for line in ("Router: core", "User: budi", "IP: 10.5.50.23", "MAC: AA:BB:CC:11:22:33",
                 "Status: Sudah Aktif (ON)"):
        assert line in login
    assert "Lama down: 2 jam 5 menit" in r.render(SAMPLES["host.up"])
    assert "Lama online: 1 jam 30 menit" in r.render(SAMPLES["hotspot.logout"])
    assert "Down for: 2h 5m" in TemplateRenderer(language="en").render(SAMPLES["host.up"])


def test_session_reason_codes_are_translated():
    """while_unreachable is spelled out for operators in both languages."""
    event = dataclasses.replace(SAMPLES["ppp.disconnect"],
                                data={**SAMPLES["ppp.disconnect"].data, "reason": "while_unreachable"})
    assert "Penyebab: router tidak terjangkau" in TemplateRenderer(language="id").render(event)
    assert "Reason: router unreachable" in TemplateRenderer(language="en").render(event)


def test_timezone_is_configurable():
    """The same event shows local time of the configured zone."""
    assert "Jam: 02:44:05 UTC" in TemplateRenderer(timezone="UTC").render(SAMPLES["host.down"])
    assert "Jam: 10:44:05 WITA" in TemplateRenderer(timezone="Asia/Makassar").render(SAMPLES["host.down"])


def test_html_markup_escapes_values_but_not_template_markup():
    """html: event values are escaped, the template's own tags (bold filter) are not; text: neither."""
    event = dataclasses.replace(SAMPLES["hotspot.login"],
                                data={**SAMPLES["hotspot.login"].data, "user": "<b>Budi & Sari</b>"})
    html = TemplateRenderer(markup="html").render(event)
    assert "User: &lt;b&gt;Budi &amp; Sari&lt;/b&gt;" in html and html.startswith("<b>Selamat Datang</b>")
    html_bold = TemplateRenderer(markup="html", overrides={"hotspot.*": "{{ data.user | bold }}"}).render(event)
    assert html_bold == "<b>&lt;b&gt;Budi &amp; Sari&lt;/b&gt;</b>"
    text = TemplateRenderer(markup="text").render(event)
    assert "User: <b>Budi & Sari</b>" in text


def test_override_exact_beats_glob_and_digest_is_separate():
    """An exact key wins over a glob; a glob covers the rest of its types; others keep defaults."""
    r = TemplateRenderer(overrides={"ppp.*": "PPP {{ data.name }}", "ppp.connect": "MASUK {{ data.name }}"})
    assert r.render(SAMPLES["ppp.connect"]) == "MASUK pelanggan-017"
    assert r.render(SAMPLES["ppp.disconnect"]) == "PPP pelanggan-017"
    assert r.render(SAMPLES["host.down"]).startswith("🔴 *HOST DOWN*")
    assert r.render_digest(sample_events()).startswith(f"*Ringkasan*: {len(sample_events())} kejadian")


def test_template_from_file_relative_to_base_dir(tmp_path):
    """{file: path} is read relative to base_dir (the config directory)."""
    (tmp_path / "login.j2").write_text("Halo {{ data.user }} dari {{ router }}", encoding="utf-8")
    r = TemplateRenderer(overrides={"hotspot.login": TemplateFile(file="login.j2")}, base_dir=tmp_path)
    r.validate("notifiers[0]")
    assert r.render(SAMPLES["hotspot.login"]) == "Halo budi dari core"


@pytest.mark.parametrize("overrides,expected", [
    ({"host.down": "Host {{ source.name "}, "notifiers[1].templates.host.down: syntax error on line 1"),
    ({"hotspot.*": "{{ data.user.nama.depan }}"},
     "notifiers[1].templates.hotspot.*: cannot render a sample hotspot.login event"),
    ({"router.up": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
     "notifiers[1].templates.router.up: cannot render a sample router.up event: SecurityError"),
    ({"host.up": "{% if false %}x{% endif %}"},
     "notifiers[1].templates.host.up: renders an empty message for a sample host.up event"),
    ({"digest": "{% for e in events %}{{ e.data.user | bold(1) }}{% endfor %}"},
     "notifiers[1].templates.digest: cannot render a sample digest event"),
    ({"ppp.connect": {"file": "/nonexistent/pantau/ppp.j2"}},
     "notifiers[1].templates.ppp.connect: cannot read template file '/nonexistent/pantau/ppp.j2'"),
])
def test_broken_template_is_config_error_naming_its_path(overrides, expected):
    """A template that does not compile, cannot render a sample, escapes the sandbox, renders
    nothing, or cannot be read is a ConfigError whose problem line starts with its config path."""
    r = TemplateRenderer(overrides=overrides)
    with pytest.raises(ConfigError) as err:
        r.validate("notifiers[1]")
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_message_config_rejects_unknown_keys_and_zones():
    """Template keys must match an event type (or be 'digest'); the timezone must exist."""
    base = {"name": "n", "type": "x"}
    assert MessageConfig(**base, templates={"host.*": "x", "digest": {"file": "d.j2"}}).templates
    with pytest.raises(ValidationError, match="matches no event type"):
        MessageConfig(**base, templates={"hots.down": "x"})
    with pytest.raises(ValidationError, match="unknown timezone"):
        MessageConfig(**base, timezone="Asia/Jakartaa")


def test_human_duration():
    """Two largest units, in the notifier's language."""
    assert human_duration(7500, "id") == "2 jam 5 menit"
    assert human_duration(7500, "en") == "2h 5m"
    assert human_duration(93784, "id") == "1 hari 2 jam"
    assert human_duration(45, "en") == "45s"
    assert human_duration(0, "id") == "0 detik"
    assert human_duration(None, "id") == ""
