"""The simulator's scripting API: what happens on the simulated router (users log in, links drop).

Mixed into ``RouterSimulator``; every method is synchronous and runs in the simulator's loop.
"""

from __future__ import annotations

import time

from .menus import Menu


def _bool(value: bool) -> str:
    return "true" if value else "false"


class SimulatorScripting:
    menus: dict[str, Menu]
    version: str

    def set_identity(self, name: str) -> None:
        menu = self.menus["/system/identity"]
        menu.set(next(iter(menu.items)), {"name": name})

    def add_hotspot_user(self, name: str, *, password: str = "", profile: str = "default",
                         comment: str | None = None, email: str | None = None) -> str:
        attrs = {"name": name, "password": password, "profile": profile, "disabled": "false"}
        if comment is not None:
            attrs["comment"] = comment
        if email is not None:
            attrs["email"] = email
        return self.menus["/ip/hotspot/user"].add(attrs)

    def add_ppp_secret(self, name: str, *, password: str = "", service: str = "pppoe",
                       profile: str = "default", comment: str | None = None) -> str:
        attrs = {"name": name, "password": password, "service": service, "profile": profile,
                 "disabled": "false"}
        if comment is not None:
            attrs["comment"] = comment
        return self.menus["/ppp/secret"].add(attrs)

    def hotspot_login(self, user: str, address: str, mac: str, *, server: str = "hotspot1",
                      login_by: str = "http-chap", uptime: float = 0.0, bytes_in: int = 0,
                      bytes_out: int = 0) -> str:
        """A hotspot user logs in; returns the new ``/ip/hotspot/active`` ``.id``."""
        return self.menus["/ip/hotspot/active"].add(
            {"server": server, "user": user, "domain": "", "address": address, "mac-address": mac,
             "login-by": login_by, "idle-time": "0s", "keepalive-timeout": "2m",
             "bytes-in": str(bytes_in), "bytes-out": str(bytes_out), "packets-in": "0",
             "packets-out": "0", "radius": "false"}, uptime=uptime)

    def hotspot_authenticate(self, user: str, password: str) -> bool:
        """What the hotspot's login page decides: a known, enabled user with this password."""
        menu = self.menus["/ip/hotspot/user"]
        item_id = menu.find(name=user)
        if item_id is None:
            return False
        row = menu.items[item_id]
        return row.get("password", "") == password and row.get("disabled", "false") != "true"

    def hotspot_traffic(self, user: str, *, bytes_in: int, bytes_out: int) -> None:
        menu = self.menus["/ip/hotspot/active"]
        item_id = menu.find(user=user)
        if item_id is None:
            raise KeyError(user)
        menu.set(item_id, {"bytes-in": str(bytes_in), "bytes-out": str(bytes_out)})

    def hotspot_logout(self, user: str) -> bool:
        """The user's (first) hotspot session ends. False when no such session."""
        return self._remove("/ip/hotspot/active", user=user)

    def ppp_connect(self, name: str, *, caller_id: str, address: str, service: str = "pppoe",
                    uptime: float = 0.0) -> str:
        """A PPP client connects; returns the new ``/ppp/active`` ``.id``."""
        return self.menus["/ppp/active"].add(
            {"name": name, "service": service, "caller-id": caller_id, "address": address,
             "encoding": "", "session-id": "0x81000001", "limit-bytes-in": "0",
             "limit-bytes-out": "0", "radius": "false"}, uptime=uptime)

    def ppp_disconnect(self, name: str) -> bool:
        return self._remove("/ppp/active", name=name)

    def add_netwatch(self, host: str, *, comment: str | None = None, interval: str = "1m",
                     timeout: str = "1s", disabled: bool = False) -> str:
        attrs = {"host": host, "type": "simple", "interval": interval, "timeout": timeout,
                 "status": "up", "disabled": "true" if disabled else "false"}
        if comment is not None:
            attrs["comment"] = comment
        return self.menus["/tool/netwatch"].add(attrs)

    def add_interface(self, name: str, *, type: str = "ether", running: bool = True) -> str:
        return self.menus["/interface"].add({"name": name, "type": type, "running": _bool(running),
                                             "disabled": "false", "rx-byte": "0", "tx-byte": "0",
                                             "link-downs": "0"})

    def set_link(self, name: str, running: bool) -> None:
        """An interface's link goes down/up (``running``; listeners get the row)."""
        menu = self.menus["/interface"]
        item_id = menu.find(name=name)
        if item_id is None:
            raise KeyError(name)
        changes = {"running": _bool(running)}
        if not running:
            changes["link-downs"] = str(int(menu.items[item_id].get("link-downs", "0")) + 1)
        menu.set(item_id, changes)

    def set_netwatch_status(self, host: str, status: str) -> None:
        """Netwatch on the router sees ``host`` go ``up``/``down`` (``since`` is set like RouterOS)."""
        menu = self.menus["/tool/netwatch"]
        item_id = menu.find(host=host)
        if item_id is None:
            raise KeyError(host)
        since = time.strftime("%b/%d/%Y %H:%M:%S").lower() if self.version.startswith("6") \
            else time.strftime("%Y-%m-%d %H:%M:%S")
        menu.set(item_id, {"status": status, "since": since})

    def active(self, menu: str = "/ip/hotspot/active") -> list[dict[str, str]]:
        return self.menus[menu].rows()

    def listeners(self, menu: str = "/ip/hotspot/active") -> int:
        """How many open connections have a ``listen`` running on ``menu`` (is a client in listen mode?)."""
        return sum(1 for conn in self._conns if not conn.writer.is_closing()  # type: ignore[attr-defined]
                   for path, _ in conn.listens.values() if path == menu)

    def _remove(self, path: str, **match: str) -> bool:
        menu = self.menus[path]
        item_id = menu.find(**match)
        if item_id is None:
            return False
        menu.remove(item_id)
        return True
