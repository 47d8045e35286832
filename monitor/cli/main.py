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
from ..logs import configure_logging, redact, register_secrets

if TYPE_CHECKING:  # the config model pulls in pydantic and aiohttp, which not every command needs
    from ..config.model import Config

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG = "monitor.yaml"

GUIDE = """pantau — off-router monitor for MikroTik networks (hosts, hotspot, PPPoE → WhatsApp/Telegram/webhooks)

Start here:
  pantau demo                      see it work: a simulated router, real notifications (no root, no router)
  pantau check -c monitor.yaml     validate your config; warnings say what would not work
  pantau run -c monitor.yaml       monitor and deliver until stopped

More: pantau --help, pantau COMMAND --help, README.md
"""

EXAMPLES = {
    "run": ["pantau run -c /etc/pantau/monitor.yaml", "pantau run -c monitor.yaml --log-level debug"],
    "check": ["pantau check -c monitor.yaml", "pantau check --strict -c monitor.yaml   # warnings fail (exit 1)"],
    "schema": ["pantau schema > monitor.schema.json"],
    "test-notify": ["pantau test-notify noc-telegram -c monitor.yaml",
                    "pantau test-notify wa --event hotspot.login --to 081234567890 -c monitor.yaml"],
    "outbox": ["pantau outbox -c /etc/pantau/monitor.yaml", "pantau outbox retry --notifier wa -c monitor.yaml"],
    "import-netwatch": ["pantau import-netwatch --router core -c monitor.yaml >> hosts.yaml"],
    "demo": ["pantau demo", "pantau demo --speed 2 | less"],
    "hash-password": ["pantau hash-password", "echo 'a-long-password' | pantau hash-password"],
    "report": ["pantau report -c monitor.yaml", "pantau report --since 30d --host olt-kampung -c monitor.yaml"],
    "maintenance": ["pantau maintenance add host:olt-kampung 2h --reason 'ganti OLT' -c monitor.yaml",
                    "pantau maintenance list -c monitor.yaml"],
    "audit": ["pantau audit -c monitor.yaml", "pantau audit --since 2h --json -c monitor.yaml"],
    "ctl": ["pantau ctl status -c monitor.yaml", "pantau ctl hotspot disable budi -y -c monitor.yaml",
            "pantau ctl isolir pelanggan-017 @core -c monitor.yaml"],
}


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

    configure_logging(level or config.settings.log.level, config.settings.log.format, cache=cache)
    register_secrets(secret_values(config))


def cmd_check(args: argparse.Namespace) -> int:
    from ..config.lint import lint_config
    from .checkload import load_for_check
    from .summary import summarize_config

    # a one-shot command whose objects (millions for 100,000 hosts) all live until it exits: the
    # cyclic collector would only rescan them (~0.4 s for 100k hosts, docs/performance.md)
    gc.disable()
    try:
        config, unset = load_for_check(args.config)
    except ConfigError as exc:
        print(f"pantau: invalid config {args.config}:", *exc.problems, sep="\n  ", file=sys.stderr)
        return EXIT_CONFIG
    print(summarize_config(config))
    warnings = unset + lint_config(config)
    for line in warnings:
        print(f"warning: {line}")
    if warnings:
        print(f"{len(warnings)} warning(s): the config loads, but the lines above will not work as you may expect")
    if warnings and args.strict:
        print(f"pantau: {len(warnings)} warning(s) and --strict: failing", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from ..config.schema import config_schema

    print(json.dumps(config_schema(), indent=2))
    return EXIT_OK


async def _run(config: Config, path: str) -> int:
    from ..engine import Engine
    from . import early_signals
    from .reload import reload_loop

    stop, reload_wanted = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_wanted.set)
    if early_signals.hup_pending():
        reload_wanted.set()
    engine = Engine(config)
    starting = asyncio.create_task(engine.start(), name="engine-start")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # SIGTERM/SIGINT during start-up: abandon it, close what it opened
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await engine.stop(grace=0.5)
        return EXIT_OK
    stopping.cancel()
    try:
        starting.result()
    except (ProbeError, ConfigError) as exc:
        print(redact(f"pantau: {exc}"), file=sys.stderr)
        await engine.stop(grace=0.5)
        return EXIT_CONFIG
    # Everything loaded at start-up lives as long as the process: keep it out of the collector's
    # full passes (measured at ~20 % of a 10,000-host sweep, docs/performance.md).
    gc.collect()
    gc.freeze()
    engine.supervisor.spawn("config-reload", lambda: reload_loop(engine, path, reload_wanted))
    try:
        await stop.wait()
    finally:
        await engine.stop()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from ..statedb import InstanceLock, StateLocked
    from . import early_signals

    config = _load(args.config)
    try:  # one `pantau run` per state file: the kernel drops the lock when the process ends
        lock = InstanceLock(config.settings.state.path).acquire()
    except (StateLocked, OSError) as exc:
        print(f"pantau: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        _setup_logs(config, args.log_level, cache=True)
        return asyncio.run(_run(config, args.config))
    finally:
        early_signals.install()  # the loop gave SIGTERM back to the default (kill): take it again
        lock.release()


def cmd_test_notify(args: argparse.Namespace) -> int:
    from .testnotify import test_notify

    config = _load(args.config)
    _setup_logs(config, args.log_level or "warning")
    return asyncio.run(test_notify(config, args.name, event_type=args.event, to=args.to))


def cmd_outbox(args: argparse.Namespace) -> int:
    from .outbox import outbox_command, state_path

    try:
        db = state_path(args.config)
    except ConfigError as exc:
        print(f"pantau: invalid config {args.config}:", *exc.problems, sep="\n  ", file=sys.stderr)
        return EXIT_CONFIG
    return outbox_command(db, args.action, notifier=args.notifier, limit=args.limit)


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
        print(redact(f"pantau: {exc}"), file=sys.stderr)
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
    p = argparse.ArgumentParser(prog="pantau", description="Off-router monitor for MikroTik networks.",
                                epilog="examples:\n  pantau demo\n  pantau check -c monitor.yaml\n"
                                       "  pantau run -c monitor.yaml",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"pantau {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    from ..events import EVENT_TYPES

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        """A subcommand whose --help ends with its examples."""
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
        return sub.add_parser(name, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kw)

    def with_config(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="config file (default: monitor.yaml)")
        return sp

    r = with_config(command("run", help="monitor hosts and routers, deliver notifications"))
    r.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    r.set_defaults(func=cmd_run)
    c = with_config(command("check", help="validate the config, print a summary and warnings"))
    c.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    c.set_defaults(func=cmd_check)
    command("schema", help="print the config's JSON Schema").set_defaults(func=cmd_schema)

    t = with_config(command("test-notify", help="send a sample message through a notifier"))
    t.add_argument("name", help="notifier name from the config")
    t.add_argument("--event", default="host.down", choices=EVENT_TYPES, metavar="TYPE",
                   help=f"sample event type (default host.down; one of {', '.join(EVENT_TYPES)})")
    t.add_argument("--to", metavar="NUMBER", help="send to this recipient instead of the notifier's `to:` "
                   "(the only way a test reaches `subscriber`)")
    t.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    t.set_defaults(func=cmd_test_notify)

    o = with_config(command("outbox", help="show pending and dead messages, or requeue the dead"))
    o.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    o.add_argument("--notifier", help="only this notifier")
    o.add_argument("--limit", type=int, default=50)
    o.set_defaults(func=cmd_outbox)

    rp = with_config(command("report", help="uptime per host and router from the history"))
    rp.add_argument("--since", default="7d", help="period up to now (default 7d)")
    rp.add_argument("--host", help="only this host")
    rp.add_argument("--router", help="only this router")
    rp.set_defaults(func=cmd_report)
    from .maintenance import add_parser as add_maintenance

    add_maintenance(sub, with_config)
    sub.choices["maintenance"].set_defaults(func=cmd_maintenance)

    n = with_config(command("import-netwatch", help="print hosts: YAML from a router's /tool/netwatch"))
    n.add_argument("--router", required=True, help="router name from the config")
    n.set_defaults(func=cmd_import_netwatch)

    a = with_config(command("audit", help="list the bot's audit trail (every command, who, result)"))
    a.add_argument("--since", help="a duration back from now (2h, 3d) or a date (2026-11-23)")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(func=cmd_audit)

    c = with_config(command("ctl", help="run a bot command from the shell, as admin (e.g. ctl hotspot budi)"))
    c.add_argument("words", nargs=argparse.REMAINDER, help="the command and its arguments")
    c.add_argument("-y", "--yes", action="store_true", help="confirm account changes without asking")
    c.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    c.set_defaults(func=cmd_ctl)

    command("hash-password", help="print a password hash for http.users (reads the password from "
                   "the terminal or stdin)").set_defaults(func=cmd_hash_password)

    from .subscriber import add_parser as add_subscriber

    add_subscriber(sub, with_config)

    d = command("demo", help="run a simulated router and show the notifications it causes")
    d.add_argument("-c", "--config", default=None, help="optional config whose notifiers also get the demo")
    d.add_argument("--speed", type=float, default=1.0, help="story speed factor (2 = twice as fast)")
    d.add_argument("--forever", action="store_true", help="repeat the story until interrupted")
    d.set_defaults(func=cmd_demo)
    for name, sp in sub.choices.items():  # subcommands registered by their own modules
        if not sp.epilog and name in EXAMPLES:
            sp.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
            sp.formatter_class = argparse.RawDescriptionHelpFormatter
    return p


def _tolerant_streams() -> None:
    """A terminal that cannot show ``—`` or ``✅`` (LANG=C on an old system, a latin-1 console) gets a
    ``?`` instead of a UnicodeEncodeError traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help/--version
        return int(exc.code or 0)
    if args.command is None:
        print(GUIDE, end="")
        return EXIT_OK
    try:
        result: Any = args.func(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # `pantau demo | head`: the reader left, which is not an error
        _silence_stdout()
        return EXIT_OK
    return int(result or 0)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
