"""``pantau audit`` (the bot's audit trail) and ``pantau ctl`` (the bot's commands from the shell)."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
from datetime import datetime

from ..config.durations import parse_duration
from ..config.model import Config

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def parse_since(text: str | None, now: float) -> float | None:
    """``--since 2h`` (a duration back from now) or ``--since 2026-11-23`` / ISO time."""
    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(f"--since: {text!r} is neither a duration (2h, 3d) nor a date (2026-11-23)") from None


def audit_command(config: Config, since: str | None, as_json: bool) -> int:
    from ..bot.store import BotStore

    try:
        start = parse_since(since, time.time())
    except ValueError as exc:
        print(f"pantau: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    store = BotStore(config.settings.state.path)
    try:
        rows = store.audit_rows(start)
    finally:
        store.close()
    for row in rows:
        if as_json:
            print(json.dumps(row.__dict__, ensure_ascii=False))
            continue
        at = datetime.fromtimestamp(row.at).strftime("%Y-%m-%d %H:%M:%S")
        cmd = " ".join([row.command.replace(".", " "), *row.args])
        print(f"{at}  {row.channel:<8} {row.identity:<18} {row.role or '-':<8} {row.router or '-':<10} "
              f"/{cmd}  → {row.result}{'  (' + row.detail + ')' if row.detail else ''}")
    if not rows and not as_json:
        print("no audit rows" + (f" since {since}" if since else ""))
    return EXIT_OK


async def _ctl(config: Config, words: list[str], yes: bool) -> int:
    from ..bot.access import shell_identity
    from ..bot.config import BotConfig
    from ..bot.core import BotCore
    from ..bot.store import BotStore

    settings = config.settings
    store = BotStore(settings.state.path)
    core = BotCore(settings.bot or BotConfig(), settings.routers, store, state_path=settings.state.path)
    who = shell_identity()
    try:
        text = "/" + " ".join(shlex.quote(w) for w in words).lstrip("/")
        replies = await core.handle(who, "ctl", text)
        if replies and replies[0].pending_id is not None:
            if not yes:
                print(replies[0].text)
                answer = (await asyncio.to_thread(input, "[ya/batal] ")).strip().lower() if sys.stdin.isatty() else ""
                if answer not in ("y", "ya", "yes"):
                    replies = await core.decide(who, "ctl", replies[0].pending_id, False)
                    print(replies[0].text)
                    return EXIT_FAILURE
            replies = await core.decide(who, "ctl", replies[0].pending_id, True)
        for reply in replies:
            print(reply.text)
        ok = store.audit_rows(limit=1)
        return EXIT_OK if ok and ok[-1].result in ("ok", "pending") else EXIT_FAILURE
    finally:
        store.close()


def ctl_command(config: Config, words: list[str], yes: bool) -> int:
    if not words:
        print("pantau ctl: give a command, e.g. pantau ctl hotspot budi", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_ctl(config, words, yes))
