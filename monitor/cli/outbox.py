"""``pantau outbox``: what is waiting, what died, and requeueing the dead."""

from __future__ import annotations

from datetime import UTC, datetime

from ..config.model import Config
from ..delivery.outbox_store import OutboxStore
from ..logs import redact, register_secrets
from ..redaction import collect_secrets


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def outbox_command(config: Config, action: str, *, notifier: str | None = None, limit: int = 50) -> int:
    # rows stored before errors were scrubbed (or by a plugin's own store) are masked when printed
    register_secrets(collect_secrets(config.notifiers, config.settings.routers))
    with OutboxStore(config.settings.state.path) as store:
        if action == "retry":
            n = store.retry_dead(notifier)
            print(f"requeued {n} dead message(s){f' for {notifier}' if notifier else ''}; "
                  "a running pantau delivers them within its next sweep")
            return 0
        by_notifier = store.counts_by_notifier()
        if not by_notifier:
            print(f"outbox {config.settings.state.path}: empty")
            return 0
        print(f"outbox {config.settings.state.path}:")
        for name, counts in sorted(by_notifier.items()):
            if notifier is None or name == notifier:
                print(f"  {name:<20} pending {counts['pending']:>5}   dead {counts['dead']:>5}   sent {counts['sent']:>6}")
        for status in ("pending", "dead"):
            rows = store.list(status=status, notifier=notifier, limit=limit)
            if not rows:
                continue
            print(f"{status}:")
            for m in rows:
                print(f"  #{m.id:<6} {_when(m.created_at)}  {m.event_type:<15} {m.notifier} → {m.recipient or '-'}"
                      f"  attempts {m.attempts}"
                      + (f"  next {_when(m.next_attempt_at)}" if status == "pending" else "")
                      + (f"  error: {redact(m.last_error)}" if m.last_error else ""))
    return 0
