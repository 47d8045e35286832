"""The ``pantau`` command.

Exit codes: 0 success / clean stop; 1 a runtime failure (e.g. test-notify's provider refused);
2 bad usage, invalid config or a start-up failure such as missing ICMP permission.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import ConfigError, PantauError, ProbeError

if TYPE_CHECKING:  # the config model pulls in pydantic and aiohttp: `pantau --version` must not wait
    from ..config.model import Config

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG = "monitor.yaml"


def _load(path: str) -> Config:
    from ..config.model import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"pantau: invalid config {path}:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _setup_logs(config: Config, level: str | None = None, *, cache: bool = False) -> None:
    from ..engine import secret_values
    from ..logs import configure_logging, register_secrets

    configure_logging(level or config.settings.log.level, config.settings.log.format, cache=cache)
    register_secrets(secret_values(config))


def cmd_check(args: argparse.Namespace) -> int:
    from .summary import summarize_config

    config = _load(args.config)
    print(summarize_config(config))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from ..config.schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return EXIT_OK


async def _run(config: Config) -> int:
    from ..engine import Engine

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = Engine(config)
    try:
        await engine.start()
    except (ProbeError, ConfigError) as exc:
        print(f"pantau: {exc}", file=sys.stderr)
        await engine.stop(grace=0.5)
        return EXIT_CONFIG
    # Everything loaded at start-up lives as long as the process: keep it out of the collector's
    # full passes (measured at ~20 % of a 10,000-host sweep, docs/performance.md).
    gc.collect()
    gc.freeze()
    try:
        await stop.wait()
    finally:
        await engine.stop()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    _setup_logs(config, args.log_level, cache=True)
    return asyncio.run(_run(config))


def cmd_test_notify(args: argparse.Namespace) -> int:
    from .testnotify import test_notify

    config = _load(args.config)
    _setup_logs(config, args.log_level or "warning")
    return asyncio.run(test_notify(config, args.name, event_type=args.event))


def cmd_outbox(args: argparse.Namespace) -> int:
    from .outbox import outbox_command

    config = _load(args.config)
    return outbox_command(config, args.action, notifier=args.notifier, limit=args.limit)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import report_command

    return report_command(_load(args.config), since=args.since, host=args.host, router=args.router)


def cmd_maintenance(args: argparse.Namespace) -> int:
    from .maintenance import maintenance_command

    return maintenance_command(_load(args.config), args.action, args.args, reason=args.reason,
                               start=args.start, show_all=args.all)


def cmd_import_netwatch(args: argparse.Namespace) -> int:
    from ..routeros.netwatch import import_netwatch

    config = _load(args.config)
    router = next((r for r in config.settings.routers if r.name == args.router), None)
    if router is None:
        names = ", ".join(r.name for r in config.settings.routers) or "none configured"
        print(f"pantau: no router named {args.router!r} (routers: {names})", file=sys.stderr)
        return EXIT_CONFIG
    _setup_logs(config, "warning")
    try:
        print(asyncio.run(import_netwatch(router)), end="")
    except PantauError as exc:
        print(f"pantau: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from .bot import audit_command

    return audit_command(_load(args.config), args.since, args.json)


def cmd_ctl(args: argparse.Namespace) -> int:
    from .bot import ctl_command

    config = _load(args.config)
    _setup_logs(config, args.log_level or "warning")
    return ctl_command(config, args.words, args.yes)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return asyncio.run(run_demo(speed=args.speed, config_path=args.config, loop_forever=args.forever))


def cmd_hash_password(args: argparse.Namespace) -> int:
    from .hashpw import hash_password_command

    return hash_password_command()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pantau", description="Off-router monitor for MikroTik networks.")
    p.add_argument("--version", action="version", version=f"pantau {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="config file (default: monitor.yaml)")
        return sp

    r = with_config(sub.add_parser("run", help="monitor hosts and routers, deliver notifications"))
    r.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    r.set_defaults(func=cmd_run)
    with_config(sub.add_parser("check", help="validate the config and print a summary")).set_defaults(func=cmd_check)
    sub.add_parser("schema", help="print the config's JSON Schema").set_defaults(func=cmd_schema)

    t = with_config(sub.add_parser("test-notify", help="send a sample message through a notifier"))
    t.add_argument("name", help="notifier name from the config")
    t.add_argument("--event", default="host.down", help="sample event type (default host.down)")
    t.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    t.set_defaults(func=cmd_test_notify)

    o = with_config(sub.add_parser("outbox", help="show pending and dead messages, or requeue the dead"))
    o.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    o.add_argument("--notifier", help="only this notifier")
    o.add_argument("--limit", type=int, default=50)
    o.set_defaults(func=cmd_outbox)

    rp = with_config(sub.add_parser("report", help="uptime per host and router from the history"))
    rp.add_argument("--since", default="7d", help="period up to now (default 7d)")
    rp.add_argument("--host", help="only this host")
    rp.add_argument("--router", help="only this router")
    rp.set_defaults(func=cmd_report)
    from .maintenance import add_parser as add_maintenance

    add_maintenance(sub, with_config)
    sub.choices["maintenance"].set_defaults(func=cmd_maintenance)

    n = with_config(sub.add_parser("import-netwatch", help="print hosts: YAML from a router's /tool/netwatch"))
    n.add_argument("--router", required=True, help="router name from the config")
    n.set_defaults(func=cmd_import_netwatch)

    a = with_config(sub.add_parser("audit", help="list the bot's audit trail (every command, who, result)"))
    a.add_argument("--since", help="a duration back from now (2h, 3d) or a date (2026-11-23)")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(func=cmd_audit)

    c = with_config(sub.add_parser("ctl", help="run a bot command from the shell, as admin (e.g. ctl hotspot budi)"))
    c.add_argument("words", nargs=argparse.REMAINDER, help="the command and its arguments")
    c.add_argument("-y", "--yes", action="store_true", help="confirm account changes without asking")
    c.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    c.set_defaults(func=cmd_ctl)
    sub.add_parser("hash-password", help="print a password hash for http.users (reads the password from "
                   "the terminal or stdin)").set_defaults(func=cmd_hash_password)

    from .subscriber import add_parser as add_subscriber

    add_subscriber(sub, with_config)

    d = sub.add_parser("demo", help="run a simulated router and show the notifications it causes")
    d.add_argument("-c", "--config", default=None, help="optional config whose notifiers also get the demo")
    d.add_argument("--speed", type=float, default=1.0, help="story speed factor (2 = twice as fast)")
    d.add_argument("--forever", action="store_true", help="repeat the story until interrupted")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help/--version
        return int(exc.code or 0)
    try:
        result: Any = args.func(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return EXIT_OK
    return int(result or 0)
