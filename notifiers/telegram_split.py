"""Split a Telegram HTML message into parts of at most 4096 UTF-16 units, each valid HTML on its own.

Telegram parses every message separately, so a part that starts inside ``<pre>`` or ends inside
``<b>`` fails with 400 "can't parse entities". The splitter walks the message as tags, entities
and characters; at a cut it closes the tags still open and reopens them (same opening tag,
attributes included) at the start of the next part. It prefers to cut after a newline and cuts
inside a line only when the line alone is too long; it never cuts inside a tag or an entity.
"""

from __future__ import annotations

import re

__all__ = ["MAX_LENGTH", "split_message", "units"]

MAX_LENGTH = 4096
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|.", re.DOTALL)
_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)")


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """The message as one part, or as several each ≤ ``limit`` units with balanced tags."""
    if units(text) <= limit:
        return [text]
    tokens = _TOKEN.findall(text)
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open at the current point
    index = 0
    while index < len(tokens):
        part, index, stack = _one_part(tokens, index, stack, limit)
        if _visible(part).strip():
            parts.append(part)
    return parts or [text[:limit]]


def _one_part(tokens: list[str], start: int, stack: list[tuple[str, str]],
              limit: int) -> tuple[str, int, list[tuple[str, str]]]:
    """Fill one part from ``tokens[start:]``; return it, the next token index and the open tags."""
    opened = list(stack)
    body = [tag for _, tag in opened]
    size = sum(units(tag) for tag in body)
    closers = _closers(opened)
    best: tuple[int, int, list[tuple[str, str]]] | None = None  # (len(body), next index, stack) after a newline
    has_text = False
    index = start
    while index < len(tokens):
        token = tokens[index]
        after = _apply(opened, token)
        cost = (2 if token > "\uffff" else 1) if len(token) == 1 else units(token)
        after_closers = closers if after is opened else _closers(after)
        if size + cost + len(after_closers) > limit and has_text:
            break
        body.append(token)
        size += cost
        opened, closers = after, after_closers
        index += 1
        if not token.startswith("<"):
            has_text = has_text or bool(token.strip())
        if token == "\n" and has_text:
            best = (len(body), index, list(opened))
    else:
        return "".join(body) + closers, index, opened
    if best is not None and best[1] > start:
        length, index, opened = best
        body = body[:length]
    return "".join(body) + _closers(opened), index, opened


def _apply(stack: list[tuple[str, str]], token: str) -> list[tuple[str, str]]:
    """The open-tag stack after ``token`` (a copy when it changes)."""
    if not token.startswith("<"):
        return stack
    match = _TAG.match(token)
    if match is None or token.endswith("/>"):
        return stack
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        return [*stack, (name, token)]
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth][0] == name:
            return stack[:depth]
    return stack


def _closers(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _visible(part: str) -> str:
    return re.sub(r"<[^>]*>", "", part)
