"""The watcher's known sessions of one menu, indexed by RouterOS ``.id``.

A listen update names its session by ``.id`` only (a ``.dead`` row, a partial update), so the
watcher must find the sessions with that ``.id``. Scanning every known session per update made a
burst of 1,000 updates on a router with 10,000 sessions cost 10 million comparisons on the event
loop (issue 13 item 4: ~0.5 s during which no other router was served). ``KnownSessions`` keeps an
``.id`` → keys index next to the dict, so that lookup is O(1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["KnownSessions"]

Record = dict[str, Any]


class KnownSessions(dict[str, Record]):
    """key → session record, plus ``with_id(id)``. A key's ``.id`` never changes (it is part of the
    key, see sessions.session_key), so only adding and removing keys touch the index."""

    def __init__(self, items: Iterable[tuple[str, Record]] | dict[str, Record] = ()):
        super().__init__()
        self._ids: dict[str, list[str]] = {}
        for key, record in (items.items() if isinstance(items, dict) else items):
            self[key] = record

    def __setitem__(self, key: str, record: Record) -> None:
        if key not in self:
            self._ids.setdefault(record.get("id", ""), []).append(key)
        super().__setitem__(key, record)

    def __delitem__(self, key: str) -> None:
        record = self[key]
        super().__delitem__(key)
        self._unindex(key, record)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        record = self[key]
        del self[key]
        return record

    def _unindex(self, key: str, record: Record) -> None:
        keys = self._ids.get(record.get("id", ""))
        if keys is not None:
            keys.remove(key)
            if not keys:
                del self._ids[record.get("id", "")]

    def with_id(self, session_id: str | None) -> list[str]:
        """The keys of the known sessions whose ``.id`` is ``session_id``, oldest first."""
        return list(self._ids.get(session_id or "", ()))

    # every other mutation would bypass the index: the watcher does not use them
    def _unsupported(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("KnownSessions supports item assignment, del and pop only")

    update = setdefault = popitem = clear = __ior__ = _unsupported  # type: ignore[assignment]
