"""An event's wire JSON is built once and shared by the history and the outbox; a changed copy
(``dataclasses.replace``, as suppression does) gets its own."""

from __future__ import annotations

import json
from dataclasses import replace

from monitor.events import Event, Source


def test_an_event_is_encoded_once_and_a_replaced_copy_afresh() -> None:
    event = Event("hotspot.login", Source("router", "r1", "127.0.0.1"), {"user": "budi", "comment": "Kamar 3 — é"})
    text = event.to_json()
    assert event.to_json() is text  # cached
    assert json.loads(text) == event.to_dict()  # and exactly the schema-v1 document
    assert Event.from_json(text) == event  # the cache is not part of equality
    behind = replace(event, data={**event.data, "behind": ["core"]})
    assert json.loads(behind.to_json())["data"]["behind"] == ["core"]
    assert "behind" not in json.loads(event.to_json())["data"]
    assert "_json" not in repr(event)
