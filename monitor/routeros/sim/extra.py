"""The simulator's operator menus (what the bot reads and writes) and their few special rules.

Kept apart from simulator.py so the protocol core stays small: the menu list, the singleton
``/ip/dns``, RouterOS's ``yes``/``no`` booleans stored as ``true``/``false``, the duplicate-name
trap of ``add``, and ``/interface/monitor-traffic =once=``.
"""

from __future__ import annotations

from typing import Any

EXTRA_MENUS = ("/ip/dhcp-server/lease", "/ip/pool", "/ip/pool/used", "/ip/neighbor", "/ip/dns", "/log",
               "/interface", "/ip/address", "/ip/hotspot/user/profile", "/ppp/profile",
               "/ip/firewall/address-list")
SINGLETONS = frozenset({"/ip/dns"})
SPECIAL_COMMANDS = frozenset({"/interface/monitor-traffic"})
#: Menus whose ``name`` is unique: RouterOS traps an ``add`` of an existing name.
UNIQUE_NAMES = {"/ip/hotspot/user": "user", "/ppp/secret": "secret", "/ip/pool": "pool",
                "/ip/hotspot/user/profile": "profile", "/ppp/profile": "profile"}
BOOLEAN_FIELDS = ("disabled", "running", "dynamic", "allow-remote-requests")
#: The writable properties of the PPP menus (help.mikrotik.com "PPP AAA"; v6 and v7 alike, v7's
#: secrets add ``ipv6-routes``): anything else traps "unknown parameter" as on a router, so a
#: hotspot-only setting (``shared-users``) written to a PPP profile fails here as it would there.
_PPP_PROFILE = frozenset(
    "name comment address-list bridge bridge-horizon bridge-learning bridge-path-cost bridge-port-priority "
    "change-tcp-mss dhcpv6-pd-pool dns-server idle-timeout incoming-filter insert-queue-before interface-list "
    "local-address on-down on-up only-one outgoing-filter parent-queue queue-type rate-limit remote-address "
    "remote-ipv6-prefix-pool session-timeout use-compression use-encryption use-ipv6 use-mpls use-upnp "
    "wins-server".split())
_PPP_SECRET = frozenset("name comment disabled caller-id limit-bytes-in limit-bytes-out local-address password "
                        "profile remote-address remote-ipv6-prefix routes service".split())
_CHOICES = {("/ppp/profile", "only-one"): ("yes", "no", "default"),
            ("/ppp/secret", "service"): ("any", "async", "isdn", "l2tp", "ovpn", "pppoe", "pptp", "sstp")}
_BOOL = {"yes": "true", "no": "false", "true": "true", "false": "false"}


def normalize_booleans(attrs: dict[str, str]) -> None:
    """RouterOS accepts ``yes``/``no`` on write and prints ``true``/``false``."""
    for key in BOOLEAN_FIELDS:
        if key in attrs and attrs[key].lower() in _BOOL:
            attrs[key] = _BOOL[attrs[key].lower()]


def add_refused(menu: Any, attrs: dict[str, str]) -> str | None:
    """The trap message RouterOS gives for this ``add``, or None when it is accepted."""
    kind = UNIQUE_NAMES.get(menu.path)
    if kind is None:
        return None
    name = attrs.get("name")
    if not name:
        return "failure: name must be specified"
    if menu.find(name=name) is not None:
        return f"failure: already have {kind} with this name"
    return None


def bad_parameter(path: str, attrs: dict[str, str], version: str) -> str | None:
    """The trap RouterOS gives for writing ``attrs`` to the PPP menus, or None when they are accepted."""
    v7 = version.startswith("7")
    known = {"/ppp/profile": _PPP_PROFILE, "/ppp/secret": _PPP_SECRET | ({"ipv6-routes"} if v7 else set())}.get(path)
    if known is None:
        return None
    for key, value in attrs.items():
        if key in (".id", "numbers"):
            continue
        if key not in known:
            return "unknown parameter"
        choices = _CHOICES.get((path, key))
        if choices is not None and (value not in choices or (v7 and value == "isdn")):  # v7 has no isdn
            return f"input does not match any value of {key}"
    return None


def monitor_traffic(sim: Any, attrs: dict[str, str], t: list[str]) -> list[list[str]]:
    """The sentences answering ``/interface/monitor-traffic =interface=X =once=`` (only ``once``)."""
    name = attrs.get("interface", "")
    if sim.menus["/interface"].find(name=name) is None:
        return [["!trap", f"=message=no such item (interface {name!r})", *t], ["!done", *t]]
    if "once" not in attrs:
        return [["!trap", "=message=only =once= is simulated", *t], ["!done", *t]]
    rx, tx = sim.traffic.get(name, (0, 0))
    row = {"name": name, "rx-packets-per-second": str(rx // 8000), "rx-bits-per-second": str(rx),
           "tx-packets-per-second": str(tx // 8000), "tx-bits-per-second": str(tx)}
    return [["!re", *(f"={k}={v}" for k, v in row.items()), *t], ["!done", *t]]


def special_command(sim: Any, conn: Any, cmd: str, attrs: dict[str, str], tag: str | None, t: list[str],
                    trap: Any) -> None:
    """``/interface/monitor-traffic`` (one sample); ``/ping`` is the simulator's own (sim/ping.py)."""
    if cmd == "/interface/monitor-traffic":
        conn.send(*monitor_traffic(sim, attrs, t))


class ScriptingExtras:
    """Scripting helpers of the simulator for the bot's menus (mixed into RouterSimulator)."""

    menus: dict[str, Any]
    users: dict[str, tuple[str, bool]]

    def add_user(self, name: str, password: str, *, write: bool) -> None:
        """Another API user; ``write=False`` is a read-only group (writes trap "not enough permissions")."""
        self.users[name] = (password, write)

    def add_row(self, path: str, **attrs: str) -> str:
        """Add an item to any menu (``mac_address=`` → ``mac-address``); returns its ``.id``."""
        return self.menus[path].add({k.replace("_", "-"): str(v) for k, v in attrs.items()})
