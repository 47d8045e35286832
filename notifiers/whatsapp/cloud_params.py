"""Cloud API template parameters: built from event fields and kept within Meta's limits (pure).

A body parameter may hold at most 1,024 characters, no newline or tab, and no more than four
consecutive spaces; Meta refuses the whole message otherwise (error 132000 / 131008).
``template_params`` is a list (positional ``{{1}}``, ``{{2}}`` …) or a mapping (named parameters,
sent with ``parameter_name``) of Jinja expressions rendered with the event's template context.
"""

from __future__ import annotations

import re
from typing import Any

MAX_PARAM = 1024
_BREAKS = re.compile(r"\s*[\r\n\t\v\f]+\s*")
_SPACES = re.compile(r" {5,}")


def clean_param(text: str) -> str:
    """One template parameter within the limits: line breaks and tabs become `` · ``, runs of
    more than four spaces become four, at most 1,024 characters (cut with ``…``), never empty."""
    flat = _BREAKS.sub(" · ", text.strip())
    flat = _SPACES.sub("    ", flat)
    if len(flat) > MAX_PARAM:
        flat = flat[: MAX_PARAM - 1].rstrip() + "…"
    return flat or "-"


def template_parameters(params: list[str] | dict[str, str] | None, render: Any, message: str,
                        context: dict[str, Any]) -> list[dict[str, Any]]:
    """The body ``parameters`` list. ``render(source, context)`` renders one Jinja string; with no
    ``params`` the whole rendered message is the single positional parameter."""
    if params is None:
        return [{"type": "text", "text": clean_param(message)}]
    if isinstance(params, dict):
        return [{"type": "text", "parameter_name": name, "text": clean_param(render(source, context))}
                for name, source in params.items()]
    return [{"type": "text", "text": clean_param(render(source, context))} for source in params]
