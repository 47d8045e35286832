"""``pantau subscriber forget NAME``: delete what pantau keeps about a subscriber."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any, with_config: Any) -> None:
    s = with_config(sub.add_parser(
        "subscriber", help="manage what pantau keeps about a subscriber",
        description="Delete a subscriber's expiry/quota records (period, counters, warnings sent, "
                    "the validity pantau gave) of the hotspot user and the PPP secret of that name, "
                    "registration requests (by the user they became, or by phone number) and relayed "
                    "messages and page chats of that number from the state DB.",
        epilog="example: pantau subscriber forget budi -c monitor.yaml"))
    s.add_argument("action", choices=["forget"])
    s.add_argument("name", help="the hotspot user or PPP secret name (or a phone number: its registration requests)")
    s.add_argument("--router", help="only on this router (default: every router)")
    s.set_defaults(func=cmd_subscriber)


def cmd_subscriber(args: argparse.Namespace) -> int:
    from ..delivery.phone import normalize_msisdn
    from ..registration.signup_store import SignupStore
    from ..registration.store import RegistrationStore
    from ..registration.threads import RelayStore
    from ..subscriptions.store import SubscriptionStore
    from .main import _load

    config = _load(args.config)
    path = config.settings.state.path  # as `pantau run` opens it
    if not Path(path).exists():
        print(f"nothing kept: no state DB at {path}")
        return 0
    store = SubscriptionStore(path)
    try:
        removed = store.forget(args.name, args.router)
    finally:
        store.close()
    requests = RegistrationStore(path)
    phone = normalize_msisdn(args.name)
    try:
        phones = {p for p in (phone, *requests.phones_of(args.name)) if p}
        dropped = requests.forget(args.name, phone)
    finally:
        requests.close()
    origins = SignupStore(path)  # a /daftar request's Telegram chat and code go with the request
    try:
        origins.prune_orphans()
    finally:
        origins.close()
    threads = RelayStore(path)  # relayed messages and page chats of those numbers
    try:
        chats = sum(threads.forget(p) for p in phones)
    finally:
        threads.close()
    where = f" on router {args.router}" if args.router else ""
    print(f"forgot {args.name}{where}: {removed} record(s) deleted, {dropped} registration request(s) deleted, "
          f"{chats} relay/chat row(s) deleted")
    return 0
