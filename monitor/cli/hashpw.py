"""``pantau hash-password``: turn a password into the hash ``http.users`` holds.

Asks twice on a terminal (nothing echoed); reads one line from stdin otherwise, so scripts can
pipe it in. Prints only the hash.
"""

from __future__ import annotations

import getpass
import sys

from ..web.passwords import hash_password


def hash_password_command() -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("pantau: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("pantau: use at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0
