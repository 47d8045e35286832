"""Secret masking covers fragments: the token of ``Bearer X``, a URL's userinfo, query values and
long path segments, the Basic pair, percent-encoded forms — in log lines of both formats,
exception text included."""

from __future__ import annotations

import base64
import io
import json

import structlog

from monitor.logs import configure_logging, redact, register_secret
from monitor.redaction import scrub, secret_fragments


def test_fragments_of_headers_and_urls():
    assert "tok-ABCDEF123456" in secret_fragments("Bearer tok-ABCDEF123456")
    url = secret_fragments("https://user:p%40ss-w0rd@gw.example/send/AbCdEf0123456789?api_key=k-998877&x=1")
    assert {"p@ss-w0rd", "p%40ss-w0rd", "k-998877", "AbCdEf0123456789",
            base64.b64encode(b"user:p@ss-w0rd").decode()} <= url
    assert "gw.example" not in url and "send" not in url and "user" not in url  # where it points stays readable
    assert "s3cr3t-pw" in secret_fragments("Basic " + base64.b64encode(b"admin:s3cr3t-pw").decode())
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" in secret_fragments("123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")


def test_a_peer_echoing_a_bare_token_is_masked():
    text = 'gateway says: invalid key k-998877 for "tok-ABCDEF123456" (p%40ss-w0rd)'
    out = scrub(text, ["Bearer tok-ABCDEF123456", "https://u:p%40ss-w0rd@h/x?api_key=k-998877"])
    assert out == 'gateway says: invalid key *** for "***" (***)'


def test_console_and_json_logs_mask_fragments_in_exception_text():
    register_secret("Bearer exc-Token-556677")
    for fmt in ("console", "json"):
        stream = io.StringIO()
        configure_logging("info", fmt, stream=stream)
        log = structlog.get_logger("t")
        try:
            raise RuntimeError("peer answered 401 for exc-Token-556677")
        except RuntimeError:
            log.exception("delivery.failed", error="echo exc-Token-556677")
        out = stream.getvalue()
        assert "exc-Token-556677" not in out and "***" in out, (fmt, out)
        if fmt == "json":
            json.loads(out.splitlines()[-1])
    assert redact("x exc-Token-556677 y") == "x *** y"


def test_json_log_lines_mask_secrets_wherever_they_sit_and_leave_clean_lines_alone():
    """Log lines are first scanned once as a whole and pass unchanged when no secret occurs; a
    secret in a plain value, inside a nested dict or list, or in an exception is still masked."""
    register_secret("nested-Secret-998811")
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    log = structlog.get_logger("t")
    clean = {"user": "budi", "router": "core-1", "count": 3, "ratio": 0.5, "flag": None,
             "notify": ["screen", "wa"], "data": {"a": "b", "n": [1, "x"]}}
    log.info("clean", **clean)
    log.info("plain", error="401 for nested-Secret-998811")
    log.info("deep", data={"outer": {"list": ["ok", "tok nested-Secret-998811 end"]}},
             items=("a", "nested-Secret-998811"))
    log.info("exc", error=ValueError("nested-Secret-998811 rejected"))
    log.info("split", a="nested-Secret-", b="998811")  # a secret only across two values is no secret
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {k: lines[0][k] for k in clean} == clean
    assert lines[1]["error"] == "401 for ***"
    assert lines[2]["data"] == {"outer": {"list": ["ok", "tok *** end"]}} and lines[2]["items"] == ["a", "***"]
    assert lines[3]["error"] == "ValueError: *** rejected"
    assert (lines[4]["a"], lines[4]["b"]) == ("nested-Secret-", "998811")
    assert "nested-Secret-998811" not in stream.getvalue()
