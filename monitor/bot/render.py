"""Bot replies from Jinja2 templates (``templates/{id,en}.{command}.j2``), sized for a phone.

``markup="html"`` (Telegram: values escaped, tables in ``<pre>``) or ``"text"`` (WhatsApp and the
shell: tables in triple backticks). ``paginate`` splits past 4096 characters on line boundaries
and closes/reopens a ``<pre>`` or fence that a split would cut, so no page breaks a tag.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from ..delivery.templates.renderer import human_bytes, human_duration

MAX_LENGTH = 4096
TABLE_WIDTH = 40  # characters a phone shows in monospace without wrapping


def human_bps(value: Any) -> str:
    """``1536000`` bits/s → ``1.5 Mbps``."""
    try:
        bits = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    for unit in ("bps", "kbps", "Mbps"):
        if bits < 1000:
            return f"{bits:.0f} {unit}" if unit == "bps" else f"{bits:.1f} {unit}"
        bits /= 1000
    return f"{bits:.1f} Gbps"


def format_table(rows: list[list[Any]], headers: list[str] | None = None, width: int = TABLE_WIDTH) -> str:
    """Left-aligned columns; a cell longer than its share of ``width`` is cut with ``…``."""
    data = [[("" if c is None else str(c)) for c in row] for row in rows]
    if headers:
        data.insert(0, list(headers))
    if not data:
        return ""
    ncols = max(len(r) for r in data)
    for r in data:
        r.extend([""] * (ncols - len(r)))
    widths = [max(len(r[i]) for r in data) for i in range(ncols)]
    budget = max(width - (ncols - 1), ncols * 4)
    while sum(widths) > budget:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    lines = []
    for r in data:
        cells = [(c if len(c) <= w else c[: max(w - 1, 1)] + "…").ljust(w) for c, w in zip(r, widths, strict=True)]
        lines.append(" ".join(cells).rstrip())
    return "\n".join(lines)


class BotRenderer:
    def __init__(self, language: str = "id", markup: Literal["html", "text"] = "text"):
        self.language = language if language in ("id", "en") else "id"
        self.markup = markup
        self.env = SandboxedEnvironment(autoescape=markup == "html", trim_blocks=True, lstrip_blocks=True,
                                        undefined=jinja2.Undefined)
        self.env.filters.update(bytes=human_bytes, bps=human_bps, table=self._table, bold=self._bold,
                                duration=lambda s: human_duration(s, self.language), mono=self._mono)
        self._cache: dict[str, jinja2.Template] = {}

    def template_source(self, name: str, language: str | None = None) -> str:
        lang = language or self.language
        return resources.files("monitor.bot.templates").joinpath(f"{lang}.{name}.j2").read_text(encoding="utf-8")

    def render(self, template: str, /, **context: Any) -> str:
        if template not in self._cache:
            self._cache[template] = self.env.from_string(self.template_source(template))
        text = self._cache[template].render(language=self.language, **context)
        return "\n".join(line.rstrip() for line in str(text).strip().splitlines())

    def _table(self, rows: list[list[Any]], headers: list[str] | None = None) -> Any:
        body = format_table(rows, headers)
        if self.markup == "html":
            return Markup("<pre>{}</pre>").format(body)
        return f"```\n{body}\n```"

    def _mono(self, value: Any) -> Any:
        if self.markup == "html":
            return Markup("<code>{}</code>").format(value)
        return f"`{value}`"

    def _bold(self, value: Any) -> Any:
        if self.markup == "html":
            return Markup("<b>{}</b>").format(value)
        return f"*{value}*"

    def escape(self, text: str) -> str:
        return str(escape(text)) if self.markup == "html" else text


def paginate(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """Split ``text`` into pages of at most ``limit`` characters on line boundaries; a ``<pre>``
    block or a ``` fence open at a split is closed at the end of the page and reopened on the next."""
    if len(text) <= limit:
        return [text]
    room = limit - 8  # space for a closer
    pages: list[str] = []
    lines: list[str] = []
    size = 0
    block: str | None = None
    for line in _cut_long(text.split("\n"), room - 8):
        if lines and size + len(line) + 1 > room:
            pages.append("\n".join(lines) + (_CLOSE[block] if block else ""))
            lines, size = [], 0
            if block:
                line = _OPEN[block] + line
        lines.append(line)
        size += len(line) + 1
        block = _block_after(line, block)
    pages.append("\n".join(lines))
    return pages


_OPEN = {"pre": "<pre>", "fence": "```\n"}
_CLOSE = {"pre": "</pre>", "fence": "\n```"}


def _block_after(line: str, block: str | None) -> str | None:
    i = 0
    while i < len(line):
        if line.startswith("<pre>", i):
            block, i = "pre", i + 5
        elif line.startswith("</pre>", i):
            block, i = None, i + 6
        elif line.startswith("```", i):
            block, i = (None if block == "fence" else "fence"), i + 3
        else:
            i += 1
    return block


def _cut_long(lines: list[str], width: int) -> list[str]:
    out = []
    for line in lines:
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return out
