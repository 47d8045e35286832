"""Host and router states as Alertmanager alerts (pure: no I/O).

An alert is identified by its labels: ``alertname`` (``HostDown`` / ``RouterDown``), ``host`` or
``router`` (the configured name) and the source's own labels (``site`` …). Two pantau instances
watching the same host therefore produce the same alert, which is what lets an Alertmanager
cluster send one notification for both. ``*.down`` is firing (``endsAt`` unset), ``*.up`` resolves
it (``endsAt`` = the up time). Session events (hotspot/PPP) are not states and make no alert.

Shapes follow Alertmanager: API v2 ``POST /api/v2/alerts`` (postable alerts) and the webhook
payload it sends to receivers (``version: "4"``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from ..events import Event, format_at

__all__ = ["ALERT_NAMES", "alert_for", "fingerprint", "label_name", "webhook_message"]

ALERT_NAMES = {"host": "HostDown", "router": "RouterDown"}
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: how Alertmanager writes "no endsAt"
_STATE_TYPES = {"host.down": True, "host.up": False, "router.down": True, "router.up": False}
_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


def label_name(name: str) -> str:
    """A valid Prometheus label name (``[a-zA-Z_][a-zA-Z0-9_]*``) for a pantau label key."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return name if re.match(r"[a-zA-Z_]", name) else f"_{name}"


def labels_for(event: Event) -> dict[str, str]:
    """The alert's identity: site labels, then alertname and host/router (which win)."""
    labels = {label_name(k): str(v) for k, v in event.source.labels.items()}
    labels["alertname"] = ALERT_NAMES[event.source.kind]
    labels[event.source.kind] = event.source.name
    return labels


def alert_for(event: Event, *, generator_url: str = "") -> dict[str, Any] | None:
    """The API v2 postable alert for a host/router state event, or None for any other event.

    ``startsAt`` is when the outage began (for ``*.up``: the up time minus ``down_for_s``).
    """
    firing = _STATE_TYPES.get(event.type)
    if firing is None or event.source.kind not in ALERT_NAMES:
        return None
    kind = event.source.kind
    start = event.at
    down_for = event.data.get("down_for_s")
    if not firing and isinstance(down_for, int | float) and down_for > 0:
        start = event.at - timedelta(seconds=float(down_for))
    reason = event.data.get("reason") or event.data.get("error") or ""
    annotations = {"summary": f"{kind} {event.source.name} is down" + (f": {reason}" if reason else ""),
                   "event_id": event.id}
    if event.source.address:
        annotations["address"] = event.source.address
    alert: dict[str, Any] = {"labels": labels_for(event), "annotations": annotations,
                             "startsAt": format_at(start), "generatorURL": generator_url}
    if not firing:
        alert["endsAt"] = format_at(event.at)
    return alert


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's alert fingerprint: FNV-1a 64 over the sorted label names and values, each
    followed by the 0xff separator (prometheus/common model.LabelSet.Fingerprint)."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), labels[name].encode()):
            for byte in (*chunk, 0xFF):
                value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return f"{value:016x}"


def webhook_message(alerts: list[dict[str, Any]], *, receiver: str, now: datetime,
                    external_url: str = "") -> dict[str, Any]:
    """Alertmanager's webhook payload (``version: "4"``) for these alerts.

    An alert whose ``endsAt`` is at or before ``now`` is resolved; the group is ``resolved`` only
    when all are. Group labels are ``alertname`` (and the common labels are those all alerts share).
    """
    out = []
    for alert in alerts:
        ends = alert.get("endsAt")
        resolved = bool(ends) and ends <= format_at(now)
        out.append({"status": "resolved" if resolved else "firing", "labels": dict(alert["labels"]),
                    "annotations": dict(alert.get("annotations") or {}), "startsAt": alert["startsAt"],
                    "endsAt": ends or ZERO_TIME, "generatorURL": alert.get("generatorURL", ""),
                    "fingerprint": fingerprint(alert["labels"])})
    common_labels = _common([a["labels"] for a in out])
    group_labels = {k: v for k, v in common_labels.items() if k == "alertname"}
    return {"version": "4", "groupKey": "{}:" + _group_key(group_labels), "truncatedAlerts": 0,
            "status": "firing" if any(a["status"] == "firing" for a in out) else "resolved",
            "receiver": receiver, "groupLabels": group_labels, "commonLabels": common_labels,
            "commonAnnotations": _common([a["annotations"] for a in out]), "externalURL": external_url,
            "alerts": out}


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def _group_key(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
