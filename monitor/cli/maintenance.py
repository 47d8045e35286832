"""``pantau maintenance add|list|end``: maintenance windows in the state database (a running
pantau picks them up within seconds; they survive restarts)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ..config.durations import format_duration, parse_duration
from ..config.model import Config
from ..suppression.config import target_problems
from ..suppression.store import MaintenanceStore
from ..suppression.windows import parse_selector


def add_parser(sub: argparse._SubParsersAction, with_config) -> None:
    m = with_config(sub.add_parser("maintenance", help="add, list or end maintenance windows"))
    m.add_argument("action", choices=["add", "list", "end"])
    m.add_argument("args", nargs="*", help="add: TARGET... DURATION (host:NAME, router:NAME, label:K=V); end: ID")
    m.add_argument("--reason", default="", help="why (shown in lists and in suppressed events)")
    m.add_argument("--start", help="start time 'YYYY-MM-DD HH:MM' in the config's timezone (default: now)")
    m.add_argument("--all", action="store_true", help="list: also windows that are over")


def _when(t: float, tz: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def maintenance_command(config: Config, action: str, args: list[str], *, reason: str = "",
                        start: str | None = None, show_all: bool = False, now: float | None = None) -> int:
    s = config.settings
    now = time.time() if now is None else now
    with MaintenanceStore(s.state.path) as store:
        if action == "add":
            return _add(config, store, args, reason, start, now)
        if action == "end":
            if len(args) != 1 or not args[0].isdigit():
                print("pantau: usage: pantau maintenance end ID", file=sys.stderr)
                return 2
            try:
                w = store.end(int(args[0]), now=now)
            except KeyError:
                print(f"pantau: no maintenance window {args[0]}", file=sys.stderr)
                return 2
            print(f"window {w.id} ended at {_when(w.end, s.timezone)}; a running pantau reconciles "
                  "the state of its targets within seconds")
            return 0
        if args:
            print("pantau: usage: pantau maintenance list [--all]", file=sys.stderr)
            return 2
        lines = []
        for i, cfg in enumerate(s.maintenance):
            when = cfg.every or f"{cfg.start:%Y-%m-%d %H:%M} → {cfg.end:%Y-%m-%d %H:%M}"
            lines.append(f"config[{i}]  {', '.join(cfg.match):<30} {when}  {cfg.reason}".rstrip())
        for w in store.list(since=None if show_all else now):
            state = "active" if w.start <= now < w.end else ("over" if w.end <= now else "planned")
            lines.append(f"{w.id:<9} {', '.join(w.targets):<30} {_when(w.start, s.timezone)} → "
                         f"{_when(w.end, s.timezone)} ({state}, by {w.created_by})  {w.reason}".rstrip())
        print("\n".join(lines) if lines else "no maintenance windows")
        return 0


def _add(config: Config, store: MaintenanceStore, args: list[str], reason: str, start: str | None,
         now: float) -> int:
    s = config.settings
    if len(args) < 2:
        print("pantau: usage: pantau maintenance add TARGET... DURATION [--reason TEXT] [--start TIME]",
              file=sys.stderr)
        return 2
    *targets, duration_text = args
    problems = []
    try:
        duration = parse_duration(duration_text)
        if duration <= 0:
            raise ValueError("the duration must be greater than 0")
    except ValueError as exc:
        problems.append(f"duration: {exc} (write e.g. 30m, 2h)")
    for text in targets:
        try:
            parse_selector(text)
        except ValueError as exc:
            problems.append(str(exc))
    if not problems:
        hosts, routers = {h.name for h in s.hosts}, {r.name for r in s.routers}
        problems += [f"{targets[j]}: {p}" for j, p in target_problems(targets, hosts, routers)]
    begin = None
    if start is not None:
        try:
            begin = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(s.timezone)).timestamp()
        except ValueError:
            problems.append(f"--start: invalid time {start!r} (write 'YYYY-MM-DD HH:MM')")
    if problems:
        for p in problems:
            print(f"pantau: {p}", file=sys.stderr)
        return 2
    w = store.add(targets, duration, reason=reason, start=begin, now=now)
    print(f"window {w.id}: {', '.join(w.targets)} from {_when(w.start, s.timezone)} to "
          f"{_when(w.end, s.timezone)} ({format_duration(duration)}){f' — {reason}' if reason else ''}")
    return 0
