"""``pantau test-notify NAME``: one sample event through the real path (template, provider, network).

The sample is marked as a test (``data.test: true``; messages start with ``[TES]`` / ``[TEST]``),
carries the current time, and never goes to a subscriber or a sample phone number: only to the
notifier's own configured recipients, or to ``--to NUMBER`` alone."""

from __future__ import annotations

import sys
from typing import Any

import aiohttp

from ..config.model import Config
from ..delivery.notify import NotifierContext
from ..errors import NotifyError
from ..events import EVENT_TYPES, Event
from ..logs import redact


def sample_event(event_type: str) -> Event:
    """A sample of ``event_type`` marked as a test, at the current time, with a fresh id and no
    subscriber (the sample's phone number looks real, so it must never be messaged)."""
    from ..delivery.templates.renderer import sample_events

    sample = next(e for e in sample_events() if e.type == event_type)
    data = {**sample.data, "test": True}
    if "subscriber" in data:
        data["subscriber"] = None
    return Event(type=sample.type, source=sample.source, data=data)


async def test_notify(config: Config, name: str, *, event_type: str = "host.down", to: str | None = None) -> int:
    """Send the sample ``event_type`` to every recipient of notifier ``name``.

    Prints what the provider answered. Returns 0 when every send succeeded, 1 otherwise, 2 when
    the notifier or event type does not exist."""
    cfg = next((n for n in config.notifiers if n.name == name), None)
    if cfg is None:
        known = ", ".join(n.name for n in config.notifiers) or "none configured"
        print(f"pantau: no notifier named {name!r} (notifiers: {known})", file=sys.stderr)
        return 2
    if event_type not in EVENT_TYPES:
        print(f"pantau: unknown event type {event_type!r} (types: {', '.join(EVENT_TYPES)})", file=sys.stderr)
        return 2
    kind = config.registry.get(cfg.type)
    assert kind is not None
    event = sample_event(event_type)
    failures = 0
    async with aiohttp.ClientSession() as http:
        notifier: Any = kind.cls(cfg, NotifierContext(
            http=http, settings=config.settings, config_dir=config.source.parent if config.source else None))
        try:
            if to is not None and "to" not in type(cfg).model_fields:
                print(f"pantau: --to applies to notifiers with per-message recipients (whatsapp); "
                      f"{name!r} is {cfg.type}", file=sys.stderr)
                return 2
            if to is not None:
                recipients = [to]
            else:
                recipients = notifier.recipients(event) if hasattr(notifier, "recipients") else [None]
                if any(str(entry).strip().lower() == "subscriber" for entry in getattr(cfg, "to", [])):
                    print(f"{name}: `subscriber` skipped — a test never messages a subscriber "
                          "(use --to NUMBER to try one)")
            if not recipients:
                print(f"{name}: no recipient for a sample {event_type} (check `to:`)")
                return 1
            for recipient in recipients:
                label = f"{name} → {recipient}" if recipient else name
                try:
                    if recipient is None:
                        await notifier.send(event)
                    else:
                        await notifier.send(event, recipient)
                except NotifyError as exc:
                    failures += 1
                    hint = "will be retried in normal operation" if exc.retryable else "not retryable"
                    print(redact(f"{label}: FAILED ({hint}): {exc}"))
                    continue
                answer = getattr(notifier, "last_response", None)
                print(redact(f"{label}: OK — sample {event_type} {event.id} delivered"
                             + (f"; provider answered: {answer}" if answer is not None else "")))
        finally:
            await notifier.aclose()
    return 1 if failures else 0
