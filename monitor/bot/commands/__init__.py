"""Every bot command, by name. Each module holds one family; each command has its own template."""

from __future__ import annotations

from ..command import Command
from . import hotspot_manage, local, maintenance, network, ping, ppp_manage, sessions

COMMANDS: dict[str, Command] = {c.name: c for module in (local, network, ping, sessions, hotspot_manage, ppp_manage, maintenance)
                                for c in module.COMMANDS}
