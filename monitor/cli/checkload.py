"""Loading a config for ``pantau check`` without the secrets it does not use.

``check`` validates a config, often on a machine that does not hold the production secrets. An
unset ``${VAR}`` is then a warning ("``pantau run`` needs it"), not an error: the config is validated
with a stand-in value for each unset variable, and a problem at a path that held a stand-in is
reported as "not checked" rather than as the user's mistake. Every other problem stays an error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..config.model import Config, load_config
from ..errors import ConfigError

_UNSET = re.compile(r"^(?P<path>.+): environment variable (?P<var>[A-Za-z_][A-Za-z0-9_]*) is not set$")
#: A stand-in that passes the common validators (non-empty secret, http URL with a host).
STAND_IN = "http://unset.invalid/"


def load_for_check(path: str | os.PathLike[str]) -> tuple[Config, list[str]]:
    """(config, warnings). Raises ConfigError with the problems that are the config's own."""
    env = dict(os.environ)
    try:
        return load_config(Path(path), env=env), []
    except ConfigError as exc:
        unset = {m["path"]: m["var"] for m in map(_UNSET.match, exc.problems) if m}
        if not unset:
            raise
        own = [p for p in exc.problems if not _UNSET.match(p)]
    try:
        config = load_config(Path(path), env={**env, **{var: STAND_IN for var in unset.values()}})
    except ConfigError as again:
        # a problem at a stand-in's path is about the stand-in, not the config
        real = [p for p in again.problems if not any(p.startswith(f"{where}:") for where in unset)]
        raise ConfigError(real or own or again.problems) from None
    warnings = [f"{where}: environment variable {var} is not set here (not checked; `pantau run` needs it)"
                for where, var in unset.items()]
    return config, warnings
