"""``${VAR}`` and ``${VAR:-default}`` substitution in config string values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


def substitute(tree: Any, env: Mapping[str, str], path: str = "", problems: list[str] | None = None) -> Any:
    """Return ``tree`` with every string value expanded from ``env``.

    A missing variable without a default is recorded in ``problems`` as ``path: environment
    variable VAR is not set``. ``$$`` yields a literal ``$``.
    """
    if problems is None:
        problems = []
    if isinstance(tree, dict):
        return {k: substitute(v, env, _join(path, str(k)), problems) for k, v in tree.items()}
    if isinstance(tree, list):
        return [substitute(v, env, f"{path}[{i}]", problems) for i, v in enumerate(tree)]
    if isinstance(tree, str) and "$" in tree:

        def repl(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path or '<root>'}: environment variable {name} is not set")
            return ""

        return _PATTERN.sub(repl, tree)
    return tree


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
