"""The simulator's data: menus of items with RouterOS ``.id``s, ``?`` query evaluation, durations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

#: Change callback: (menu, .id, rendered row or None when removed).
ChangeHook = Callable[["Menu", str, dict[str, str] | None], None]

#: Hidden per-item key: monotonic time the item's ``uptime`` counts from.
STARTED = "\x00started"


def format_routeros_duration(seconds: float) -> str:
    """Render seconds like RouterOS 7 does: ``1w2d3h4m5s``, ``45m10s``, ``0s``."""
    total = int(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or "0s"


class Menu:
    """One menu (e.g. ``/ip/hotspot/active``): ordered items keyed by ``.id`` (``*1``, ``*A``...)."""

    def __init__(self, path: str, on_change: ChangeHook, *, clock: Callable[[], float] = time.monotonic,
                 singleton: bool = False):
        self.path = path
        self.items: dict[str, dict[str, str | float]] = {}
        self.singleton = singleton  # /system/identity etc.: one row, no .id
        self._next = 1
        self._on_change = on_change
        self._clock = clock

    def reset_ids(self) -> None:
        """Forget every item and restart ``.id`` numbering (a reboot reuses ``.id``s)."""
        for item_id in list(self.items):
            self.remove(item_id)
        self._next = 1

    def add(self, attrs: dict[str, str], *, uptime: float | None = None) -> str:
        item_id = f"*{self._next:X}"
        self._next += 1
        item: dict[str, str | float] = dict(attrs)
        if uptime is not None:
            item[STARTED] = self._clock() - uptime
        self.items[item_id] = item
        self._on_change(self, item_id, self.render(item_id))
        return item_id

    def set(self, item_id: str, attrs: dict[str, str]) -> None:
        self.items[item_id].update(attrs)
        self._on_change(self, item_id, self.render(item_id))

    def remove(self, item_id: str) -> None:
        del self.items[item_id]
        self._on_change(self, item_id, None)

    def find(self, **match: str) -> str | None:
        """The ``.id`` of the first item whose attributes equal ``match`` (``mac_address`` → ``mac-address``)."""
        want = {k.replace("_", "-"): v for k, v in match.items()}
        for item_id, item in self.items.items():
            if all(item.get(k) == v for k, v in want.items()):
                return item_id
        return None

    def render(self, item_id: str) -> dict[str, str]:
        item = self.items[item_id]
        row = {} if self.singleton else {".id": item_id}
        for key, value in item.items():
            if key == STARTED:
                row["uptime"] = format_routeros_duration(self._clock() - float(value))
            else:
                row[key] = str(value)
        return row

    def rows(self, queries: Iterable[str] = ()) -> list[dict[str, str]]:
        queries = list(queries)
        out = []
        for item_id in self.items:
            row = self.render(item_id)
            if not queries or query_matches(row, queries):
                out.append(row)
        return out


def _compare(a: str, b: str) -> int:
    try:
        x, y = int(a), int(b)
    except ValueError:
        x, y = a, b  # type: ignore[assignment]
    return (x > y) - (x < y)


def query_matches(row: dict[str, str], queries: list[str]) -> bool:
    """Evaluate RouterOS API ``?`` query words against one row (the stack machine of the API docs).

    ``?name=value`` equal, ``?name`` present, ``?-name`` absent, ``?<name=v``/``?>name=v`` compare,
    ``?#ops`` stack operations: ``|`` or, ``&`` and (each pops two, pushes one), ``!`` not (the top),
    ``.`` duplicate the top, a number ``n`` pushes a copy of the value at index ``n``, where index 0
    is the TOP of the stack (the API docs). The row matches when every value left is true.
    """
    stack: list[bool] = []
    for word in queries:
        body = word[1:]
        if body.startswith("#"):
            ops = body[1:]
            i = 0
            while i < len(ops):
                op = ops[i]
                if op.isdigit():
                    j = i
                    while j < len(ops) and ops[j].isdigit():
                        j += 1
                    index = int(ops[i:j])
                    if index < len(stack):
                        stack.append(stack[-1 - index])
                    i = j
                    continue
                if op == "!" and stack:
                    stack[-1] = not stack[-1]
                elif op in "|&" and len(stack) >= 2:
                    b, a = stack.pop(), stack.pop()
                    stack.append(a or b if op == "|" else a and b)
                elif op == "." and stack:
                    stack.append(stack[-1])
                i += 1
            continue
        if body.startswith("-"):
            stack.append(body[1:] not in row)
        elif body[:1] in "<>" and body:
            name, _, value = body[1:].partition("=")
            if name not in row:
                stack.append(False)
            else:
                cmp = _compare(row[name], value)
                stack.append(cmp < 0 if body[0] == "<" else cmp > 0)
        else:
            if body.startswith("="):
                body = body[1:]
            name, sep, value = body.partition("=")
            stack.append(row.get(name) == value if sep else name in row)
    return all(stack)


def apply_proplist(row: dict[str, str], proplist: list[str] | None) -> dict[str, str]:
    if not proplist:
        return row
    return {k: row[k] for k in proplist if k in row}
