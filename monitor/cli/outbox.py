"""``pantau outbox``: what is waiting, what died, and requeueing the dead.

Read-only toward the config: it needs only ``state.path`` (so no notifier's secrets have to be in
the environment), finds the database the config names, and never creates one."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..config.envsubst import substitute
from ..config.model import StateConfig
from ..delivery.outbox_store import OutboxStore
from ..errors import ConfigError
from ..logs import redact


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def state_path(config_path: str | os.PathLike[str], env: dict[str, str] | None = None) -> Path:
    """The state database a config names, from its ``state:`` section alone.

    A relative ``state.path`` is relative to the directory ``pantau run`` works in; when that file is
    not here but is next to the config, that one is meant. Raises ConfigError (by path)."""
    path = Path(config_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    section = data.get("state", {}) if isinstance(data, dict) else {}
    problems: list[str] = []
    section = substitute(section or {}, os.environ if env is None else env, "state", problems)
    try:
        state = StateConfig.model_validate(section)
    except ValidationError as exc:
        problems += [f"state.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)]
    if problems:
        raise ConfigError(problems)
    db = Path(state.path)
    if not db.is_absolute() and not db.exists() and (path.parent / db).exists():
        return (path.parent / db).resolve()
    return db.resolve() if not db.is_absolute() else db


def outbox_command(db: Path, action: str, *, notifier: str | None = None, limit: int = 50) -> int:
    if not db.is_file():
        print(f"pantau: no state database at {db} — nothing was ever queued there. `pantau run` creates it; "
              "a relative state.path is relative to the directory pantau runs in (use an absolute path, "
              "or run this from that directory).", file=sys.stderr)
        return 1
    with OutboxStore(db) as store:
        if action == "retry":
            n = store.retry_dead(notifier)
            print(f"requeued {n} dead message(s){f' for {notifier}' if notifier else ''}; "
                  "a running pantau delivers them within its next sweep")
            return 0
        by_notifier = store.counts_by_notifier()
        if not by_notifier:
            print(f"outbox {db}: empty")
            return 0
        print(f"outbox {db}:")
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
