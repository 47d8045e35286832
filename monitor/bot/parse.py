"""Parse an operator's message into a command: case-insensitive, Indonesian aliases, ``@router``.

``/Ping@MonitoringBot 8.8.8.8 @core`` → ``Parsed("ping", ["8.8.8.8"], router="core")``. A word
``@name`` names a router; the ``@botname`` Telegram appends to a command in groups is dropped.
Sub-commands of ``hotspot``/``ppp`` (``/hotspot disable budi``) become ``hotspot.disable``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

ALIASES = {
    "bantuan": "menu", "help": "menu", "start": "menu", "pantau": "monitor", "alamat": "address",
    "lalulintas": "traffic", "trafik": "traffic", "antarmuka": "interface", "tetangga": "neighbor",
    "sumberdaya": "resource", "catatan": "log", "ringkasan": "status", "isolir": "ppp.isolir",
    "buka": "ppp.renew", "renew": "ppp.renew", "kick": "hotspot.kick", "putus": "hotspot.kick",
}
SUBCOMMANDS = {
    "add": "add", "tambah": "add", "remove": "remove", "hapus": "remove", "enable": "enable",
    "aktifkan": "enable", "disable": "disable", "nonaktifkan": "disable", "matikan": "disable",
    "password": "password", "sandi": "password", "profile": "profile", "profil": "profile",
    "kick": "kick", "putus": "kick", "isolir": "isolir", "buka": "renew", "renew": "renew",
}
GROUPS = ("hotspot", "ppp")


@dataclass(frozen=True)
class Parsed:
    command: str
    args: list[str]
    router: str | None = None


def parse(text: str, known: frozenset[str] | set[str]) -> Parsed | None:
    """The command in ``text``, or None when the text is not addressed to the bot.

    Text that starts with ``/`` is always a command (perhaps an unknown one); bare words are a
    command only when the first word is a known command or alias (WhatsApp users type ``status``).
    """
    text = text.strip()
    if not text:
        return None
    slash = text.startswith("/")
    try:
        words = shlex.split(text.lstrip("/"))
    except ValueError:
        words = text.lstrip("/").split()
    if not words:
        return None
    head = words[0].split("@", 1)[0].lower()
    name = ALIASES.get(head, head)
    if not slash and name not in known and name not in GROUPS:
        return None
    router = None
    args: list[str] = []
    for word in words[1:]:
        if word.startswith("@") and len(word) > 1 and router is None:
            router = word[1:]
        else:
            args.append(word)
    if name in GROUPS and args and args[0].lower() in SUBCOMMANDS:
        name = f"{name}.{SUBCOMMANDS[args.pop(0).lower()]}"
    return Parsed(name, args, router)
